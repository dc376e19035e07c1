# Copyright: proxylab.webstack maintainers
# MIT License (see galaxy.yml)
"""Filters of the proxy_ha role: the input checked once, in Python, with unit tests."""

from __future__ import annotations

import ipaddress
import re

_URL = re.compile(r"^https?://[^\s\"'\\]+$")
_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _whole(value, low, high):
    number = _number(value)
    return number is not None and number == int(number) and low <= number <= high


def proxy_ha_problems(settings):
    """Messages, each naming its variable, for what is wrong in the proxy_ha settings of one host.

    settings: host, group, addresses ({host: VRRP address} of every proxy of the group), vip,
    vip_prefix, interface, interface_address, interface_prefix, router_id, priority, advert_int,
    check_url, check_interval, check_timeout, check_fall, check_rise, script_user.
    """
    problems = []
    group, host = settings.get("group"), settings.get("host")
    addresses = settings.get("addresses") or {}

    if len(addresses) < 2:
        problems.append(
            f"proxy_ha_group: the group {group!r} has {len(addresses)} host(s); a floating address needs at least two proxies.")
    elif host not in addresses:
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
    if not interface or not settings.get("interface_address"):
        problems.append(f"proxy_ha_interface: {host} has no interface {interface!r} with an IPv4 address.")
    else:
        network = ipaddress.IPv4Interface(f"{settings['interface_address']}/{settings.get('interface_prefix') or 32}").network

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
    advert = _number(settings.get("advert_int"))
    if advert is None or not 0.01 <= advert <= 40.95 or round(advert * 100) != round(advert * 100, 6):
        problems.append(
            f"proxy_ha_advert_int: {settings.get('advert_int')!r} must be seconds from 0.01 to 40.95, in hundredths (VRRP 3).")
    for name in ("check_interval", "check_timeout", "check_fall", "check_rise"):
        if not _whole(settings.get(name), 1, 3600):
            problems.append(f"proxy_ha_{name}: {settings.get(name)!r} must be a whole number of at least 1.")
    if not _URL.match(str(settings.get("check_url") or "")):
        problems.append(f"proxy_ha_check_url: {settings.get('check_url')!r} must be an http(s) URL without spaces or quotes.")
    if not _USER.match(str(settings.get("script_user") or "")) or settings.get("script_user") == "root":
        problems.append(f"proxy_ha_script_user: {settings.get('script_user')!r} must be the name of an unprivileged user, not root.")
    return problems


class FilterModule:
    def filters(self):
        return {"proxy_ha_problems": proxy_ha_problems}
