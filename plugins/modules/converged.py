#!/usr/bin/python
# Copyright: proxylab.webstack maintainers
# MIT License (see galaxy.yml), or at your choice GNU General Public License v3.0+ (see
# https://www.gnu.org/licenses/gpl-3.0.txt), the license of the ansible-core module API this uses
# SPDX-License-Identifier: MIT OR GPL-3.0-or-later
"""Module: is a host still as the last complete run of a role left it? One round trip instead of many."""

from __future__ import annotations

DOCUMENTATION = r"""
module: converged
author: proxylab.webstack maintainers (@proxylab)
version_added: "0.2.0"
short_description: Record what a complete run of a role left on a host, and check it in one step
description:
  - After a complete run, O(state=present) writes a record on the host, readable by root only, that holds the
    digest of the run's inputs (computed on the controller), and a snapshot of the watched paths
    (type, owner, group and mode of each; the SHA-1 of each file; the target of each link; every
    entry below a watched directory) and of the installed versions of the watched packages.
  - O(state=check) changes nothing. The host is current when the record exists, its digest is
    O(digest), the snapshot taken now equals the recorded one, every unit of O(services) is active
    and enabled, and every command of O(commands) succeeds (with the expected output, when given).
    RV(reasons) says why not.
  - The roles of proxylab.webstack use it to skip the tasks of a re-run with nothing to do, and to
    run all of them as soon as anything of the above differs.
options:
  path:
    description: The record on the host.
    type: path
    required: true
  state:
    description: C(check) compares, C(present) writes the record, C(absent) removes it.
    type: str
    choices: [check, present, absent]
    default: check
  digest:
    description: The digest of the inputs of the run (required unless O(state=absent)).
    type: str
  watch:
    description: Paths whose snapshot is recorded and compared; a directory with everything below it.
    type: list
    elements: path
    default: []
  exclude:
    description:
      - Paths below the watched directories left out of the snapshot (with everything below them), such
        as files a service rewrites; shell patterns (C(*), C(?), C([...])) match whole paths, C(*)
        across C(/) too. A watched path itself is always in the snapshot.
    type: list
    elements: path
    default: []
  packages:
    description: Debian packages whose installed version is recorded and compared (not installed counts as a difference).
    type: list
    elements: str
    default: []
  services:
    description: systemd units that must be active and enabled (checked live, not recorded).
    type: list
    elements: str
    default: []
  commands:
    description: Commands that must exit 0 (checked live, not recorded).
    type: list
    elements: dict
    default: []
    suboptions:
      argv:
        description: The command, not run through a shell.
        type: list
        elements: str
        required: true
      stdout:
        description: The output expected, without surrounding white space.
        type: str
  data:
    description: Values stored with the record and returned by O(state=check) as RV(data).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Check whether the proxy already is as this run would leave it
  proxylab.webstack.converged:
    path: /var/lib/nginx-proxy/converged.json
    digest: "{{ inputs | to_json | hash('sha256') }}"
    watch: [/etc/nginx]
    exclude: [/etc/nginx/conf.d/nginx-proxy-upstream.conf]
    packages: [nginx]
    services: [nginx.service]
  register: converged
"""

RETURN = r"""
current:
  description: Whether the host is as the recorded run left it (O(state=check)).
  type: bool
  returned: always
reasons:
  description: Why the host is not current, one sentence each (O(state=check)).
  type: list
  elements: str
  returned: always
digest:
  description:
    - The digest of the record (O(state=check), current or not; empty without a record). When the
      host is current it is O(digest), so later steps can tell what was done under the same inputs.
  type: str
  returned: always
  version_added: 0.3.0
data:
  description: The O(data) of the record (O(state=check), current or not; empty without a record).
  type: dict
  returned: always
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.proxylab.webstack.plugins.module_utils.converged import check, read_record, snapshot


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "state": {"type": "str", "choices": ["check", "present", "absent"], "default": "check"},
            "digest": {"type": "str"},
            "watch": {"type": "list", "elements": "path", "default": []},
            "exclude": {"type": "list", "elements": "path", "default": []},
            "packages": {"type": "list", "elements": "str", "default": []},
            "services": {"type": "list", "elements": "str", "default": []},
            "commands": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "argv": {"type": "list", "elements": "str", "required": True},
                    "stdout": {"type": "str"},
                },
            },
            "data": {"type": "dict", "default": {}},
        },
        required_if=[("state", "check", ["digest"]), ("state", "present", ["digest"])],
        supports_check_mode=True,
    )
    path, state = module.params["path"], module.params["state"]
    recorded = read_record(path)

    if state == "absent":
        changed = os.path.lexists(path)
        if changed and not module.check_mode:
            os.unlink(path)
        module.exit_json(changed=changed, current=False, reasons=[], data={})

    if state == "present":
        record = {"digest": module.params["digest"], "data": module.params["data"],
                  **snapshot(module.params["watch"], module.params["exclude"], module.params["packages"])}
        changed = recorded != record
        if changed and not module.check_mode:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            temporary = f"{path}.tmp"
            with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
                json.dump(record, handle, indent=1, sort_keys=True)
            os.replace(temporary, path)
        module.exit_json(changed=changed, current=True, reasons=[], data=record["data"])

    module.exit_json(changed=False, **check(path, module.params["digest"], module.params["watch"],
                                            module.params["exclude"], module.params["packages"],
                                            module.params["services"], module.params["commands"]))


if __name__ == "__main__":
    main()
