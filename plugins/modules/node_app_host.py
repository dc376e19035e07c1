#!/usr/bin/python
# Copyright: proxylab.webstack maintainers
# MIT License (see galaxy.yml), or at your choice GNU General Public License v3.0+ (see
# https://www.gnu.org/licenses/gpl-3.0.txt), the license of the ansible-core module API this uses
# SPDX-License-Identifier: MIT OR GPL-3.0-or-later
"""Module: what the node_app role's checks read on a host, in one round trip."""

from __future__ import annotations

DOCUMENTATION = r"""
module: node_app_host
author: proxylab.webstack maintainers (@proxylab)
version_added: "0.2.0"
short_description: Read what the node_app role checks on a host before it changes anything
description:
  - Reads, in one step and without changing anything, what the checks of the C(proxylab.webstack.node_app)
    role need; the role's tasks decide with it.
  - The app's directory and every directory above it; the app's user (its account, groups, what sudo
    allows it, whether node_app created it); the bookkeeping of the releases and the release
    directories on disk.
  - What decides whether the live app would change (the ecosystem file in the user's home, the
    state of the PM2 unit, the app's processes under it), the distribution, and, when asked, the
    facts that a proxy's play reads of an app server, in the same step.
  - Each part is read only when its options are given.
options:
  paths:
    description:
      - The directories above the app's directory, outermost first, then the app's directory. The
        directories above are looked at through links; the app's directory itself is not.
    type: list
    elements: path
    default: []
  user:
    description: The app's user.
    type: str
    required: true
  user_marker:
    description: The record node_app leaves when it created the user.
    type: path
  old_facts:
    description: The local facts of an earlier version of node_app, which name the user it created.
    type: path
  state_file:
    description: The bookkeeping of the releases.
    type: path
  releases_dir:
    description: The directory holding one directory per release.
    type: path
  ecosystem:
    description:
      - The app's PM2 ecosystem file, relative to the user's home (an absolute path is taken as it
        is). It is read without following a link and only when it is a regular file (the home
        belongs to the user).
    type: str
  pm2_unit:
    description:
      - The systemd unit that runs the user's PM2 daemon. Its state is read, and when it runs, the
        processes of O(app) among the daemon's children are counted.
    type: str
  app:
    description: The app's name under PM2; required with O(pm2_unit).
    type: str
  gather_facts:
    description:
      - Also return, as facts, what the proxy's play reads of an app server, gathered as
        M(ansible.builtin.setup) gathers it but without loading its collectors, which cost more than
        everything else here together.
      - C(ansible_local), the local facts in O(fact_path) (executable ones are run; JSON, else INI).
      - C(ansible_default_ipv4), with C(address), C(interface) and C(gateway) of the route to the
        outside (C(ip -4 route get 8.8.8.8), as setup asks).
    type: bool
    default: false
  fact_path:
    description: Where the local facts are read from, as for M(ansible.builtin.setup).
    type: path
    default: /etc/ansible/facts.d
  converged:
    description:
      - When given, also checks, as M(proxylab.webstack.converged) with O(proxylab.webstack.converged#module:state=check)
        does, whether the host is as the recorded set-up left it. A leading C(~) in O(converged.watch)
        and O(converged.exclude) stands for the user's home; without the user, the host is not current.
    type: dict
    suboptions:
      path:
        description: The record.
        type: path
        required: true
      digest:
        description: The digest of this run's inputs.
        type: str
        required: true
      watch:
        description: The watched paths.
        type: list
        elements: str
        default: []
      exclude:
        description: Patterns of paths below the watched ones to leave out.
        type: list
        elements: str
        default: []
      packages:
        description: The watched packages.
        type: list
        elements: str
        default: []
      services:
        description: Units that must be active and enabled.
        type: list
        elements: str
        default: []
notes:
  - >-
    When the host's Python is known (C(ansible_python_interpreter), or found by an earlier task of
    the run) and the connection pipelines, the action plugin of the same name sends the module's
    code to it as a plain script (C(python3 -I -S -)), without a module's start-up (Ansible's wrapper
    and the import of C(ansible.module_utils.basic)); otherwise, or with C(delegate_to), the module
    runs as any module does, and Ansible finds the host's Python first. Both return the same.
  - >-
    Counting the app's processes reads C(/proc), which costs a fraction of what starting C(pm2 jlist)
    costs (a Node.js process). A process counts when its parent is the daemon the unit runs (its
    C(MainPID)), it runs as O(user), and PM2 gave it its name and a process id (C(name=), C(pm_id=) in
    its environment, or in C(pm2_env=) in cluster mode): these are the processes PM2 lists as online.
"""

EXAMPLES = r"""
- name: Read what the checks need
  proxylab.webstack.node_app_host:
    paths: [/, /opt, /opt/app]
    user: app
    user_marker: /var/lib/node_app/users/app
    old_facts: /etc/ansible/facts.d/node_app.fact
    state_file: /var/lib/node_app/app/state.json
    releases_dir: /opt/app/releases
    ecosystem: app.ecosystem.config.js
    pm2_unit: pm2-app.service
    app: app
    gather_facts: true
  register: host
"""

RETURN = r"""
paths:
  description:
    - One entry per path of O(paths), in order, with C(path) and C(exists), and for an existing one
      C(isdir), C(islnk), C(uid), C(gid), C(pw_name), C(dev), C(mode) (octal, as a string), C(wgrp), C(woth).
  type: list
  elements: dict
  returned: always
user:
  description:
    - The user's account as C(ansible.builtin.getent) gives it (password, uid, gid, comment, home,
      shell), or null when there is no such user.
  type: list
  elements: str
  returned: always
groups:
  description: The names of the user's groups, separated by spaces (empty without the user).
  type: str
  returned: always
sudo:
  description: Exit status and output of C(sudo -n -l -U <user>) (without the user, C(rc) 1; without sudo, 127).
  type: dict
  returned: always
user_marker:
  description: Whether O(user_marker) exists.
  type: bool
  returned: always
old_facts:
  description: The content of O(old_facts), or null.
  type: str
  returned: always
state:
  description: The content of O(state_file), or null.
  type: str
  returned: always
releases_dir:
  description: O(releases_dir) itself, not through a link, described as each entry of RV(paths).
  type: dict
  returned: always
releases:
  description: The names of the directories in O(releases_dir) (not links, not hidden), sorted.
  type: list
  elements: str
  returned: always
ecosystem:
  description:
    - With O(ecosystem), for the file in the user's home, C(exists), C(regular) (a regular file, not
      a link), and for a regular file C(sha1) of its content and C(mode) (octal, as a string); null
      without the user.
  type: dict
  returned: when O(ecosystem) is given
pm2:
  description:
    - With O(pm2_unit), C(active_state) of the unit (as systemctl shows it), C(main_pid), and C(online),
      the number of the app's processes under the daemon (0 when the unit does not run).
  type: dict
  returned: when O(pm2_unit) is given
converged:
  description:
    - With O(converged), C(current), C(reasons) (what differs), C(digest) and C(data) (the recorded
      digest and data), as M(proxylab.webstack.converged) returns them.
  type: dict
  returned: when O(converged) is given
distribution:
  description: The distribution's name, as the C(ansible_distribution) fact gives it (C(Debian)).
  type: str
  returned: always
os_family:
  description: C(Debian) for a distribution of the Debian family (its own id or C(ID_LIKE)), else RV(distribution).
  type: str
  returned: always
ansible_facts:
  description: With O(gather_facts), C(ansible_local) and C(ansible_default_ipv4), as described there.
  type: dict
  returned: when O(gather_facts) is true
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.proxylab.webstack.plugins.module_utils.node_app_probe import ARGUMENT_SPEC, REQUIRED_BY, read_host


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, required_by=REQUIRED_BY, supports_check_mode=True)
    try:
        result = read_host(module.params)
    except (OSError, RuntimeError) as error:
        module.fail_json(msg=str(error))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
