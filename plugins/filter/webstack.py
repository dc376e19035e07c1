# Copyright: proxylab.webstack maintainers
# MIT License (see galaxy.yml)
"""Filters of the collection's playbooks."""

from __future__ import annotations


def webstack_hosts_to_switch(hosts, hostvars):
    """The hosts, in order, whose `prepare` of node_app found that `activate` would change the live app
    (node_app_activation_needed)."""
    return [host for host in hosts if (hostvars.get(host) or {}).get("node_app_activation_needed") is True]


def webstack_switch_serial(hosts, hostvars, serial=None):
    """How many app servers switch at a time (the switch play's serial): webstack_app_serial when it is set;
    otherwise all of them when none of the hosts has a live release yet (node_app's plan, from prepare),
    as on a first deploy, where no site is serving that a rolling switch would protect; otherwise 1."""
    if serial not in (None, ""):
        return serial
    plans = [(hostvars.get(host) or {}).get("_node_app_plan") for host in hosts]
    if plans and all(isinstance(plan, dict) and not plan.get("live") for plan in plans):
        return "100%"
    return 1


def webstack_app_endpoints(hosts, health_path="/"):
    """Where each app server answers now, as nginx-proxy-rotation move takes it
    (HOST=ADDRESS:PORT/HEALTH_PATH), from its variables (hostvars[host]): its nginx_proxy_backend_address,
    else its default IPv4 address, and the port and health path node_app published there
    (ansible_local.node_app). A host that published none (no app deployed yet) is left out."""
    endpoints = []
    for host in hosts:
        published = (host.get("ansible_local") or {}).get("node_app") or {}
        if "port" not in published:
            continue
        if "nginx_proxy_backend_address" in host:
            address = host["nginx_proxy_backend_address"]
        else:
            address = ((host.get("ansible_facts") or {}).get("default_ipv4") or {}).get("address", "")
        if not address:
            continue
        path = published.get("health_path") or health_path
        endpoints.append(f"{host['inventory_hostname']}={address}:{published['port']}{path}")
    return endpoints


def webstack_unreachable_reason(result, task):
    """Why a switched app server goes back, in one line, from the failed task's result."""
    result = result or {}
    failed = [item for item in result.get("results") or [] if item.get("failed")]
    if not failed:
        return f"{task}: {str(result.get('msg') or '').strip()}"
    parts = []
    for item in failed:
        said = " ".join(str(item.get(key) or "").strip() for key in ("stderr", "stdout", "msg")).strip()
        parts.append(f"{item.get('item')}: {said[-300:]}")
    return f"{task}: " + "; ".join(parts)


class FilterModule:
    def filters(self):
        return {"webstack_hosts_to_switch": webstack_hosts_to_switch, "webstack_switch_serial": webstack_switch_serial,
                "webstack_app_endpoints": webstack_app_endpoints,
                "webstack_unreachable_reason": webstack_unreachable_reason}
