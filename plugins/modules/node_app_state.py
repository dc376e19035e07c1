#!/usr/bin/python
# Copyright: proxylab.webstack maintainers
# MIT License (see galaxy.yml), or at your choice GNU General Public License v3.0+ (see
# https://www.gnu.org/licenses/gpl-3.0.txt), the license of the ansible-core module API this uses
# SPDX-License-Identifier: MIT OR GPL-3.0-or-later
"""Module: record an event of a node_app deployment in the release bookkeeping and the local facts."""

from __future__ import annotations

DOCUMENTATION = r"""
module: node_app_state
author: proxylab.webstack maintainers (@proxylab)
version_added: "0.3.0"
short_description: Record an event of a node_app deployment in the release bookkeeping and the local facts
description:
  - Reads the bookkeeping of the releases of the C(proxylab.webstack.node_app) role (O(path)), applies
    one event of a deployment to it, and writes it back together with the local facts that other plays
    read (O(facts_path), C(ansible_local.node_app)), each only when its text changes.
  - "Events: C(prepared), C(prepare_failed) (with O(source) for a fresh release directory), C(live),
    C(health_failed), C(none) (nothing happened: both files are written again as they should be, which
    puts back a hand-edited facts file). O(forget) removes releases whose directories are gone, after
    any event."
  - The bookkeeping is root's (mode 0600, in a directory of root's), the facts are readable by all (mode
    0644) and hold no secrets. Both are replaced atomically.
options:
  path:
    description: The bookkeeping, C(state.json).
    type: path
    required: true
  facts_path:
    description: The local facts file.
    type: path
    required: true
  facts:
    description: What the facts say beside the releases (name, service, port, user, dir, mode, pm2_home, health_path).
    type: dict
    required: true
  event:
    description: What happened.
    type: str
    choices: [none, prepared, prepare_failed, live, health_failed]
    default: none
  release:
    description: The release the event is about.
    type: str
    default: ""
  source:
    description:
      - Where a release prepared in a fresh directory comes from (a path and archive checksum, or a URL, ref and
        commit), with C(prepared) and C(prepare_failed); empty when an existing release was prepared further
        (built).
    type: str
    default: ""
  details:
    description: What a C(prepared) release keeps (mode, deps, deps_from, built, assets).
    type: dict
    default: {}
  reason:
    description: Why a release failed (C(prepare_failed), C(health_failed)).
    type: str
    default: ""
  live_before:
    description: The release that was live before a C(health_failed) release.
    type: str
    default: ""
  rolled_back:
    description: Whether O(live_before) was made live again after a C(health_failed) release.
    type: bool
    default: false
  forget:
    description: Releases whose directories were removed.
    type: list
    elements: str
    default: []
  keep:
    description:
      - With C(live), how many releases to keep (0 keeps all); the others are forgotten, failed ones
        first, then the oldest, never the live one or the one before it.
    type: int
    default: 0
  releases_dir:
    description:
      - The directory of the releases. RV(remove) lists the directories there that the bookkeeping no
        longer keeps (forgotten now, or left by a run that stopped half-way), never O(release).
    type: path
"""

EXAMPLES = r"""
- name: Record release 4f1c9a0d2b7e as live
  proxylab.webstack.node_app_state:
    path: /var/lib/node_app/app/state.json
    facts_path: /etc/ansible/facts.d/node_app.fact
    facts: {name: app, service: pm2-app.service, port: 3000}
    event: live
    release: 4f1c9a0d2b7e
    forget: [9b0e55c1a3f2]
"""

RETURN = r"""
state:
  description: The bookkeeping after the event (release, previous_release, releases, failed_releases, info).
  type: dict
  returned: always
facts:
  description: The local facts after the event.
  type: dict
  returned: always
remove:
  description: With O(releases_dir), the names of the release directories to remove, sorted.
  type: list
  elements: str
  returned: always
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.proxylab.webstack.plugins.module_utils import node_app_state


def read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None


def replace(path, text, mode):
    """Write text to path atomically, through a temporary file of an unpredictable name beside it."""
    fd, temporary = tempfile.mkstemp(prefix=".node_app_state.", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "facts_path": {"type": "path", "required": True},
            "facts": {"type": "dict", "required": True},
            "event": {"type": "str", "choices": list(node_app_state.EVENTS), "default": "none"},
            "release": {"type": "str", "default": ""},
            "source": {"type": "str", "default": ""},
            "details": {"type": "dict", "default": {}},
            "reason": {"type": "str", "default": ""},
            "live_before": {"type": "str", "default": ""},
            "rolled_back": {"type": "bool", "default": False},
            "forget": {"type": "list", "elements": "str", "default": []},
            "keep": {"type": "int", "default": 0},
            "releases_dir": {"type": "path"},
        },
        supports_check_mode=True,
    )
    params = module.params
    if params["event"] != "none" and not params["release"]:
        module.fail_json(msg=f"event {params['event']} needs a release")
    before = node_app_state.load(read(params["path"]))
    after = node_app_state.apply(before, params["event"], params["release"], source=params["source"],
                                 details=params["details"], reason=params["reason"],
                                 live_before=params["live_before"], rolled_back=params["rolled_back"],
                                 forget=params["forget"], keep=params["keep"])
    wanted = [(params["path"], node_app_state.state_text(after), 0o600),
              (params["facts_path"], node_app_state.facts_text(params["facts"], after), 0o644)]
    changed = False
    for path, text, mode in wanted:
        try:
            same = read(path) == text and (os.stat(path).st_mode & 0o7777) == mode and os.stat(path).st_uid == 0
        except OSError:
            same = False
        if same:
            continue
        changed = True
        if not module.check_mode:
            replace(path, text, mode)
    remove = []
    if params["releases_dir"]:
        try:
            on_disk = [entry.name for entry in os.scandir(params["releases_dir"])
                       if entry.is_dir(follow_symlinks=False) and not entry.name.startswith(".")]
        except OSError:
            on_disk = []
        remove = sorted(name for name in on_disk if name not in after["releases"] and name != params["release"])
    module.exit_json(changed=changed, state=after, facts=node_app_state.facts(params["facts"], after), remove=remove)


if __name__ == "__main__":
    main()
