#!/usr/bin/python
# Copyright: proxylab.webstack maintainers
# MIT License (see galaxy.yml), or at your choice GNU General Public License v3.0+ (see
# https://www.gnu.org/licenses/gpl-3.0.txt), the license of the ansible-core module API this uses
# SPDX-License-Identifier: MIT OR GPL-3.0-or-later
"""Module: what the node_app role reads on a host, in one round trip."""

from __future__ import annotations

DOCUMENTATION = r"""
module: node_app_host
author: proxylab.webstack maintainers (@proxylab)
version_added: "0.2.0"
short_description: Read what the node_app role checks and plans with, before it changes anything
description:
  - Reads, in one step and without changing anything, what the C(proxylab.webstack.node_app) role needs
    to check its input against the host and to plan the run; the role's tasks decide with it.
  - The app's directory and every directory above it; the app's user (its account, home, groups, what
    sudo allows it, whether node_app created it); the version of Node.js; the bookkeeping of the
    releases, the release directories and the link C(current); the local facts the role left.
  - What decides whether the live app must be switched (the ecosystem file in the user's home, the PM2
    unit as systemd runs it, with its file and its drop-ins, and the app's processes under it).
  - With O(converged), whether the host's set-up is as the last complete run left it, as
    M(proxylab.webstack.converged) checks it (the same code).
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
  facts_file:
    description: The local facts the role leaves for other plays.
    type: path
  releases_dir:
    description: The directory holding one directory per release.
    type: path
  current:
    description: The link to the live release.
    type: path
  ecosystem:
    description:
      - The app's PM2 ecosystem file, relative to the user's home (an absolute path is taken as it
        is). It is read without following a link and only when it is a regular file (the home
        belongs to the user).
    type: str
  pm2_unit:
    description:
      - The systemd unit that runs the user's PM2 daemon. Its state, its file and its drop-ins are read,
        and when it runs, the processes of O(app) among the daemon's children are counted.
    type: str
  app:
    description: The app's name under PM2; required with O(pm2_unit).
    type: str
  gather_subset:
    description:
      - Also gathers these subsets of facts, as M(ansible.builtin.setup) with the same O(gather_subset)
        (preceded by C(!all) and C(!min)) gathers them, with Ansible's own collectors, and returns them
        as RV(ansible_facts), which become the host's facts. One step then serves the role's checks and
        the plays that read the host's addresses or local facts, instead of one more round trip.
      - The network facts are those of a Linux host.
    type: list
    elements: str
    choices: [distribution, local, network, platform]
    default: []
  fact_path:
    description: Where the local facts are, as for M(ansible.builtin.setup), with C(local) in O(gather_subset).
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
      trees:
        description: Directories watched by the metadata of everything below them.
        type: list
        elements: str
        default: []
      packages:
        description: The watched packages.
        type: list
        elements: str
        default: []
      units:
        description: Units that must be active and enabled, without drop-ins of their own when owned.
        type: list
        elements: dict
        default: []
        suboptions:
          name:
            description: The unit.
            type: str
            required: true
          owned:
            description: Whether the role writes the unit (then drop-ins of its own are a difference).
            type: bool
            default: true
      nft_tables:
        description: nftables tables, as C(<family> <name>), that must be loaded as recorded.
        type: list
        elements: str
        default: []
      users:
        description: Users whose account and groups must be as recorded.
        type: list
        elements: str
        default: []
notes:
  - >-
    Counting the app's processes reads C(/proc), which costs a fraction of what starting C(pm2 jlist)
    costs (a Node.js process). A process counts when its parent is the daemon the unit runs (its
    C(MainPID)), it runs as O(user), and PM2 gave it its name and a process id (C(name=), C(pm_id=) in
    its environment, or in C(pm2_env=) in cluster mode): these are the processes PM2 lists as online.
"""

EXAMPLES = r"""
- name: Read what the checks and the plan need
  proxylab.webstack.node_app_host:
    paths: [/, /opt, /opt/app]
    user: app
    user_marker: /var/lib/node_app/users/app
    old_facts: /etc/ansible/facts.d/node_app.fact
    state_file: /var/lib/node_app/app/state.json
    facts_file: /etc/ansible/facts.d/node_app.fact
    releases_dir: /opt/app/releases
    current: /opt/app/current
    ecosystem: app.ecosystem.config.js
    pm2_unit: pm2-app.service
    app: app
  register: host
"""

RETURN = r"""
ansible_facts:
  description: The facts of O(gather_subset), named as M(ansible.builtin.setup) names them.
  type: dict
  returned: when O(gather_subset) is given
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
home:
  description: The user's home (empty without the user).
  type: str
  returned: always
group:
  description: The name of the user's primary group (empty without the user).
  type: str
  returned: always
groups:
  description: The names of the user's groups, separated by spaces (empty without the user).
  type: str
  returned: always
sudo:
  description: Exit status and output of C(sudo -n -l -U <user>) (without the user, C(rc) 1; without sudo, 127).
  type: dict
  returned: always
node_version:
  description: What C(node --version) prints, empty when Node.js is not installed.
  type: str
  returned: always
user_marker:
  description: Whether O(user_marker) exists.
  type: bool
  returned: when O(user_marker) is given
old_facts:
  description: The content of O(old_facts), or null.
  type: str
  returned: when O(old_facts) is given
state:
  description:
    - The bookkeeping of O(state_file) (C(release), C(previous_release), C(releases), C(failed_releases),
      C(info)), empty when there is none, with only the releases still in O(releases_dir) when it is given.
  type: dict
  returned: when O(state_file) is given
facts:
  description: The content of O(facts_file), or null.
  type: str
  returned: when O(facts_file) is given
releases_dir:
  description: O(releases_dir) itself, not through a link, described as each entry of RV(paths).
  type: dict
  returned: when O(releases_dir) is given
releases:
  description: The names of the directories in O(releases_dir) (not links, not hidden), sorted.
  type: list
  elements: str
  returned: when O(releases_dir) is given
release_dirs:
  description: Each directory of RV(releases), by name, described as each entry of RV(paths).
  type: dict
  returned: when O(releases_dir) is given
current:
  description: O(current), described as each entry of RV(paths), with C(target), where the link points (empty when it is no link).
  type: dict
  returned: when O(current) is given
ecosystem:
  description:
    - With O(ecosystem), for the file in the user's home, C(exists), C(regular) (a regular file, not
      a link), and for a regular file C(sha1) of its content, C(mode) (octal, as a string) and C(uid);
      null without the user.
  type: dict
  returned: when O(ecosystem) is given
pm2:
  description:
    - With O(pm2_unit), the unit as systemd runs it (C(active_state), C(unit_file_state),
      C(need_daemon_reload), C(main_pid)), C(drop_ins) (files in a C(<unit>.d) directory), C(fragment)
      (its unit file) and C(file) (that file, described as RV(ecosystem)), and C(online), the number of the
      app's processes under the daemon (0 when the unit does not run).
  type: dict
  returned: when O(pm2_unit) is given
converged:
  description:
    - With O(converged), C(current), C(reasons) (what differs), C(stale) (the keys of what differs),
      C(digest) and C(data) (the recorded digest and data), as M(proxylab.webstack.converged) returns them.
  type: dict
  returned: when O(converged) is given
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.facts import ansible_collector
from ansible.module_utils.facts.namespace import PrefixFactNamespace
from ansible.module_utils.facts.network.linux import LinuxNetworkCollector
from ansible.module_utils.facts.system.distribution import DistributionFactCollector
from ansible.module_utils.facts.system.local import LocalFactCollector
from ansible.module_utils.facts.system.platform import PlatformFactCollector
from ansible_collections.proxylab.webstack.plugins.module_utils.node_app_probe import ARGUMENT_SPEC, REQUIRED_BY, read_host


# setup's own collectors of the subsets this module offers. Only these are imported: importing all of
# them (ansible.module_utils.facts.default_collectors) costs each app server more than gathering these.
COLLECTORS = [DistributionFactCollector, LocalFactCollector, LinuxNetworkCollector, PlatformFactCollector]


def gathered_facts(module, subsets):
    """The facts of these subsets, gathered as the setup module gathers them."""
    collector = ansible_collector.get_ansible_collector(
        all_collector_classes=COLLECTORS,
        namespace=PrefixFactNamespace(namespace_name="ansible", prefix="ansible_"),
        filter_spec="*", gather_subset=["!all", "!min", *subsets], gather_timeout=10)
    return collector.collect(module=module)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, required_by=REQUIRED_BY, supports_check_mode=True)
    try:
        result = read_host(module.params)
    except (OSError, RuntimeError) as error:
        module.fail_json(msg=str(error))
    if module.params["gather_subset"]:
        result["ansible_facts"] = gathered_facts(module, module.params["gather_subset"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
