# Copyright: proxylab.webstack maintainers
# MIT License (see galaxy.yml)
"""Filters of the collection's playbooks."""

from __future__ import annotations


def webstack_hosts_to_switch(hosts, hostvars):
    """The hosts, in order, whose `prepare` of node_app found that `activate` would change the live app
    (node_app_activation_needed)."""
    return [host for host in hosts if (hostvars.get(host) or {}).get("node_app_activation_needed") is True]


class FilterModule:
    def filters(self):
        return {"webstack_hosts_to_switch": webstack_hosts_to_switch}
