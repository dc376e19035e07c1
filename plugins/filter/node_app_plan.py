# Copyright: proxylab.webstack maintainers
# MIT License (see galaxy.yml)
"""The plan of a node_app run: which release goes live, what must be prepared for it, and whether the
live app must be switched, worked out once from what node_app_host read on the host."""

from __future__ import annotations

import ipaddress
import posixpath

from ansible_collections.proxylab.webstack.plugins.filter.node_app import node_app_deps_stamp
from ansible_collections.proxylab.webstack.plugins.module_utils import node_app_state

# Modes of what node_app_dir holds: root's directories, the releases of the app's user.
_ROOT_DIR_MODE = "0755"
_RELEASE_DIR_MODE = "0750"
_ECOSYSTEM_MODE = "0600"
_ENABLED = ("enabled", "static", "alias")


def _right_root_dir(found):
    return (found.get("exists", False) and found["isdir"] and not found["islnk"] and found["uid"] == 0
            and found["gid"] == 0 and found["mode"] == _ROOT_DIR_MODE)


def node_app_plan(host, settings, archive, commit, rendered, facts):
    """What this run does with the app.

    host: what node_app_host read (paths, user, state, releases_dir, release_dirs, current, ecosystem,
    pm2, facts). settings: node_app_release, node_app_src, node_app_repo, node_app_version,
    node_app_mode, node_app_instances, node_app_dir. archive: node_app_src packed (id, checksum, path;
    empty unless it is the source); commit: the commit of node_app_version (empty unless the repository
    is the source). rendered: the SHA-1 of
    the ecosystem file and of the PM2 unit as this run would write them. facts: the local facts beside
    the releases.

    Returns target (the release to make live), source (its origin, in words), archive, fresh (a new release
    directory), build (npm run build), carry (another release than the live one goes live: static mode
    carries assets both ways), legacy (node_app 0.1.0's layout to take over), prepare (release.yml has
    something to do), live (the live release), switch (whether activate has to change anything),
    reasons (why, one sentence each), online (every process of the app runs under an active PM2 unit)
    and daemon_reload (systemd has not loaded the PM2 unit as it is on disk).
    """
    state = host["state"]
    info = state["info"]
    releases_dir = posixpath.join(posixpath.normpath(settings["node_app_dir"]), "releases")
    asked = settings["node_app_release"]
    if asked:
        target = state["previous_release"] if asked == "previous" else asked
        origin = f"release {asked}"
    elif settings["node_app_src"]:
        target, origin = archive["id"], f"{settings['node_app_src']} (archive {archive['checksum']})"
    else:
        target = commit[:12]
        origin = f"{settings['node_app_repo']} {settings['node_app_version']} (commit {commit})"
    known = info.get(target, {})
    fresh = not asked and not (target in state["releases"] and known.get("prepared", False))
    static = settings["node_app_mode"] == "static"
    build = static and not asked and (fresh or not known.get("built", False))
    app_dir = host["paths"][-1]
    legacy = app_dir.get("exists", False) and app_dir["uid"] != 0
    live = state["release"]
    dirs_right = _right_root_dir(app_dir) and _right_root_dir(host["releases_dir"])
    prepare = legacy or fresh or build or target != live or not dirs_right

    reasons = []
    if target != live:
        reasons.append(f"release {target} is to go live (live: {live or 'none'})")
    user = host["user"]
    uid = int(user[1]) if user else -1
    found = host["release_dirs"].get(target)
    if found is not None and not fresh and not (found["isdir"] and not found["islnk"] and found["uid"] == uid
                                                and found["mode"] == _RELEASE_DIR_MODE):
        reasons.append(f"{releases_dir}/{target} is not the app user's own directory with mode {_RELEASE_DIR_MODE}")
    current = host["current"]
    if not (current.get("islnk") and current["target"] == posixpath.join(releases_dir, target)):
        reasons.append(f"current does not point at release {target}")
    ecosystem = host["ecosystem"] or {}
    if not (ecosystem.get("regular") and ecosystem["mode"] == _ECOSYSTEM_MODE and ecosystem["uid"] == uid
            and ecosystem["sha1"] == rendered["ecosystem"]):
        reasons.append("the ecosystem file is not the one this run writes")
    pm2 = host["pm2"]
    unit_file = pm2["file"]
    if not (unit_file.get("regular") and unit_file["sha1"] == rendered["unit"] and unit_file["uid"] == 0):
        reasons.append(f"the PM2 unit {pm2['fragment'] or '(none)'} is not the one this run writes")
    if pm2["drop_ins"]:
        reasons.append(f"drop-ins change the PM2 unit: {', '.join(pm2['drop_ins'])}")
    if pm2["need_daemon_reload"]:
        reasons.append("systemd has not loaded the PM2 unit as it is on disk")
    if pm2["unit_file_state"] not in _ENABLED:
        reasons.append(f"the PM2 unit is {pm2['unit_file_state'] or 'unknown'}, not enabled")
    if pm2["active_state"] != "active":
        reasons.append(f"the PM2 unit is {pm2['active_state']}")
    elif pm2["online"] != int(settings["node_app_instances"]):
        reasons.append(f"{pm2['online']} of {int(settings['node_app_instances'])} processes of the app are online")
    if host["facts"] != node_app_state.facts_text(facts, state):
        reasons.append("the local facts are not those of the bookkeeping")

    online = pm2["active_state"] == "active" and pm2["online"] == int(settings["node_app_instances"])
    return {"target": target, "source": origin, "archive": archive, "fresh": fresh, "build": build, "carry": target != live,
            "legacy": legacy, "prepare": prepare, "live": live, "switch": bool(reasons), "reasons": reasons,
            "online": online, "daemon_reload": pm2["need_daemon_reload"]}


def node_app_firewall_sources(proxies, allowed):
    """The sources the app's firewall admits: loopback, every address of the proxy hosts (from their
    facts; IPv6 link-local ones excepted) and the allowed sources, each once, in that order."""
    sources = ["127.0.0.0/8", "::1"]
    for proxy in proxies:
        found = proxy.get("ansible_facts") or {}
        sources += list(found.get("all_ipv4_addresses") or [])
        sources += [address for address in found.get("all_ipv6_addresses") or []
                    if not ipaddress.ip_address(address.split("%")[0]).is_link_local]
    sources += [str(source) for source in allowed or []]
    return list(dict.fromkeys(sources))


def node_app_deps_source(texts, node_version, live, info):
    """Where a new release's node_modules come from.

    texts: package.json, package-lock.json and npm-shrinkwrap.json of the release ('' when missing);
    node_version: `node --version`; live, info: the live release and what the bookkeeping knows of each
    release. Returns stamp (what the dependencies depend on), reuse (whether the live release's
    node_modules fits: same stamp), copy_from (in words), npm_args (`npm ci`, or `npm install` without a
    lockfile) and npm (in words).
    """
    package, *locks = (list(texts) + ["", "", ""])[:3]
    lock = next((text for text in locks if text), "")
    stamp = node_app_deps_stamp(package, lock, node_version)
    npm_args = ["ci", "--no-audit", "--no-fund"] if lock else ["install", "--no-save", "--no-audit", "--no-fund"]
    reuse = bool(live) and (info or {}).get(live, {}).get("deps") == stamp
    return {"stamp": stamp, "reuse": reuse, "copy_from": f"copy of {live}", "npm_args": npm_args,
            "npm": " ".join(["npm", npm_args[0]])}


def node_app_failure(result, task):
    """Why a task failed, in one line: its name, message and the last lines of its output."""
    result = result or {}
    lines = [str(result.get("msg") or "")]
    lines += list(result.get("stdout_lines") or [])[-15:] + list(result.get("stderr_lines") or [])[-15:]
    text = " | ".join(line.strip() for line in lines if line and line.strip())
    return f"{task}: {text}"[:2000]


def node_app_health_report(health, logs, gate):
    """Why the health gate failed, in one line: the address asked, the last answer, and the last lines
    of the app's PM2 logs. gate: name, port, path, timeout."""
    health, logs = health or {}, logs or {}
    lines = [line.strip() for line in list(logs.get("stdout_lines") or []) + list(logs.get("stderr_lines") or [])]
    lines = [line for line in lines if line and "Tailing last" not in line]
    answer = f"{health.get('status', 'none')} {str(health.get('msg') or '').strip()}".strip()
    return (f"no HTTP 200 on http://127.0.0.1:{gate['port']}{gate['path']} within {gate['timeout']} s "
            f"(last answer: {answer}); PM2 logs of {gate['name']}: {' | '.join(lines)}")


def node_app_carry(builds, found, own):
    """What to copy between two builds, one direction per item: a release's own assets that its build
    still has and the other build lacks. builds: [live build, target build]; found: the files found
    below each build's assets (find's files, absolute paths); own: each release's own assets (paths
    relative to its build)."""
    present = [{posixpath.relpath(entry["path"], build) for entry in files} for build, files in zip(builds, found)]
    moves = []
    for source, destination in ((0, 1), (1, 0)):
        assets = [asset for asset in own[source] if asset in present[source] and asset not in present[destination]]
        if assets:
            moves.append({"from": builds[source], "to": builds[destination], "assets": assets})
    return moves


def node_app_real_dirs(stats):
    """Whether every stat result is of a directory itself, not a link to one."""
    return all(found.get("exists") and found.get("isdir") and not found.get("islnk") for found in stats)


class FilterModule:
    def filters(self):
        return {"node_app_plan": node_app_plan, "node_app_firewall_sources": node_app_firewall_sources,
                "node_app_deps_source": node_app_deps_source, "node_app_failure": node_app_failure,
                "node_app_carry": node_app_carry, "node_app_real_dirs": node_app_real_dirs,
                "node_app_health_report": node_app_health_report}
