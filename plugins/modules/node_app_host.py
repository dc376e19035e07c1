#!/usr/bin/python
# Copyright: proxylab.webstack maintainers
# MIT License (see galaxy.yml), or at your choice GNU General Public License v3.0+ (see
# https://www.gnu.org/licenses/gpl-3.0.txt), the license of the ansible-core module API this uses
# SPDX-License-Identifier: MIT OR GPL-3.0-or-later
"""Module: what the node_app role's checks read on a host, in one round trip."""

from __future__ import annotations

DOCUMENTATION = r"""
module: node_app_host
author: proxylab.webstack maintainers (@proxylab)
version_added: "0.2.0"
short_description: Read what the node_app role checks on a host before it changes anything
description:
  - Reads, in one step and without changing anything, what the checks of the C(proxylab.webstack.node_app)
    role need; the role's tasks decide with it.
  - The app's directory and every directory above it; the app's user (its account, groups, what sudo
    allows it, whether node_app created it); the bookkeeping of the releases and the release
    directories on disk.
  - What decides whether the live app would change (the ecosystem file in the user's home, the
    state of the PM2 unit, the app's processes under it), the distribution, and, when asked, the
    facts that a proxy's play reads of an app server, in the same step.
  - Each part is read only when its options are given.
options:
  paths:
    description:
      - The directories above the app's directory, outermost first, then the app's directory. The
        directories above are looked at through links; the app's directory itself is not.
    type: list
    elements: path
    default: []
  user:
    description: The app's user.
    type: str
    required: true
  user_marker:
    description: The record node_app leaves when it created the user.
    type: path
  old_facts:
    description: The local facts of an earlier version of node_app, which name the user it created.
    type: path
  state_file:
    description: The bookkeeping of the releases.
    type: path
  releases_dir:
    description: The directory holding one directory per release.
    type: path
  ecosystem:
    description:
      - The app's PM2 ecosystem file, relative to the user's home (an absolute path is taken as it
        is). It is read without following a link and only when it is a regular file (the home
        belongs to the user).
    type: str
  pm2_unit:
    description:
      - The systemd unit that runs the user's PM2 daemon. Its state is read, and when it runs, the
        processes of O(app) among the daemon's children are counted.
    type: str
  app:
    description: The app's name under PM2; required with O(pm2_unit).
    type: str
  gather_facts:
    description:
      - Also return, as facts, what the proxy's play reads of an app server, gathered as
        M(ansible.builtin.setup) gathers it but without loading its collectors, which cost more than
        everything else here together.
      - C(ansible_local), the local facts in O(fact_path) (executable ones are run; JSON, else INI).
      - C(ansible_default_ipv4), with C(address), C(interface) and C(gateway) of the route to the
        outside (C(ip -4 route get 8.8.8.8), as setup asks).
    type: bool
    default: false
  fact_path:
    description: Where the local facts are read from, as for M(ansible.builtin.setup).
    type: path
    default: /etc/ansible/facts.d
  converged:
    description:
      - When given, also checks, as M(proxylab.webstack.converged) with O(proxylab.webstack.converged#module:state=check)
        does, whether the host is as the recorded set-up left it. A leading C(~) in O(converged.watch)
        and O(converged.exclude) stands for the user's home; without the user, the host is not current.
    type: dict
    suboptions:
      path:
        description: The record.
        type: path
        required: true
      digest:
        description: The digest of this run's inputs.
        type: str
        required: true
      watch:
        description: The watched paths.
        type: list
        elements: str
        default: []
      exclude:
        description: Patterns of paths below the watched ones to leave out.
        type: list
        elements: str
        default: []
      packages:
        description: The watched packages.
        type: list
        elements: str
        default: []
      services:
        description: Units that must be active and enabled.
        type: list
        elements: str
        default: []
notes:
  - >-
    Counting the app's processes reads C(/proc), which costs a fraction of what starting C(pm2 jlist)
    costs (a Node.js process). A process counts when its parent is the daemon the unit runs (its
    C(MainPID)), it runs as O(user), and PM2 gave it its name and a process id (C(name=), C(pm_id=) in
    its environment, or in C(pm2_env=) in cluster mode): these are the processes PM2 lists as online.
"""

EXAMPLES = r"""
- name: Read what the checks need
  proxylab.webstack.node_app_host:
    paths: [/, /opt, /opt/app]
    user: app
    user_marker: /var/lib/node_app/users/app
    old_facts: /etc/ansible/facts.d/node_app.fact
    state_file: /var/lib/node_app/app/state.json
    releases_dir: /opt/app/releases
    ecosystem: app.ecosystem.config.js
    pm2_unit: pm2-app.service
    app: app
    gather_facts: true
  register: host
"""

RETURN = r"""
paths:
  description:
    - One entry per path of O(paths), in order, with C(path) and C(exists), and for an existing one
      C(isdir), C(islnk), C(uid), C(gid), C(pw_name), C(dev), C(mode) (octal, as a string), C(wgrp), C(woth).
  type: list
  elements: dict
  returned: always
user:
  description:
    - The user's account as C(ansible.builtin.getent) gives it (password, uid, gid, comment, home,
      shell), or null when there is no such user.
  type: list
  elements: str
  returned: always
groups:
  description: The names of the user's groups, separated by spaces (empty without the user).
  type: str
  returned: always
sudo:
  description: Exit status and output of C(sudo -n -l -U <user>) (without the user, C(rc) 1; without sudo, 127).
  type: dict
  returned: always
user_marker:
  description: Whether O(user_marker) exists.
  type: bool
  returned: always
old_facts:
  description: The content of O(old_facts), or null.
  type: str
  returned: always
state:
  description: The content of O(state_file), or null.
  type: str
  returned: always
releases_dir:
  description: O(releases_dir) itself, not through a link, described as each entry of RV(paths).
  type: dict
  returned: always
releases:
  description: The names of the directories in O(releases_dir) (not links, not hidden), sorted.
  type: list
  elements: str
  returned: always
ecosystem:
  description:
    - With O(ecosystem), for the file in the user's home, C(exists), C(regular) (a regular file, not
      a link), and for a regular file C(sha1) of its content and C(mode) (octal, as a string); null
      without the user.
  type: dict
  returned: when O(ecosystem) is given
pm2:
  description:
    - With O(pm2_unit), C(active_state) of the unit (as systemctl shows it), C(main_pid), and C(online),
      the number of the app's processes under the daemon (0 when the unit does not run).
  type: dict
  returned: when O(pm2_unit) is given
converged:
  description:
    - With O(converged), C(current), C(reasons) (what differs) and C(data) (the recorded data), as
      M(proxylab.webstack.converged) returns them.
  type: dict
  returned: when O(converged) is given
distribution:
  description: The distribution's name, as the C(ansible_distribution) fact gives it (C(Debian)).
  type: str
  returned: always
os_family:
  description: C(Debian) for a distribution of the Debian family (its own id or C(ID_LIKE)), else RV(distribution).
  type: str
  returned: always
ansible_facts:
  description: With O(gather_facts), C(ansible_local) and C(ansible_default_ipv4), as described there.
  type: dict
  returned: when O(gather_facts) is true
"""

import configparser
import glob
import hashlib
import json
import os
import pwd
import stat

from ansible.module_utils import distro
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.sys_info import get_distribution
from ansible_collections.proxylab.webstack.plugins.module_utils.converged import check as converged_check


def describe(path, follow):
    try:
        info = os.stat(path) if follow else os.lstat(path)
    except OSError:
        return {"path": path, "exists": False}
    try:
        owner = pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        owner = str(info.st_uid)
    return {
        "path": path,
        "exists": True,
        "isdir": stat.S_ISDIR(info.st_mode),
        "islnk": stat.S_ISLNK(info.st_mode),
        "uid": info.st_uid,
        "gid": info.st_gid,
        "pw_name": owner,
        "dev": info.st_dev,
        "mode": f"{stat.S_IMODE(info.st_mode):04o}",
        "wgrp": bool(info.st_mode & stat.S_IWGRP),
        "woth": bool(info.st_mode & stat.S_IWOTH),
    }


def read_text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def read_regular(path):
    """Describe a file without following a link or blocking on a FIFO: exists, regular, sha1, mode."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return {"exists": os.path.lexists(path), "regular": False}
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            return {"exists": True, "regular": False}
        digest = hashlib.sha1()
        for block in iter(lambda: handle.read(65536), b""):
            digest.update(block)
    return {"exists": True, "regular": True, "sha1": digest.hexdigest(), "mode": f"{stat.S_IMODE(info.st_mode):04o}"}


def unit_state(module, unit):
    """ActiveState and MainPID of a systemd unit."""
    _rc, out, _err = module.run_command(["systemctl", "show", "--property=ActiveState,MainPID", unit],
                                        environ_update={"LC_ALL": "C"})
    shown = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    try:
        main_pid = int(shown.get("MainPID", "0"))
    except ValueError:
        main_pid = 0
    return shown.get("ActiveState", "unknown"), main_pid


def started_by_pm2_as(environ, app):
    """Whether PM2 started the process with this environment for the app: in fork mode its
    environment holds name= and pm_id=; in cluster mode PM2 hands them over in pm2_env= (JSON)."""
    variables = dict(item.split(b"=", 1) for item in environ if b"=" in item)
    if b"pm2_env" in variables:
        try:
            pm2_env = json.loads(variables[b"pm2_env"])
        except ValueError:
            return False
        return isinstance(pm2_env, dict) and pm2_env.get("name") == app and "pm_id" in pm2_env
    return variables.get(b"name") == app.encode() and b"pm_id" in variables


def pm2_online(daemon, uid, app):
    """How many processes of the app PM2's daemon runs: its children, of the user, started for the app."""
    count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                # The command name in parentheses may hold spaces: the parent's pid follows the last ")".
                ppid = int(handle.read().rsplit(b")", 1)[1].split()[1])
            if ppid != daemon or os.stat(f"/proc/{entry.name}").st_uid != uid:
                continue
            with open(f"/proc/{entry.name}/environ", "rb") as handle:
                environ = handle.read().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        if started_by_pm2_as(environ, app):
            count += 1
    return count


def local_facts(module, fact_path):
    """The local facts, read as setup's local collector reads them."""
    facts = {}
    for path in sorted(glob.glob(os.path.join(fact_path, "*.fact"))):
        name = os.path.basename(path)[:-len(".fact")]
        try:
            if os.stat(path).st_mode & stat.S_IXUSR:
                rc, out, err = module.run_command(path)
                if rc != 0:
                    facts[name] = f"Failure executing fact script ({path}), rc: {rc}, err: {err}"
                    continue
            else:
                with open(path, encoding="utf-8") as handle:
                    out = handle.read()
        except (OSError, UnicodeError) as error:
            facts[name] = f"Could not read fact ({path}): {error}"
            continue
        try:
            facts[name] = json.loads(out)
        except ValueError:
            parser = configparser.ConfigParser()
            try:
                parser.read_string(out)
            except configparser.Error:
                facts[name] = f"error loading facts as JSON or ini - please check content: {path}"
                continue
            facts[name] = {section: dict(parser.items(section, raw=True)) for section in parser.sections()}
    return facts


def default_ipv4(module):
    """Interface, source address and gateway of the route to the outside, as setup asks for them."""
    found = {}
    ip = module.get_bin_path("ip")
    if ip is None:
        return found
    _rc, out, _err = module.run_command([ip, "-4", "route", "get", "8.8.8.8"], errors="surrogate_then_replace")
    words = out.splitlines()[0].split() if out else []
    if words and words[0] == "8.8.8.8":
        for key, value in zip(words, words[1:]):
            if key == "dev":
                found["interface"] = value
            elif key == "src":
                found["address"] = value
            elif key == "via" and value != "8.8.8.8":
                found["gateway"] = value
    return found


def platform_names():
    """The distribution as the ansible_distribution fact names it, and its family (Debian or not)."""
    distribution = get_distribution()
    family = "Debian" if "debian" in [distro.id(), *distro.like().split()] else distribution
    return distribution, family


def under_home(paths, home):
    return [home + path[1:] if path == "~" or path.startswith("~/") else path for path in paths]


def main():
    module = AnsibleModule(
        argument_spec={
            "paths": {"type": "list", "elements": "path", "default": []},
            "user": {"type": "str", "required": True},
            "user_marker": {"type": "path"},
            "old_facts": {"type": "path"},
            "state_file": {"type": "path"},
            "releases_dir": {"type": "path"},
            "ecosystem": {"type": "str"},
            "pm2_unit": {"type": "str"},
            "app": {"type": "str"},
            "gather_facts": {"type": "bool", "default": False},
            "fact_path": {"type": "path", "default": "/etc/ansible/facts.d"},
            "converged": {
                "type": "dict",
                "options": {
                    "path": {"type": "path", "required": True},
                    "digest": {"type": "str", "required": True, "no_log": False},
                    "watch": {"type": "list", "elements": "str", "default": []},
                    "exclude": {"type": "list", "elements": "str", "default": []},
                    "packages": {"type": "list", "elements": "str", "default": []},
                    "services": {"type": "list", "elements": "str", "default": []},
                },
            },
        },
        required_by={"pm2_unit": "app"},
        supports_check_mode=True,
    )
    params = module.params
    paths = params["paths"]
    described = [describe(path, follow=True) for path in paths[:-1]] + [describe(path, follow=False) for path in paths[-1:]]

    name = params["user"]
    try:
        account = pwd.getpwnam(name)
    except KeyError:
        account = None
    user, groups, sudo = None, "", {"rc": 1, "stdout": ""}
    if account is not None:
        user = ["x", str(account.pw_uid), str(account.pw_gid), account.pw_gecos, account.pw_dir, account.pw_shell]
        _rc, out, _err = module.run_command(["id", "-nG", name], check_rc=True)
        groups = out.strip()
        sudo_bin = module.get_bin_path("sudo")
        if sudo_bin:
            rc, out, _err = module.run_command([sudo_bin, "-n", "-l", "-U", name], environ_update={"LC_ALL": "C"})
            sudo = {"rc": rc, "stdout": out}
        else:
            sudo = {"rc": 127, "stdout": ""}

    distribution, os_family = platform_names()
    result = {"changed": False, "paths": described, "user": user, "groups": groups, "sudo": sudo,
              "distribution": distribution, "os_family": os_family}
    if params["user_marker"] is not None:
        result["user_marker"] = os.path.exists(params["user_marker"])
    if params["old_facts"] is not None:
        result["old_facts"] = read_text(params["old_facts"])
    if params["state_file"] is not None:
        result["state"] = read_text(params["state_file"])
    if params["releases_dir"] is not None:
        try:
            result["releases"] = sorted(entry.name for entry in os.scandir(params["releases_dir"])
                                        if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."))
        except OSError:
            result["releases"] = []
        result["releases_dir"] = describe(params["releases_dir"], follow=False)
    if params["ecosystem"] is not None:
        result["ecosystem"] = (read_regular(os.path.join(account.pw_dir, params["ecosystem"]))
                               if account is not None else None)
    if params["pm2_unit"] is not None:
        active_state, main_pid = unit_state(module, params["pm2_unit"])
        online = (pm2_online(main_pid, account.pw_uid, params["app"])
                  if account is not None and active_state == "active" and main_pid > 0 else 0)
        result["pm2"] = {"active_state": active_state, "main_pid": main_pid, "online": online}
    wanted = params["converged"]
    if wanted is not None:
        result["converged"] = (
            converged_check(module, wanted["path"], wanted["digest"], under_home(wanted["watch"], account.pw_dir),
                            under_home(wanted["exclude"], account.pw_dir), wanted["packages"], wanted["services"])
            if account is not None else {"current": False, "reasons": [f"there is no user {name}"], "data": {}})
    if params["gather_facts"]:
        result["ansible_facts"] = {"ansible_local": local_facts(module, params["fact_path"]),
                                   "ansible_default_ipv4": default_ipv4(module)}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
