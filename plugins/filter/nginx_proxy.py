"""The upstream data of nginx_proxy, worked out once.

`nginx_proxy_upstreams` turns the role's variables (sites, explicit backends, servers built from
the inventory group, defaults) into one normalised list of upstreams; the configuration
(upstreams.json, read by nginx-proxy-rotation), the preflight checks and the health checker all
read that list. `nginx_proxy_upstream_problems` lists what is wrong with it, each problem naming
the variable it comes from.
"""

import re

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$"
)
# nginx time values: a number with an optional unit (ms, s, m, h, d), as in 10s or 500ms.
_NGINX_TIME = re.compile(r"^[0-9]+(ms|s|m|h|d)?$")
# A hash key is nginx variables and text; ; { } or a quote would end or break the directive.
_HASH_KEY = re.compile(r"^[A-Za-z0-9_$:./@-]+$")
_NO_BACKUP_METHODS = ("ip_hash", "hash", "random")


def nginx_proxy_upstreams(sites, backends, group_backends, defaults):
    """One dict per site: name, domain, method, hash_key, keepalive settings and servers.

    sites: the role's sites (domain, aliases, lb_method, lb_hash_key, backends).
    backends: nginx_proxy_backends (explicit servers); group_backends: servers built from the
    inventory group (with inventory_host and health_path); defaults: lb_method, lb_hash_key,
    max_fails, fail_timeout, keepalive, keepalive_timeout, keepalive_requests, health_path, prefix,
    and single_site (True when the sites were made from nginx_proxy_domain).
    """
    shared = backends if backends else group_backends
    shared_origin = "nginx_proxy_backends" if backends else None
    upstreams = []
    for index, site in enumerate(sites):
        site_vars = "nginx_proxy_" if defaults.get("single_site") else f"nginx_proxy_sites[{index}]."
        own = site.get("backends")
        if own is not None:
            servers, origin = own, f"{site_vars}backends"
        else:
            servers, origin = shared, shared_origin
        method = site.get("lb_method") or defaults["lb_method"]
        upstreams.append({
            "name": f"{defaults['prefix']}{site['domain']}",
            "domain": site["domain"],
            "method": method,
            "method_var": f"{site_vars}lb_method" if site.get("lb_method") else "nginx_proxy_lb_method",
            "hash_key": site.get("lb_hash_key") or defaults["lb_hash_key"],
            "hash_key_var": f"{site_vars}lb_hash_key" if site.get("lb_hash_key") else "nginx_proxy_lb_hash_key",
            "servers_var": origin or f"nginx_proxy_backend_group ({defaults.get('group', 'app')})",
            "keepalive": int(defaults["keepalive"]),
            "keepalive_timeout": defaults["keepalive_timeout"],
            "keepalive_requests": int(defaults["keepalive_requests"]),
            "servers": [_server(server, i, origin, defaults) for i, server in enumerate(servers)],
        })
    return upstreams


def nginx_proxy_group_backends(hosts, health_path):
    """The servers of the backend group, from each host's variables (hostvars[host]), in order.

    The address is the host's nginx_proxy_backend_address, else its default IPv4 address; the port
    and health path are those node_app published there (ansible_local.node_app), else its
    node_app_port (3000 when unset) and health_path.
    """
    servers = []
    for host in hosts:
        published = (host.get("ansible_local") or {}).get("node_app") or {}
        if "nginx_proxy_backend_address" in host:
            address = host["nginx_proxy_backend_address"]
        else:
            address = ((host.get("ansible_facts") or {}).get("default_ipv4") or {}).get("address", "")
        port = published["port"] if "port" in published else host.get("node_app_port", 3000)
        servers.append({
            "host": address,
            "port": _int(port),
            "health_path": published["health_path"] if "health_path" in published else health_path,
            "inventory_host": host["inventory_hostname"],
        })
    return servers


def _server(server, index, origin, defaults):
    host, port = str(server.get("host", "")), server.get("port", 3000)
    if server.get("inventory_host"):
        where = f"Backend {server['inventory_host']} of nginx_proxy_backend_group ({defaults.get('group', 'app')})"
    else:
        where = f"{origin}[{index}] ({host}:{port})"
    normalised = {
        "address": f"{host}:{port}",
        "host": host,
        "port": _int(port),
        "weight": _int(server.get("weight", 1)),
        "max_fails": _int(defaults["max_fails"] if server.get("max_fails") is None else server["max_fails"]),
        "fail_timeout": str(server.get("fail_timeout") or defaults["fail_timeout"]),
        "backup": bool(server.get("backup", False)),
        "down": bool(server.get("down", False)),
        "health_path": server.get("health_path") or defaults["health_path"],
        "where": where,
    }
    if server.get("inventory_host"):
        normalised["inventory_host"] = server["inventory_host"]
    return normalised


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def nginx_proxy_upstream_problems(upstreams):
    """Every problem of the normalised upstreams, each naming the variable it comes from."""
    problems = []
    for upstream in upstreams:
        method = upstream["method"]
        if method == "hash":
            if not upstream["hash_key"]:
                problems.append(f"{upstream['hash_key_var']} must be set when the balancing method is hash "
                                '(for example "$request_uri").')
            elif not _HASH_KEY.match(upstream["hash_key"]):
                problems.append(f"{upstream['hash_key_var']}: {upstream['hash_key']!r} is not a hash key "
                                "(nginx variables and text only; no spaces, quotes, ; { or }).")
        if not upstream["servers"]:
            problems.append(f"{upstream['servers_var']}: the upstream of {upstream['domain']} has no server.")
        for server in upstream["servers"]:
            where = server["where"]
            if not _HOSTNAME.match(server["host"]):
                problems.append(f"{where}: the address {server['host']!r} is not an IPv4 address or RFC 1123 name "
                                "(set nginx_proxy_backend_address on a host without a default IPv4 address).")
            if not isinstance(server["port"], int) or not 1 <= server["port"] <= 65535:
                problems.append(f"{where}: the port (node_app_port for inventory hosts) is {server['port']}; "
                                "it must be 1-65535.")
            if not isinstance(server["weight"], int) or server["weight"] < 1:
                problems.append(f"{where}: the weight must be at least 1.")
            if not isinstance(server["max_fails"], int) or server["max_fails"] < 0:
                problems.append(f"{where}: max_fails must be 0 or more.")
            if not _NGINX_TIME.match(server["fail_timeout"]):
                problems.append(f"{where}: fail_timeout {server['fail_timeout']!r} is not an nginx time such as 10s.")
            if not str(server["health_path"]).startswith("/") or re.search(r"\s", str(server["health_path"])):
                problems.append(f"{where}: the health check path {server['health_path']!r} must start with / "
                                "and have no spaces.")
            if server["backup"] and method in _NO_BACKUP_METHODS:
                problems.append(f"{where}: backup is not allowed with the balancing method {method} "
                                f"({upstream['method_var']}).")
    return problems


def nginx_proxy_bad_times(mapping, keys=None):
    """The keys of mapping (only those in keys, when given) whose values are not nginx times."""
    return [
        key for key, value in mapping.items()
        if (keys is None or key in keys) and (isinstance(value, bool) or not _NGINX_TIME.match(str(value)))
    ]


class FilterModule:
    def filters(self):
        return {
            "nginx_proxy_upstreams": nginx_proxy_upstreams,
            "nginx_proxy_group_backends": nginx_proxy_group_backends,
            "nginx_proxy_upstream_problems": nginx_proxy_upstream_problems,
            "nginx_proxy_bad_times": nginx_proxy_bad_times,
        }
