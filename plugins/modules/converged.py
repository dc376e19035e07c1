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
  - After a complete run, O(state=present) writes a record on the host, readable by root only (mode
    C(0600), its directory created C(0700)), replaced in one step so that a reader never sees part of
    it. It holds the digest of the run's inputs (computed on the controller), O(data), and a snapshot
    of what the run left. The snapshot holds the watched paths of O(watch) (type, owner, group and
    mode of each; the SHA-1 of each file; the target of each link; every entry below a watched
    directory). It holds one digest per tree of O(trees) (made from metadata alone, no file is
    read), the installed versions of O(packages), one digest per nftables table of O(nft_tables) as
    loaded in the kernel, and the account and groups of each user of O(users).
  - O(state=check) changes nothing. The host is current when the record exists, its digest is
    O(digest), the snapshot taken now equals the recorded one, every unit of O(units) is as a role
    leaves it, and every command of O(commands) succeeds (with the expected output, when given).
  - A unit of O(units) is as a role leaves it when it is loaded and active, its unit file state is
    C(enabled), C(static) or C(alias) (so it comes back at boot), and its unit file has not changed
    since systemd loaded it (no daemon-reload pending). When the role owns it (O(units[].owned)),
    no drop-in of its own changes it either, loaded or not yet loaded, wherever the drop-in lies in
    systemd's unit search path (C(/etc), C(/run), C(/usr/lib) and so on). A drop-in of its own is a
    file in a directory named after the unit, one of its aliases or its template, plus C(.d).
    Drop-ins for every unit of a type (C(service.d)) or a name prefix (C(nginx-.service.d)) are not
    the role's to judge and are ignored.
  - C(indirect), C(enabled-runtime), C(linked), C(linked-runtime), C(generated), C(transient),
    C(masked) and C(disabled) are not accepted, as such a unit would not start at the next boot by
    itself, or not from the unit file the role wrote.
  - RV(reasons) says why the host is not current, one sentence each; RV(stale) names each thing that
    differs as a key (such as C(nft:inet node_app_app) or C(unit:nginx.service)). The roles of
    proxylab.webstack use it to skip every task of a re-run with nothing to do, and use RV(stale) to
    pick the repairs when something differs (for example, to load the firewall again when its table is
    not as the recorded run loaded it).
  - The check runs on every re-run of every host, so it stays cheap. It makes one C(systemctl show)
    call for all the units, one C(dpkg-query) call for all the packages and one C(nft) call per table;
    it reads each file of O(watch), and only the metadata (C(lstat)) of each entry of O(trees).
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
    description:
      - Paths whose snapshot is recorded and compared; a directory with everything below it. Each
        entry that differs is a stale key C(path:<the entry's path>).
    type: list
    elements: path
    default: []
  exclude:
    description:
      - Paths below the watched directories and trees left out of the snapshot (with everything below
        them), such as files a service rewrites; shell patterns (C(*), C(?), C([...])) match whole
        paths, C(*) across C(/) too. A watched path or tree itself is always in the snapshot.
    type: list
    elements: path
    default: []
  trees:
    description:
      - Large directories (an installed npm tree) watched by metadata alone, without reading any
        file. Every entry below is covered by its path relative to the tree, its type, owner, group
        and mode, with size and modification time for a file and the target for a link.
      - Each tree is recorded as one digest, so a difference says that the files below it changed,
        not which. A tree that does not exist is recorded as absent. Stale key C(tree:<path>).
    version_added: 0.3.0
    type: list
    elements: path
    default: []
  packages:
    description:
      - Debian packages whose installed version is recorded and compared (not installed counts as a
        difference). Stale key C(package:<name>).
    type: list
    elements: str
    default: []
  units:
    description:
      - systemd units that must be active and come back at boot as the role left them (checked live,
        not recorded; see the description). Stale key C(unit:<name>).
    version_added: 0.3.0
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The unit, such as C(nginx.service).
        type: str
        required: true
      owned:
        description:
          - Whether the role owns the unit. A drop-in that changes this unit alone (in C(<unit>.d)) was
            then not written by the role, and is a difference.
          - A role that writes a drop-in of its own for a unit lists the unit with C(false) and the
            drop-in in O(watch).
        type: bool
        default: true
  nft_tables:
    description:
      - nftables tables, each as C(<family> <name>) (C(inet node_app_app)). The SHA-256 of the table
        as C(nft -s list table) prints it is recorded and compared; C(-s) leaves out counters and
        quotas, which change with the traffic. A table that is not loaded, or a host without C(nft),
        counts as absent. Stale key C(nft:<family> <name>).
    version_added: 0.3.0
    type: list
    elements: str
    default: []
  users:
    description:
      - Users whose uid, gid, home, shell and supplementary groups (by name, sorted) are recorded and
        compared; a user that does not exist counts as absent. Stale key C(user:<name>).
    version_added: 0.3.0
    type: list
    elements: str
    default: []
  commands:
    description:
      - Commands that must exit 0 (checked live, not recorded). Stale key C(command:<argv joined by
        spaces>).
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
notes:
  - Run it as root (C(become)), as the files, trees and record it reads are root's.
"""

EXAMPLES = r"""
- name: Check whether the proxy already is as this run would leave it
  proxylab.webstack.converged:
    path: /var/lib/nginx-proxy/converged.json
    digest: "{{ inputs | to_json | hash('sha256') }}"
    watch: [/etc/nginx]
    exclude: [/etc/nginx/conf.d/nginx-proxy-upstream.conf]
    packages: [nginx]
    units:
      - name: nginx.service
      - name: nginx-proxy-health.service
  register: converged

- name: Load the app's firewall again when its table is not as the last complete run loaded it
  ansible.builtin.systemd_service:
    name: node-app-firewall-app.service
    state: restarted
  when: "'nft:inet node_app_app' in converged.stale"

- name: Record what the complete run left on the app server
  proxylab.webstack.converged:
    path: /var/lib/node_app/app/converged.json
    state: present
    digest: "{{ inputs | to_json | hash('sha256') }}"
    watch: [/etc/systemd/system/pm2-nodeapp.service]
    trees: [/usr/local/lib/node_modules]
    packages: [nodejs, npm, nftables]
    nft_tables: [inet node_app_app]
    users: [nodeapp]
    data:
      home: /home/nodeapp
"""

RETURN = r"""
current:
  description: Whether the host is as the recorded run left it (O(state=check)); C(true) after O(state=present).
  type: bool
  returned: always
reasons:
  description: Why the host is not current, one sentence each (O(state=check)).
  type: list
  elements: str
  returned: always
  sample: ["the files below /usr/local/lib/node_modules changed (owner, mode, size or time)"]
stale:
  description:
    - What is not current, as keys, each once, in the order of RV(reasons) (O(state=check)).
    - C(record) (no record), C(inputs) (another digest), C(path:<path>), C(tree:<path>),
      C(package:<name>), C(unit:<name>), C(nft:<family> <name>), C(user:<name>) and C(command:<argv
      joined by spaces>).
  type: list
  elements: str
  returned: always
  sample: ["inputs", "unit:nginx-proxy-health.service", "nft:inet node_app_app"]
  version_added: 0.3.0
digest:
  description:
    - The digest of the record (O(state=check), current or not; empty without a record). When the
      host is current it is O(digest), so later steps can tell what was done under the same inputs.
      O(digest) after O(state=present), empty after O(state=absent).
  type: str
  returned: always
  version_added: 0.3.0
data:
  description: The O(data) of the record (O(state=check), current or not; empty without a record).
  type: dict
  returned: always
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.proxylab.webstack.plugins.module_utils.converged import (
    check, input_problems, make_record, read_record, snapshot, write_record)


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "state": {"type": "str", "choices": ["check", "present", "absent"], "default": "check"},
            "digest": {"type": "str"},
            "watch": {"type": "list", "elements": "path", "default": []},
            "exclude": {"type": "list", "elements": "path", "default": []},
            "trees": {"type": "list", "elements": "path", "default": []},
            "packages": {"type": "list", "elements": "str", "default": []},
            "units": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "name": {"type": "str", "required": True},
                    "owned": {"type": "bool", "default": True},
                },
            },
            "nft_tables": {"type": "list", "elements": "str", "default": []},
            "users": {"type": "list", "elements": "str", "default": []},
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
    params = module.params
    path, state = params["path"], params["state"]
    problems = input_problems(params["units"], params["nft_tables"], params["users"])
    if problems:
        module.fail_json(msg="; ".join(problems))

    if state == "absent":
        changed = os.path.lexists(path)
        if changed and not module.check_mode:
            os.unlink(path)
        module.exit_json(changed=changed, current=False, reasons=[], stale=[], digest="", data={})

    if state == "present":
        snap = snapshot(params["watch"], params["exclude"], params["trees"], params["packages"], params["nft_tables"],
                        params["users"])
        if module.check_mode:
            changed = read_record(path) != make_record(params["digest"], params["data"], snap)
        else:
            changed = write_record(path, params["digest"], params["data"], snap)
        module.exit_json(changed=changed, current=True, reasons=[], stale=[], digest=params["digest"],
                         data=params["data"])

    module.exit_json(changed=False, **check(
        path, params["digest"], watch=params["watch"], exclude=params["exclude"], trees=params["trees"],
        packages=params["packages"], units=params["units"], nft_tables=params["nft_tables"], users=params["users"],
        commands=params["commands"]))


if __name__ == "__main__":
    main()
