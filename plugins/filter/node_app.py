# Copyright: proxylab.webstack maintainers
# MIT License (see galaxy.yml)
"""Filters of the node_app role: data normalised once, in Python, with unit tests."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import posixpath
import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.proxylab.webstack.plugins.plugin_utils.input_check import check_types, option

# The fields of package.json that decide what `npm ci` / `npm install` puts into node_modules.
# Everything else (version, description, the start and build scripts, ...) may change without
# making the installed dependencies stale.
_PACKAGE_FIELDS = (
    "dependencies",
    "devDependencies",
    "optionalDependencies",
    "peerDependencies",
    "peerDependenciesMeta",
    "bundleDependencies",
    "bundledDependencies",
    "overrides",
    "workspaces",
    "engines",
)
# Lifecycle scripts of the app itself that npm runs on install.
_INSTALL_SCRIPTS = ("preinstall", "install", "postinstall", "prepublish", "preprepare", "prepare", "postprepare")


def _load(text, what):
    if text in (None, ""):
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise AnsibleFilterError(f"node_app_deps_stamp: {what} is not valid JSON: {exc}") from exc


def node_app_deps_stamp(package_json, lockfile="", node_version=""):
    """Checksum of what the installed dependencies depend on.

    package_json and lockfile are the texts of package.json and of package-lock.json (or
    npm-shrinkwrap.json; empty when the app has none); node_version is `node --version`. The app's
    own name and version are left out of both files, so that a release that only bumps its version
    reuses the node_modules of the one before.
    """
    package = _load(package_json, "package.json")
    if not isinstance(package, dict):
        raise AnsibleFilterError("node_app_deps_stamp: package.json must hold a JSON object")
    relevant = {key: package[key] for key in _PACKAGE_FIELDS if key in package}
    scripts = package.get("scripts") or {}
    relevant["scripts"] = {key: scripts[key] for key in _INSTALL_SCRIPTS if key in scripts}

    lock = _load(lockfile, "the lockfile")
    if lock is not None:
        if not isinstance(lock, dict):
            raise AnsibleFilterError("node_app_deps_stamp: the lockfile must hold a JSON object")
        lock = dict(lock)
        lock.pop("name", None)
        lock.pop("version", None)
        packages = lock.get("packages")
        if isinstance(packages, dict) and isinstance(packages.get(""), dict):
            root = dict(packages[""])
            root.pop("name", None)
            root.pop("version", None)
            lock["packages"] = dict(packages, **{"": root})

    canonical = json.dumps(
        {"package": relevant, "lockfile": lock, "node": str(node_version).strip()},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def node_app_parents(path):
    """The directories above an absolute path, from / down: /srv/app/x -> ['/', '/srv', '/srv/app']."""
    path = posixpath.normpath(str(path))
    if not path.startswith("/"):
        raise AnsibleFilterError(f"node_app_parents: {path} is not an absolute path")
    parents = []
    parent = posixpath.dirname(path)
    while parent != path:
        parents.append(parent)
        path, parent = parent, posixpath.dirname(parent)
    return list(reversed(parents))


def node_app_path_under(path, prefixes):
    """The first of prefixes that path is, or is inside of (by whole components); '' when none."""
    path = posixpath.normpath(str(path))
    for prefix in prefixes:
        prefix = posixpath.normpath(str(prefix))
        if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
            return prefix
    return ""


def node_app_bad_sources(sources):
    """The entries of a list that are not an IPv4 or IPv6 address or network (CIDR)."""
    bad = []
    for source in sources or []:
        try:
            ipaddress.ip_network(str(source), strict=False)
        except ValueError:
            bad.append(source)
    return bad


# The name node_app_name and node_app_user (and the PM2 process) must match.
NAME_PATTERN = "^[a-z0-9][a-z0-9_.-]*$"
# Names PM2 reads as something else than one process: `all`, or a number (a process id).
NAME_RESERVED_PATTERN = "^(all|[0-9]+)$"
# Environment variable names allowed in node_app_env (they are written to a shell-sourced file).
ENV_NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$"
# A release id: the first 12 hex digits of the git commit or of the source archive's SHA-256.
RELEASE_ID_PATTERN = "^[0-9a-f]{12}$"
NPM_VERSION_PATTERN = "^[0-9]+[.][0-9]+[.][0-9]+$"
NPM_CHECKSUM_PATTERN = "^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$"
# node_app_dir may not be, or be inside, one of these (system directories), nor be directly under /
# (such as /srv itself), nor be a mount point.
DIR_FORBIDDEN = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/root", "/run",
                 "/sbin", "/sys", "/tmp", "/usr", "/var/cache", "/var/lib", "/var/log", "/var/mail", "/var/run",
                 "/var/spool", "/var/tmp")
# Groups whose members may become root: with sudo (sudo, wheel, admin), by starting a container or VM
# with the host's root file system in it (docker, lxd, incus-admin, libvirt), or by reading and writing
# what root keeps (root, disk: the raw block devices; kmem: the kernel's memory; shadow: the password
# hashes).
ADMIN_GROUPS = ("sudo", "wheel", "admin", "root", "docker", "lxd", "incus-admin", "libvirt", "disk", "kmem", "shadow")
# What `sudo -l -U <user>` prints when the user may run something with sudo.
_SUDO_ALLOWS = "may run the following commands"

# The variables of the role (the `main` options of meta/argument_specs.yml; a unit test compares the
# two). Every integer goes through `| int` or renders the same from digits, and both booleans
# through `| bool`: what YAML or the command line gives as a string is read the same.
OPTIONS = {
    "node_app_nodejs_source": option("str", choices=["distro"]),
    "node_app_npm_source": option("str", choices=["registry", "distro"]),
    "node_app_npm_version": option("str"),
    "node_app_npm_url": option("str"),
    "node_app_npm_checksum": option("str"),
    "node_app_pm2_version": option("str"),
    "node_app_name": option("str"),
    "node_app_repo": option("str"),
    "node_app_version": option("str"),
    "node_app_src": option("str"),
    "node_app_release": option("str"),
    "node_app_keep_releases": option("int", lenient=True),
    "node_app_mode": option("str", choices=["start", "static"]),
    "node_app_port": option("int", lenient=True),
    "node_app_env": option("dict", secret=True),
    "node_app_instances": option("int", lenient=True),
    "node_app_user": option("str"),
    "node_app_dir": option("path"),
    "node_app_health_path": option("str"),
    "node_app_health_timeout": option("int", lenient=True),
    "node_app_firewall": option("bool", lenient=True),
    "node_app_firewall_proxy_group": option("str"),
    "node_app_firewall_allowed_sources": option("list", "str"),
    "node_app_quick_rerun": option("bool", lenient=True),
}


def _matches(pattern, value):
    return re.search(pattern, value) is not None


def node_app_problems(settings, npm_checksums=None):
    """Messages, each naming its variable, for everything wrong in the input of node_app that can be
    told without the host: types, ranges, names, cross-field rules, and node_app_src on the controller.

    settings: every node_app_* variable by its full name; npm_checksums: {npm version: checksum} the
    role knows. Never raises, whatever the types, and never shows a value of node_app_env.
    """
    problems, v = check_types(settings, OPTIONS)
    has = v.__contains__
    if has("node_app_port") and not 1 <= v["node_app_port"] <= 65535:
        problems.append(f"node_app_port must be a TCP port between 1 and 65535, got {v['node_app_port']}")
    if has("node_app_name") and (not _matches(NAME_PATTERN, v["node_app_name"])
                                 or _matches(NAME_RESERVED_PATTERN, v["node_app_name"])):
        problems.append(f"node_app_name must match {NAME_PATTERN} and must not be 'all' or a number (PM2 reads those "
                        f"as every process or a process id), got '{v['node_app_name']}'")
    if has("node_app_user") and (not _matches(NAME_PATTERN, v["node_app_user"]) or v["node_app_user"] == "root"):
        problems.append(f"node_app_user must be an unprivileged user name matching {NAME_PATTERN} and not root, "
                        f"got '{v['node_app_user']}'")
    if has("node_app_instances") and has("node_app_mode") and (
            v["node_app_instances"] < 1 or (v["node_app_mode"] != "static" and v["node_app_instances"] != 1)):
        problems.append("node_app_instances must be at least 1, and exactly 1 when node_app_mode is start (npm start "
                        f"runs one dev server on node_app_port); got {v['node_app_instances']} with node_app_mode "
                        f"{v['node_app_mode']}")
    if has("node_app_keep_releases") and v["node_app_keep_releases"] < 2:
        problems.append("node_app_keep_releases must be at least 2 (the live release and the one before it, to roll "
                        f"back to), got {v['node_app_keep_releases']}")
    if has("node_app_release") and v["node_app_release"] not in ("", "previous") \
            and not _matches(RELEASE_ID_PATTERN, v["node_app_release"]):
        problems.append("node_app_release must be empty, 'previous' or a release id of 12 hex digits "
                        f"(ansible_local.node_app.releases lists them), got '{v['node_app_release']}'")
    if has("node_app_env"):
        problems += _env_problems(v["node_app_env"])
    if has("node_app_dir"):
        problems += _dir_problems(v["node_app_dir"])
    if has("node_app_firewall_allowed_sources"):
        bad = node_app_bad_sources(v["node_app_firewall_allowed_sources"])
        if bad:
            problems.append("node_app_firewall_allowed_sources must list IPv4 or IPv6 addresses or networks (CIDR), "
                            f"got {', '.join(bad)}")
    if has("node_app_firewall_proxy_group") and not v["node_app_firewall_proxy_group"]:
        problems.append("node_app_firewall_proxy_group must name an inventory group, got ''")
    if all(map(has, ("node_app_src", "node_app_repo", "node_app_version"))) \
            and not (v["node_app_src"] or (v["node_app_repo"] and v["node_app_version"])):
        problems.append("node_app_repo and node_app_version must be set when node_app_src is empty")
    if has("node_app_health_path") and not v["node_app_health_path"].startswith("/"):
        problems.append(f"node_app_health_path must start with / (got '{v['node_app_health_path']}')")
    if has("node_app_health_timeout") and v["node_app_health_timeout"] < 1:
        problems.append(f"node_app_health_timeout must be at least 1 second (got {v['node_app_health_timeout']})")
    if all(map(has, ("node_app_npm_source", "node_app_npm_version", "node_app_npm_checksum"))):
        problems += _npm_problems(v, npm_checksums if isinstance(npm_checksums, Mapping) else {})
    if has("node_app_src"):
        src = v["node_app_src"]
        # The filter runs on the controller, where node_app_src is read.
        if src and not (os.path.isabs(src) and os.path.isdir(src)):
            problems.append(f"node_app_src must be empty or an absolute directory on the controller, got '{src}'")
    return problems


def _env_problems(env):
    """The names of node_app_env only: its values may be secrets."""
    names = [str(name) for name in env]
    problems = []
    if "PORT" in names or any(not _matches(ENV_NAME_PATTERN, name) for name in names):
        problems.append("node_app_env must not set PORT (the app's port is node_app_port, which the proxy uses too) "
                        f"and its names must match {ENV_NAME_PATTERN}; got the names {', '.join(names)}")
    # A list or a dict would reach the build's environment file as Python's text of it.
    nested = [str(name) for name, value in env.items()
              if value is None or not isinstance(value, (str, int, float, bool))]
    if nested:
        problems.append(f"node_app_env must map each name to a string or a number; the values of {', '.join(nested)} "
                        "are not (values are not shown: they may be secrets)")
    return problems


def _dir_problems(path):
    normal = posixpath.normpath(path)
    if not (posixpath.isabs(path) and len(node_app_parents(normal)) >= 2
            and node_app_path_under(normal, DIR_FORBIDDEN) == ""):
        return ["node_app_dir must be an absolute path of the app's own directory: not / nor a directory directly "
                "under / (such as /srv), and not a system directory or inside one "
                f"({', '.join(DIR_FORBIDDEN)}); got '{path}'"]
    return []


def _npm_problems(v, npm_checksums):
    if v["node_app_npm_source"] != "registry":
        return []
    checksum = v["node_app_npm_checksum"] or npm_checksums.get(v["node_app_npm_version"], "")
    if _matches(NPM_VERSION_PATTERN, v["node_app_npm_version"]) and _matches(NPM_CHECKSUM_PATTERN, str(checksum)):
        return []
    return [f"node_app_npm_version must be a version such as 10.9.9 (got '{v['node_app_npm_version']}'), and "
            "node_app_npm_checksum the sha512:<128 hex digits> or sha256:<64 hex digits> of its tarball "
            f"(got '{v['node_app_npm_checksum']}'); the role knows the checksum of "
            f"{', '.join(map(str, npm_checksums)) or 'no version'} only"]


def node_app_host_problems(host, settings):
    """Messages for what the host says against the input: the platform, node_app_dir and the
    directories above it, an existing node_app_user that can act as root or is a system account
    node_app did not create, and node_app_release naming a release that can go live.

    host: what node_app_host returned (paths: the directories above node_app_dir, then node_app_dir;
    user, groups, sudo, user_marker, old_facts, os_family, distribution) with state, the bookkeeping
    already parsed ({} when there is none). settings: the node_app_* variables by their full names;
    a rule whose variables are of the wrong type is left to node_app_problems.
    """
    host = host if isinstance(host, Mapping) else {}
    _type_problems, v = check_types(settings, OPTIONS)
    problems = []
    if host.get("os_family") != "Debian":
        problems.append(f"node_app supports Debian (bookworm, trixie); this host is {host.get('distribution')}")
    entry = host.get("user")
    uid = _uid(entry)
    if "node_app_dir" in v:
        problems += _host_dir_problems(v["node_app_dir"], host.get("paths"), uid)
    if "node_app_user" in v and uid is not None:
        problems += _host_user_problems(v["node_app_user"], uid, host)
    if all(name in v for name in ("node_app_release", "node_app_mode")) and v["node_app_release"]:
        problems += _release_problems(v["node_app_release"], v["node_app_mode"], host.get("state"))
    return problems


def _uid(entry):
    """The uid of node_app_user's passwd entry (['x', uid, gid, gecos, home, shell]); None when there is none."""
    try:
        return int(entry[1])
    except (TypeError, ValueError, IndexError, KeyError):
        return None


def _host_dir_problems(node_app_dir, paths, uid):
    paths = [path for path in paths if isinstance(path, Mapping)] if isinstance(paths, list) else []
    if not paths:
        return []
    parents, here = paths[:-1], paths[-1]
    found = [path for path in paths if path.get("exists")]
    existing_parents = [path for path in parents if path.get("exists")]
    right = (
        all(path.get("isdir") and path.get("uid") == 0 and not path.get("wgrp") and not path.get("woth")
            for path in existing_parents)
        and (not here.get("exists") or (
            here.get("isdir") and not here.get("islnk")
            and (not parents or here.get("dev") == parents[-1].get("dev"))
            and (here.get("uid") == 0 or (uid is not None and here.get("uid") == uid))))
    )
    if right:
        return []
    listing = ", ".join(f"{path.get('path')} {path.get('pw_name')} {path.get('mode')}" for path in found)
    return [f"node_app_dir {node_app_dir} must be a directory of its own (not a symbolic link, not a mount point, owned "
            "by root, or by node_app_user when an older node_app deployed it there) inside directories that only root "
            f"can write to; on this host: {listing}"]


def _host_user_problems(user, uid, host):
    groups = host.get("groups") if isinstance(host.get("groups"), str) else ""
    sudo = host.get("sudo") if isinstance(host.get("sudo"), Mapping) else {}
    sudo_allows = _SUDO_ALLOWS in str(sudo.get("stdout") or "")
    if uid == 0 or set(groups.split()) & set(ADMIN_GROUPS) or (sudo.get("rc") == 0 and sudo_allows):
        return [f"node_app_user '{user}' is an existing account that can act as root (uid {uid}, groups {groups}"
                f"{', allowed commands by sudo' if sudo_allows else ''}): the app must run as an unprivileged user. "
                "Choose another node_app_user (node_app creates it)."]
    if 1000 <= uid < 60000 or bool(host.get("user_marker")) or _old_facts_user(host.get("old_facts")) == user:
        return []
    return [f"node_app_user '{user}' is an existing system account (uid {uid}) that node_app did not create: the app "
            "would share it with another service. Choose another node_app_user (node_app creates it)."]


def _old_facts_user(text):
    """The user node_app 0.1.0 named in its local facts, '' when there is none."""
    try:
        facts = json.loads(text) if isinstance(text, str) else {}
    except ValueError:
        return ""
    return facts.get("user", "") if isinstance(facts, dict) else ""


def _truncate(text, length=300, end="..."):
    """As Jinja's truncate filter: whole words, a few characters of leeway."""
    if len(text) <= length + 5:
        return text
    return text[:length - len(end)].rsplit(" ", 1)[0] + end


def _release_problems(release, mode, state):
    state = state if isinstance(state, Mapping) else {}
    releases = [str(r) for r in state.get("releases") or [] if r] if isinstance(state.get("releases"), list) else []
    failed = [str(r) for r in state.get("failed_releases") or []] if isinstance(state.get("failed_releases"), list) else []
    info = state.get("info") if isinstance(state.get("info"), Mapping) else {}
    target = str(state.get("previous_release") or "") if release == "previous" else release
    details = info.get(target) if isinstance(info.get(target), Mapping) else {}
    if target and target not in failed and target in releases and details.get("prepared") \
            and (mode != "static" or details.get("built")):
        return []
    if not target:
        why = "names no release: there is no earlier release on this host"
    elif target in failed:
        why = f"is recorded as failed and cannot go live again ({_truncate(str(details.get('failure') or ''))})"
    elif target not in releases:
        why = "is not a release on this host"
    else:
        why = f"was not prepared for node_app_mode {mode}; deploy its source instead"
    named = f" (release '{target}')" if release == "previous" else ""
    return [f"node_app_release '{release}'{named} {why}. Releases on this host, oldest first: "
            f"{', '.join(releases) or 'none'}; live: {state.get('release') or 'none'}; "
            f"failed: {', '.join(failed) or 'none'}."]


class FilterModule:
    def filters(self):
        return {
            "node_app_deps_stamp": node_app_deps_stamp,
            "node_app_parents": node_app_parents,
            "node_app_path_under": node_app_path_under,
            "node_app_bad_sources": node_app_bad_sources,
            "node_app_problems": node_app_problems,
            "node_app_host_problems": node_app_host_problems,
        }
