# Copyright: proxylab.webstack maintainers
# MIT License (see galaxy.yml)
"""Filters of the node_app role: data normalised once, in Python, with unit tests."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import posixpath

from ansible.errors import AnsibleFilterError

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


def node_app_prune(releases, keep, protected, failed=None):
    """The releases to remove until at most `keep` remain: failed ones first, then the oldest.

    releases are ids on disk, oldest first; protected are ids never removed (the live release and
    the one before it); failed are ids recorded as failed, which can never go live again.
    """
    keep = int(keep)
    protected = {p for p in (protected or []) if p}
    failed = set(failed or [])
    candidates = [r for r in releases if r in failed] + [r for r in releases if r not in failed]
    remove = []
    remaining = len(releases)
    for release in candidates:
        if remaining <= keep:
            break
        if release in protected:
            continue
        remove.append(release)
        remaining -= 1
    return sorted(remove, key=releases.index)


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


class FilterModule:
    def filters(self):
        return {
            "node_app_deps_stamp": node_app_deps_stamp,
            "node_app_prune": node_app_prune,
            "node_app_parents": node_app_parents,
            "node_app_path_under": node_app_path_under,
            "node_app_bad_sources": node_app_bad_sources,
        }
