# Copyright: proxylab.webstack maintainers
# MIT License (see galaxy.yml), or at your choice GNU General Public License v3.0+ (see
# https://www.gnu.org/licenses/gpl-3.0.txt), the license of the ansible-core module API this uses
# SPDX-License-Identifier: MIT OR GPL-3.0-or-later
"""The bookkeeping of node_app's releases, in one place: what each event of a deployment does to it,
and the text of the two files that hold it (root's state.json and the local facts other plays read).

The module node_app_state applies an event and writes both files on the host; node_app_host reads
them, and the filter node_app_plan compares the local facts on the host with what they should be.
Standard library only: the same code runs on the controller and on the host."""

from __future__ import annotations

import copy
import json

FORMAT = 1
# Failed releases keep their ids (and reasons) after their directories are gone, the last this many.
FAILED_KEPT = 10
# A failure's reason is kept up to this many characters.
REASON_LENGTH = 2000
EVENTS = ("none", "prepared", "prepare_failed", "live", "health_failed")


def empty():
    return {"format": FORMAT, "release": "", "previous_release": "", "releases": [], "failed_releases": [], "info": {}}


def load(text, on_disk=None):
    """The bookkeeping from the text of state.json (None or unreadable: empty), with only the releases
    that are still on disk when on_disk (their names) is given."""
    state = empty()
    try:
        loaded = json.loads(text) if text else {}
    except ValueError:
        loaded = {}
    if isinstance(loaded, dict):
        for key, default in state.items():
            if isinstance(loaded.get(key), type(default)):
                state[key] = loaded[key]
    if on_disk is not None:
        state["releases"] = [release for release in state["releases"] if release in on_disk]
    return state


def _moved_to_end(items, item):
    return [other for other in items if other != item] + [item]


def to_prune(releases, keep, protected, failed=()):
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


def apply(state, event, release="", *, source="", details=None, reason="", live_before="", rolled_back=False,
          forget=(), keep=0):
    """The bookkeeping after an event of a deployment (a new dict; state is left as it was).

    prepared        release is ready to go live; details (mode, deps, deps_from, built, assets) are kept
    prepare_failed  release could not be prepared: recorded as failed with its reason
    (with source, both are about a fresh directory filled from that source: the release goes last in
    releases, and what was known of an earlier attempt is forgotten)
    live            release is live; the release live before it becomes previous_release
    health_failed   release failed its health gate; the live release is live_before when it was
                    rolled back to, else release itself
    none            nothing happened (the files are written again as they should be)
    forget          releases whose directories were removed, after any event
    keep            with live: keep that many releases, forget the others (to_prune)
    """
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}; one of {', '.join(EVENTS)}")
    state = copy.deepcopy(state)
    info = state["info"]
    if event in ("prepared", "prepare_failed") and source:
        state["releases"] = _moved_to_end(state["releases"], release)
        info[release] = {"source": source}
    if event == "prepared":
        info[release] = {**info.get(release, {}), **(details or {}), "prepared": True}
        info[release].pop("failure", None)
    elif event == "prepare_failed":
        state["failed_releases"] = _moved_to_end(state["failed_releases"], release)
        info[release] = {**info.get(release, {}), "prepared": False, "failure": reason[:REASON_LENGTH]}
    elif event == "live":
        before = state["release"]
        if before not in ("", release):
            state["previous_release"] = before
        state["release"] = release
        state["failed_releases"] = [failed for failed in state["failed_releases"] if failed != release]
        info[release] = {key: value for key, value in info.get(release, {}).items() if key != "failure"}
    elif event == "health_failed":
        state["release"] = live_before if rolled_back else release
        state["failed_releases"] = _moved_to_end(state["failed_releases"], release)
        info[release] = {**info.get(release, {}), "failure": reason[:REASON_LENGTH]}
    if event == "live" and keep:
        forget = list(forget) + to_prune(state["releases"], keep, [state["release"], state["previous_release"]],
                                         state["failed_releases"])
    if forget:
        state["releases"] = [kept for kept in state["releases"] if kept not in forget]
    state["failed_releases"] = state["failed_releases"][-FAILED_KEPT:]
    known = set(state["releases"]) | set(state["failed_releases"])
    state["info"] = {name: value for name, value in info.items() if name in known}
    return state


def state_text(state):
    """The text of state.json."""
    return json.dumps(state, indent=4, sort_keys=True) + "\n"


def facts(base, state):
    """The local facts other plays read (ansible_local.node_app): base (where and how the app runs)
    and the releases. No secrets."""
    return {**base, "release": state["release"], "previous_release": state["previous_release"],
            "releases": state["releases"], "failed_releases": state["failed_releases"]}


def facts_text(base, state):
    """The text of the local facts file."""
    return json.dumps(facts(base, state), indent=4, sort_keys=True) + "\n"
