# Copyright: proxylab.webstack maintainers
# MIT License (see galaxy.yml), or at your choice GNU General Public License v3.0+ (see
# https://www.gnu.org/licenses/gpl-3.0.txt), the license of the ansible-core module API this uses
# SPDX-License-Identifier: MIT OR GPL-3.0-or-later
"""What the node_app role reads on a host before it changes anything, in one step: the code behind
the module node_app_host. Only reads."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import grp
import stat

from ansible_collections.proxylab.webstack.plugins.module_utils import converged, node_app_state

# The options, as AnsibleModule reads them.
ARGUMENT_SPEC = {
    "paths": {"type": "list", "elements": "path", "default": []},
    "user": {"type": "str", "required": True},
    "user_marker": {"type": "path"},
    "old_facts": {"type": "path"},
    "state_file": {"type": "path"},
    "facts_file": {"type": "path"},
    "releases_dir": {"type": "path"},
    "current": {"type": "path"},
    "ecosystem": {"type": "str"},
    "pm2_unit": {"type": "str"},
    "app": {"type": "str"},
    "gather_subset": {"type": "list", "elements": "str", "default": [],
                      "choices": ["distribution", "local", "network", "platform"]},
    "fact_path": {"type": "path", "default": "/etc/ansible/facts.d"},
    "converged": {
        "type": "dict",
        "options": {
            "path": {"type": "path", "required": True},
            "digest": {"type": "str", "required": True, "no_log": False},
            "watch": {"type": "list", "elements": "str", "default": []},
            "exclude": {"type": "list", "elements": "str", "default": []},
            "trees": {"type": "list", "elements": "str", "default": []},
            "packages": {"type": "list", "elements": "str", "default": []},
            "units": {"type": "list", "elements": "dict", "default": [],
                      "options": {"name": {"type": "str", "required": True},
                                  "owned": {"type": "bool", "default": True}}},
            "nft_tables": {"type": "list", "elements": "str", "default": []},
            "users": {"type": "list", "elements": "str", "default": []},
        },
    },
}
REQUIRED_BY = {"pm2_unit": "app"}
# What is read of the PM2 unit, in one systemctl call.
PM2_UNIT_PROPERTIES = ("Id", "Names", "ActiveState", "UnitFileState", "NeedDaemonReload", "DropInPaths", "FragmentPath",
                       "MainPID")


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
    return {"exists": True, "regular": True, "sha1": digest.hexdigest(), "mode": f"{stat.S_IMODE(info.st_mode):04o}",
            "uid": info.st_uid}


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


def pm2_state(unit, account, app):
    """The PM2 unit as systemd runs it, its file, and how many processes of the app run under it."""
    systemctl = converged.find_command("systemctl") or "systemctl"
    _rc, out, _err = converged.run([systemctl, "show", "-p", ",".join(PM2_UNIT_PROPERTIES), "--", unit])
    shown = (converged.unit_blocks(out) or [{}])[0]
    own = converged.own_drop_in_dirs(shown, unit)
    drop_ins = [path for path in shown.get("DropInPaths", "").split() if os.path.basename(os.path.dirname(path)) in own]
    fragment = shown.get("FragmentPath", "")
    try:
        main_pid = int(shown.get("MainPID", "0"))
    except ValueError:
        main_pid = 0
    active_state = shown.get("ActiveState", "unknown")
    online = pm2_online(main_pid, account.pw_uid, app) if account is not None and active_state == "active" and main_pid > 0 else 0
    return {"active_state": active_state, "unit_file_state": shown.get("UnitFileState", ""),
            "need_daemon_reload": shown.get("NeedDaemonReload", "no") == "yes",
            "drop_ins": drop_ins,
            "fragment": fragment, "file": read_regular(fragment) if fragment else {"exists": False, "regular": False},
            "main_pid": main_pid, "online": online}


def node_version():
    node = converged.find_command("node")
    if node is None:
        return ""
    rc, out, _err = converged.run([node, "--version"])
    return out.strip() if rc == 0 else ""


def under_home(paths, home):
    return [home + path[1:] if path == "~" or path.startswith("~/") else path for path in paths]


def read_host(params):
    """Everything the checks and the plan read, for options already checked (ARGUMENT_SPEC): the result."""
    paths = params["paths"]
    described = [describe(path, follow=True) for path in paths[:-1]] + [describe(path, follow=False) for path in paths[-1:]]

    name = params["user"]
    try:
        account = pwd.getpwnam(name)
    except KeyError:
        account = None
    user, groups, home, group, sudo = None, "", "", "", {"rc": 1, "stdout": ""}
    if account is not None:
        user = ["x", str(account.pw_uid), str(account.pw_gid), account.pw_gecos, account.pw_dir, account.pw_shell]
        home = account.pw_dir
        try:
            group = grp.getgrgid(account.pw_gid).gr_name
        except KeyError:
            group = str(account.pw_gid)
        rc, out, err = converged.run(["id", "-nG", name])
        if rc != 0:
            raise RuntimeError(f"id -nG {name} exited {rc}: {err.strip()}")
        groups = out.strip()
        sudo_bin = converged.find_command("sudo")
        if sudo_bin:
            rc, out, _err = converged.run([sudo_bin, "-n", "-l", "-U", name])
            sudo = {"rc": rc, "stdout": out}
        else:
            sudo = {"rc": 127, "stdout": ""}

    result = {"changed": False, "paths": described, "user": user, "groups": groups, "home": home, "group": group,
              "sudo": sudo, "node_version": node_version()}
    if params.get("user_marker") is not None:
        result["user_marker"] = os.path.exists(params["user_marker"])
    if params.get("old_facts") is not None:
        result["old_facts"] = read_text(params["old_facts"])
    if params.get("releases_dir") is not None:
        releases_dir = params["releases_dir"]
        result["releases_dir"] = describe(releases_dir, follow=False)
        try:
            names = sorted(entry.name for entry in os.scandir(releases_dir)
                           if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."))
        except OSError:
            names = []
        result["releases"] = names
        result["release_dirs"] = {release: describe(os.path.join(releases_dir, release), follow=False) for release in names}
    if params.get("state_file") is not None:
        result["state"] = node_app_state.load(read_text(params["state_file"]), on_disk=result.get("releases"))
    if params.get("facts_file") is not None:
        result["facts"] = read_text(params["facts_file"])
    if params.get("current") is not None:
        current = describe(params["current"], follow=False)
        current["target"] = os.readlink(params["current"]) if current.get("islnk") else ""
        result["current"] = current
    if params.get("ecosystem") is not None:
        result["ecosystem"] = (read_regular(os.path.join(account.pw_dir, params["ecosystem"]))
                               if account is not None else None)
    if params.get("pm2_unit") is not None:
        result["pm2"] = pm2_state(params["pm2_unit"], account, params["app"])
    wanted = params.get("converged")
    if wanted is not None:
        if account is None:
            result["converged"] = {"current": False, "reasons": [f"there is no user {name}"], "stale": ["record"],
                                   "digest": "", "data": {}}
        else:
            result["converged"] = converged.check(
                wanted["path"], wanted["digest"], watch=under_home(wanted["watch"], home),
                exclude=under_home(wanted["exclude"], home), trees=wanted["trees"], packages=wanted["packages"],
                units=wanted["units"], nft_tables=wanted["nft_tables"], users=wanted["users"])
    return result
