# Copyright: proxylab.webstack maintainers
# MIT License (see galaxy.yml), or at your choice GNU General Public License v3.0+ (see
# https://www.gnu.org/licenses/gpl-3.0.txt), the license of the ansible-core module API this uses
# SPDX-License-Identifier: MIT OR GPL-3.0-or-later
"""What a complete run of a role left on a host, and whether the host is still so: the record and
the check behind the converged module, shared with node_app_host (which checks in the same round
trip as its other reads). Standard library only: node_app_host also runs it without Ansible's
module wrapper (plugins/action/node_app_host.py)."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import stat
import subprocess


def describe(path):
    """One line of the snapshot for path: type, owner, group, mode, and content or target."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return "absent"
    head = f"{info.st_uid}:{info.st_gid}:{stat.S_IMODE(info.st_mode):04o}"
    if stat.S_ISLNK(info.st_mode):
        return f"link {head} -> {os.readlink(path)}"
    if stat.S_ISDIR(info.st_mode):
        return f"dir {head}"
    if stat.S_ISREG(info.st_mode):
        digest = hashlib.sha1()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 16), b""):
                digest.update(block)
        return f"file {head} {digest.hexdigest()}"
    return f"other {head}"


def snapshot_paths(watch, exclude):
    patterns = [os.path.normpath(p) for p in exclude]
    result = {}

    def visit(path):
        result[path] = describe(path)
        if result[path].startswith("dir "):
            for name in sorted(os.listdir(path)):
                below = os.path.join(path, name)
                if not any(fnmatch.fnmatchcase(below, pattern) for pattern in patterns):
                    visit(below)

    for path in watch:
        visit(os.path.normpath(path))
    return result


def run(argv):
    """Exit status and output of a command, in the C locale (the output is parsed)."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, errors="replace", check=False,
                              env=dict(os.environ, LC_ALL="C"))
    except OSError as error:
        return 127, "", str(error)
    return done.returncode, done.stdout, done.stderr


def package_versions(packages):
    if not packages:
        return {}
    versions = {name: "not installed" for name in packages}
    _rc, out, _err = run(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status} ${Version}\n", *packages])
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] in versions and parts[1] == "installed":
            versions[parts[0]] = parts[2]
    return versions


def snapshot(watch, exclude, packages):
    return {"paths": snapshot_paths(watch, exclude), "packages": package_versions(packages)}


def read_record(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def differences(recorded, now):
    reasons = []
    for kind in ("paths", "packages"):
        old, new = recorded.get(kind, {}), now[kind]
        for name in sorted(set(old) | set(new)):
            if old.get(name) != new.get(name):
                reasons.append(f"{name} changed: {old.get(name, 'not watched')} -> {new.get(name, 'not watched')}")
    return reasons


def live_problems(services, commands):
    reasons = []
    for unit in services:
        for verb, wanted in (("is-active", ("active",)), ("is-enabled", ("enabled", "static", "alias"))):
            _rc, out, _err = run(["systemctl", verb, unit])
            if out.strip() not in wanted:
                reasons.append(f"{unit} {verb}: {out.strip() or 'unknown'}")
    for command in commands:
        try:
            done = subprocess.run(command["argv"], capture_output=True, text=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            reasons.append(f"{' '.join(command['argv'])}: {error}")
            continue
        if done.returncode != 0:
            reasons.append(f"{' '.join(command['argv'])} exited {done.returncode}")
        elif command.get("stdout") is not None and done.stdout.strip() != command["stdout"]:
            reasons.append(f"{' '.join(command['argv'])} printed {done.stdout.strip()[:200]!r}")
    return reasons


def check(path, digest, watch=(), exclude=(), packages=(), services=(), commands=()):
    """Whether the host is as the recorded run left it: current, the reasons it is not, the recorded
    digest and data."""
    recorded = read_record(path)
    if recorded is None:
        return {"current": False, "reasons": [f"no record of a complete run at {path}"], "digest": "", "data": {}}
    reasons = []
    if recorded.get("digest") != digest:
        reasons.append("the inputs of this run differ from those of the recorded run")
    reasons += differences(recorded, snapshot(watch, exclude, packages))
    reasons += live_problems(services, commands)
    return {"current": not reasons, "reasons": reasons, "digest": recorded.get("digest", ""),
            "data": recorded.get("data", {})}
