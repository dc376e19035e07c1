# Copyright: proxylab.webstack maintainers
# MIT License (see galaxy.yml), or at your choice GNU General Public License v3.0+ (see
# https://www.gnu.org/licenses/gpl-3.0.txt), the license of the ansible-core module API this uses
# SPDX-License-Identifier: MIT OR GPL-3.0-or-later
"""What the node_app role's checks read on a host, in one step: the code behind node_app_host.

Standard library only, and nothing but converged.py of this collection: the action plugin
node_app_host sends this code to the host's Python as it is (`python3 -I -S -`), without Ansible's
module wrapper, whose start-up alone costs more than every read below; the module
node_app_host runs the same code when the host's Python is not known yet."""

from __future__ import annotations

import configparser
import glob
import hashlib
import json
import os
import pwd
import shutil
import stat

from ansible_collections.proxylab.webstack.plugins.module_utils.converged import check as converged_check
from ansible_collections.proxylab.webstack.plugins.module_utils.converged import run

# The options, as AnsibleModule and ActionBase.validate_argument_spec read them.
ARGUMENT_SPEC = {
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
}
REQUIRED_BY = {"pm2_unit": "app"}
# Where commands are looked for beyond PATH, as AnsibleModule.get_bin_path looks.
SBIN = ["/sbin", "/usr/sbin", "/usr/local/sbin"]


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


def find_command(name):
    return shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", os.defpath), *SBIN]))


def unit_state(unit):
    """ActiveState and MainPID of a systemd unit."""
    _rc, out, _err = run(["systemctl", "show", "--property=ActiveState,MainPID", unit])
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


def local_facts(fact_path):
    """The local facts, read as setup's local collector reads them."""
    facts = {}
    for path in sorted(glob.glob(os.path.join(fact_path, "*.fact"))):
        name = os.path.basename(path)[:-len(".fact")]
        try:
            if os.stat(path).st_mode & stat.S_IXUSR:
                rc, out, err = run([path])
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


def default_ipv4():
    """Interface, source address and gateway of the route to the outside, as setup asks for them."""
    found = {}
    ip = find_command("ip")
    if ip is None:
        return found
    _rc, out, _err = run([ip, "-4", "route", "get", "8.8.8.8"])
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


def os_release():
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        text = read_text(path)
        if text is not None:
            break
    else:
        return {}
    fields = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() and not name.startswith("#"):
            fields[name.strip()] = value.strip().strip("\"'")
    return fields


def platform_names():
    """The distribution as the ansible_distribution fact names it (Debian's id, capitalized, as
    Ansible does), and its family: Debian for Debian or a distribution like it, else the name."""
    fields = os_release()
    distribution = fields.get("ID", "").capitalize() or "OtherLinux"
    family = "Debian" if "debian" in [fields.get("ID", ""), *fields.get("ID_LIKE", "").split()] else distribution
    return distribution, family


def under_home(paths, home):
    return [home + path[1:] if path == "~" or path.startswith("~/") else path for path in paths]


def expand_paths(params):
    """The path options expanded on the host (~ and $VAR), as AnsibleModule expands them."""
    params = dict(params)
    for name, spec in ARGUMENT_SPEC.items():
        value = params.get(name)
        if value is None:
            continue
        if spec["type"] == "path":
            params[name] = os.path.expanduser(os.path.expandvars(value))
        elif spec.get("elements") == "path":
            params[name] = [os.path.expanduser(os.path.expandvars(item)) for item in value]
    if params.get("converged") is not None:
        converged = dict(params["converged"])
        converged["path"] = os.path.expanduser(os.path.expandvars(converged["path"]))
        params["converged"] = converged
    return params


def read_host(params):
    """Everything the checks read, for options already checked (ARGUMENT_SPEC): the result."""
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
        rc, out, err = run(["id", "-nG", name])
        if rc != 0:
            raise RuntimeError(f"id -nG {name} exited {rc}: {err.strip()}")
        groups = out.strip()
        sudo_bin = find_command("sudo")
        if sudo_bin:
            rc, out, _err = run([sudo_bin, "-n", "-l", "-U", name])
            sudo = {"rc": rc, "stdout": out}
        else:
            sudo = {"rc": 127, "stdout": ""}

    distribution, os_family = platform_names()
    result = {"changed": False, "paths": described, "user": user, "groups": groups, "sudo": sudo,
              "distribution": distribution, "os_family": os_family}
    if params.get("user_marker") is not None:
        result["user_marker"] = os.path.exists(params["user_marker"])
    if params.get("old_facts") is not None:
        result["old_facts"] = read_text(params["old_facts"])
    if params.get("state_file") is not None:
        result["state"] = read_text(params["state_file"])
    if params.get("releases_dir") is not None:
        try:
            result["releases"] = sorted(entry.name for entry in os.scandir(params["releases_dir"])
                                        if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."))
        except OSError:
            result["releases"] = []
        result["releases_dir"] = describe(params["releases_dir"], follow=False)
    if params.get("ecosystem") is not None:
        result["ecosystem"] = (read_regular(os.path.join(account.pw_dir, params["ecosystem"]))
                               if account is not None else None)
    if params.get("pm2_unit") is not None:
        active_state, main_pid = unit_state(params["pm2_unit"])
        online = (pm2_online(main_pid, account.pw_uid, params["app"])
                  if account is not None and active_state == "active" and main_pid > 0 else 0)
        result["pm2"] = {"active_state": active_state, "main_pid": main_pid, "online": online}
    wanted = params.get("converged")
    if wanted is not None:
        result["converged"] = (
            converged_check(wanted["path"], wanted["digest"], under_home(wanted["watch"], account.pw_dir),
                            under_home(wanted["exclude"], account.pw_dir), wanted["packages"], wanted["services"])
            if account is not None else {"current": False, "reasons": [f"there is no user {name}"], "digest": "",
                                         "data": {}})
    if params.get("gather_facts"):
        result["ansible_facts"] = {"ansible_local": local_facts(params.get("fact_path") or "/etc/ansible/facts.d"),
                                   "ansible_default_ipv4": default_ipv4()}
    return result
