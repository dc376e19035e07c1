# Copyright: proxylab.webstack maintainers
# MIT License (see galaxy.yml)
"""Filters of the proxy_ha role: the input checked once, in Python, with unit tests."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Hashable, Mapping

from ansible_collections.proxylab.webstack.plugins.plugin_utils.input_check import number

_URL = re.compile(r"^https?://[^\s\"'\\]+$")
_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


def _whole(value, low, high):
    parsed = number(value)
    return parsed is not None and parsed == int(parsed) and low <= parsed <= high


def proxy_ha_problems(settings):
    """Messages, each naming its variable, for what is wrong in the proxy_ha settings of one host.

    settings: host, group, addresses ({host: VRRP address} of every proxy of the group), vip,
    vip_prefix, interface, interface_address, interface_prefix, router_id, priority, advert_int,
    check_url, check_interval, check_timeout, check_fall, check_rise, script_user.
    Never raises, whatever the types: a value of the wrong type is a problem like any other.
    """
    if not isinstance(settings, Mapping):
        return [f"proxy_ha: the settings to check must be a dict, got {settings!r}."]
    problems = []
    group, host = settings.get("group"), settings.get("host")
    addresses = settings.get("addresses") or {}
    if not isinstance(addresses, Mapping):
        problems.append(f"proxy_ha_address: the VRRP addresses of the group {group!r} must be a dict of host and address, "
                        f"got {addresses!r}.")
        addresses = {}

    if not isinstance(group, str) or not group:
        problems.append(f"proxy_ha_group: {group!r} must be the name of an inventory group.")
    if len(addresses) < 2:
        problems.append(
            f"proxy_ha_group: the group {group!r} has {len(addresses)} host(s); a floating address needs at least two proxies.")
    elif not isinstance(host, Hashable) or host not in addresses:
        problems.append(f"proxy_ha_group: {host} is not in the group {group!r}, whose proxies share the address.")
    for peer, address in addresses.items():
        try:
            ipaddress.IPv4Address(str(address))
        except ValueError:
            problems.append(
                f"proxy_ha_address: the VRRP address of {peer} is unknown or not IPv4 ({address!r}); set proxy_ha_address "
                "or proxy_ha_interface for it.")

    interface = settings.get("interface") or ""
    network = None
    if not isinstance(interface, str):
        problems.append(f"proxy_ha_interface: {interface!r} must be the name of a network interface.")
    elif interface and settings.get("interface_address"):
        try:
            network = ipaddress.IPv4Interface(f"{settings['interface_address']}/{settings.get('interface_prefix') or 32}").network
        except ValueError:
            pass  # named below, as an interface without an IPv4 address
    if isinstance(interface, str) and network is None:
        problems.append(f"proxy_ha_interface: {host} has no interface {interface!r} with an IPv4 address.")

    vip = None
    try:
        vip = ipaddress.IPv4Address(str(settings.get("vip") or ""))
    except ValueError:
        problems.append(f"proxy_ha_vip: {settings.get('vip')!r} is not an IPv4 address (the floating address is required).")
    if vip is not None:
        owners = sorted(peer for peer, address in addresses.items() if str(address) == str(vip))
        if vip.is_loopback or vip.is_multicast or vip.is_unspecified or vip.is_link_local:
            problems.append(f"proxy_ha_vip: {vip} is a loopback, multicast, link-local or unspecified address.")
        elif owners:
            problems.append(f"proxy_ha_vip: {vip} is the address of {', '.join(owners)}; it must be one no host has.")
        elif network is not None and (vip not in network or vip in (network.network_address, network.broadcast_address)):
            problems.append(
                f"proxy_ha_vip: {vip} is not a host address of {network}, the network of {interface} on {host}: clients "
                "there could not reach it.")

    if not _whole(settings.get("vip_prefix"), 0, 32):
        problems.append(f"proxy_ha_vip_prefix: {settings.get('vip_prefix')!r} must be 0 (the interface's) or 1-32.")
    if not _whole(settings.get("router_id"), 1, 255):
        problems.append(f"proxy_ha_router_id: {settings.get('router_id')!r} must be a whole number from 1 to 255.")
    if not _whole(settings.get("priority"), 0, 254):
        problems.append(f"proxy_ha_priority: {settings.get('priority')!r} must be 0 (from the inventory order) or 1-254.")
    advert = number(settings.get("advert_int"))
    if advert is None or not 0.01 <= advert <= 40.95 or round(advert * 100) != round(advert * 100, 6):
        problems.append(
            f"proxy_ha_advert_int: {settings.get('advert_int')!r} must be seconds from 0.01 to 40.95, in hundredths (VRRP 3).")
    for name in ("check_interval", "check_timeout", "check_fall", "check_rise"):
        if not _whole(settings.get(name), 1, 3600):
            problems.append(f"proxy_ha_{name}: {settings.get(name)!r} must be a whole number of at least 1.")
    check_url, script_user = settings.get("check_url"), settings.get("script_user")
    if not isinstance(check_url, str) or not _URL.match(check_url):
        problems.append(f"proxy_ha_check_url: {settings.get('check_url')!r} must be an http(s) URL without spaces or quotes.")
    if not isinstance(script_user, str) or not _USER.match(script_user) or script_user == "root":
        problems.append(f"proxy_ha_script_user: {settings.get('script_user')!r} must be the name of an unprivileged user, not root.")
    return problems


class FilterModule:
    def filters(self):
        return {"proxy_ha_problems": proxy_ha_problems}
