"""The input of nginx_proxy, checked once, and its upstream data, worked out once.

`nginx_proxy_problems` lists every problem of the role's variables, each naming its variable; the
preflight fails once with all of them. `nginx_proxy_upstreams` turns the role's variables (sites,
explicit backends, servers built from the inventory group, defaults) into one normalised list of
upstreams; the configuration (upstreams.json, read by nginx-proxy-rotation), the checks and the
health checker all read that list. `nginx_proxy_upstream_problems` lists what is wrong with it, each
problem naming the variable it comes from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ansible_collections.proxylab.webstack.plugins.plugin_utils.input_check import check_types, option, show

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$"
)
# nginx time values: a number with an optional unit (ms, s, m, h, d), as in 10s or 500ms.
_NGINX_TIME = re.compile(r"^[0-9]+(ms|s|m|h|d)?\Z")
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
    return _upstream_problems(upstreams)


def _upstream_problems(upstreams, shared_empty_named=False):
    """The problems of nginx_proxy_upstream_problems; with shared_empty_named, an upstream with no
    server of its own is left to the message that already says that the shared servers are empty."""
    problems = []
    for upstream in upstreams:
        method = upstream["method"]
        if method == "hash":
            if not upstream["hash_key"]:
                problems.append(f"{upstream['hash_key_var']} must be set when the balancing method is hash "
                                '(for example "$request_uri").')
            elif not _HASH_KEY.match(str(upstream["hash_key"])):
                problems.append(f"{upstream['hash_key_var']}: {upstream['hash_key']!r} is not a hash key "
                                "(nginx variables and text only; no spaces, quotes, ; { or }).")
        if not upstream["servers"] and not (shared_empty_named and not upstream["servers_var"].endswith(".backends")):
            problems.append(f"{upstream['servers_var']}: the upstream of {upstream['domain']} has no server.")
        for server in upstream["servers"]:
            where = server["where"]
            if not _HOSTNAME.match(server["host"]):
                problems.append(f"{where}: the address {server['host']!r} is not an IPv4 address or RFC 1123 name "
                                "(set nginx_proxy_backend_address on a host without a default IPv4 address).")
            if not _is_int(server["port"]) or not 1 <= server["port"] <= 65535:
                problems.append(f"{where}: the port (node_app_port for inventory hosts) is {server['port']}; "
                                "it must be 1-65535.")
            if not _is_int(server["weight"]) or server["weight"] < 1:
                problems.append(f"{where}: the weight must be at least 1.")
            if not _is_int(server["max_fails"]) or server["max_fails"] < 0:
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


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def nginx_proxy_bad_times(mapping, keys=None):
    """The keys of mapping (only those in keys, when given) whose values are not nginx times."""
    return [
        key for key, value in mapping.items()
        if (keys is None or key in keys) and (isinstance(value, bool) or not _NGINX_TIME.match(str(value)))
    ]


# The variables of the role as it reads them (meta/argument_specs.yml says the same types; a unit
# test compares the two). lenient: the role reads a number written as a string, 'yes' for true, or
# a number for a string its templates render the same; the others go into templates, `when:` or
# `| length` as they are, where only the declared type works.
_BACKEND = {
    "host": option("str", required=True),
    "port": option("int", lenient=True),
    "weight": option("int", lenient=True),
    "max_fails": option("int", lenient=True),
    "fail_timeout": option("str", lenient=True),
    "backup": option("bool"),
    "down": option("bool"),
    "health_path": option("str"),
}
_METHODS = ["round_robin", "least_conn", "ip_hash", "hash", "random"]
_SITE = {
    "domain": option("str", required=True),
    "aliases": option("list", "str"),
    "lb_method": option("str", choices=_METHODS),
    "lb_hash_key": option("str"),
    "connect_timeout": option("str", lenient=True),
    "send_timeout": option("str", lenient=True),
    "read_timeout": option("str", lenient=True),
    "next_upstream_tries": option("int", lenient=True),
    "next_upstream_timeout": option("str", lenient=True),
    "long_lived_paths": option("list", "str"),
    "long_lived_timeout": option("str", lenient=True),
    "backends": option("list", "dict", options=_BACKEND),
}
OPTIONS = {
    "nginx_proxy_domain": option("str"),
    "nginx_proxy_domain_aliases": option("list", "str"),
    "nginx_proxy_sites": option("list", "dict", options=_SITE),
    "nginx_proxy_backend_group": option("str"),
    "nginx_proxy_backends": option("list", "dict", options=_BACKEND),
    "nginx_proxy_lb_method": option("str", choices=_METHODS),
    "nginx_proxy_lb_hash_key": option("str"),
    "nginx_proxy_max_fails": option("int", lenient=True),
    "nginx_proxy_fail_timeout": option("str", lenient=True),
    "nginx_proxy_connect_timeout": option("str", lenient=True),
    "nginx_proxy_send_timeout": option("str", lenient=True),
    "nginx_proxy_read_timeout": option("str", lenient=True),
    "nginx_proxy_next_upstream_tries": option("int", lenient=True),
    "nginx_proxy_next_upstream_timeout": option("str", lenient=True),
    "nginx_proxy_long_lived_paths": option("list", "str"),
    "nginx_proxy_long_lived_timeout": option("str", lenient=True),
    "nginx_proxy_upstream_keepalive": option("int", lenient=True),
    "nginx_proxy_access_log_buffer": option("str"),
    "nginx_proxy_access_log_flush": option("str", lenient=True),
    "nginx_proxy_upstream_keepalive_timeout": option("str", lenient=True),
    "nginx_proxy_upstream_keepalive_requests": option("int", lenient=True),
    "nginx_proxy_health_checks": option("bool", lenient=True),
    "nginx_proxy_health_check_interval": option("float", lenient=True),
    "nginx_proxy_health_check_timeout": option("float", lenient=True),
    "nginx_proxy_health_check_fall": option("int", lenient=True),
    "nginx_proxy_health_check_rise": option("int", lenient=True),
    "nginx_proxy_health_check_path": option("str"),
    "nginx_proxy_asset_compress_once": option("bool"),
    "nginx_proxy_local_health_path": option("str"),
    "nginx_proxy_catch_all": option("bool"),
    "nginx_proxy_trusted_proxies": option("list", "str"),
    "nginx_proxy_client_max_body_size": option("str", lenient=True),
    "nginx_proxy_referrer_policy": option("str", choices=[
        "no-referrer", "no-referrer-when-downgrade", "origin", "origin-when-cross-origin", "same-origin",
        "strict-origin", "strict-origin-when-cross-origin", "unsafe-url"]),
    "nginx_proxy_http_extra_directives": option("list", "str"),
    "nginx_proxy_server_extra_directives": option("list", "str"),
    "nginx_proxy_location_extra_directives": option("list", "str"),
    "nginx_proxy_debug_headers": option("bool"),
    "nginx_proxy_asset_cache": option("bool"),
    "nginx_proxy_asset_cache_pattern": option("str"),
    "nginx_proxy_asset_cache_max_size": option("str", lenient=True),
    "nginx_proxy_asset_cache_inactive": option("str", lenient=True),
    "nginx_proxy_asset_max_age": option("int", lenient=True),
    "nginx_proxy_tls": option("str", choices=["off", "self_signed", "provided"]),
    "nginx_proxy_tls_cert_src": option("path"),
    "nginx_proxy_tls_key_src": option("path"),
    "nginx_proxy_tls_self_signed_days": option("int", lenient=True),
    "nginx_proxy_tls_self_signed_renew_days": option("int", lenient=True),
    "nginx_proxy_tls_hsts": option("bool"),
    "nginx_proxy_tls_hsts_max_age": option("int", lenient=True),
    "nginx_proxy_gzip": option("bool"),
    "nginx_proxy_gzip_comp_level": option("int", lenient=True),
    "nginx_proxy_gzip_types": option("list", "str"),
    # nginx.conf.j2 doubles it for worker_rlimit_nofile: a string would be repeated, not doubled.
    "nginx_proxy_worker_connections": option("int"),
    "nginx_proxy_worker_processes": option("str", lenient=True),
    "nginx_proxy_quick_rerun": option("bool", lenient=True),
}
# The timeouts a site may set for itself (each defaults to nginx_proxy_<the same name>), and every global time.
_SITE_TIMEOUTS = ("connect_timeout", "send_timeout", "read_timeout", "next_upstream_timeout", "long_lived_timeout")
_GLOBAL_TIMES = ("nginx_proxy_fail_timeout", "nginx_proxy_connect_timeout", "nginx_proxy_send_timeout",
                 "nginx_proxy_read_timeout", "nginx_proxy_next_upstream_timeout", "nginx_proxy_long_lived_timeout",
                 "nginx_proxy_upstream_keepalive_timeout")
_SIZE = re.compile(r"^[0-9]+[kKmMgG]?\Z")
_LOG_BUFFER = re.compile(r"^([1-9][0-9]*[kKmM]?)?\Z")
# An IPv4 or IPv6 address, optionally with a /prefix (nginx_proxy_trusted_proxies).
_ADDRESS = re.compile(r"^(([0-9]{1,3}\.){3}[0-9]{1,3}(/[0-9]{1,2})?|[0-9a-fA-F:]*:[0-9a-fA-F:.]*(/[0-9]{1,3})?)\Z")
# One directive (or the end of a block) on one line: a second line could open a server of its own.
_DIRECTIVE = re.compile(r"^[^\n]*[;}]\s*\Z")
_HEADER_DIRECTIVE = re.compile(r"^\s*(add_header|proxy_set_header)\s")
_WORKERS = re.compile(r"^(auto|[1-9][0-9]*)\Z")
_URI_PATH = re.compile(r"^/[^\s;{}]*\Z")
_MIME_TYPE = re.compile(r"^[A-Za-z0-9.+*-]+/[A-Za-z0-9.+*-]+\Z")
_NAME_RULE = ("is not a host name per RFC 1123 (letters, digits and hyphens, in dot-separated labels of at most "
              "63 characters).")


def _is_time(value):
    return not isinstance(value, bool) and bool(_NGINX_TIME.match(str(value)))


def _bad_names(where, names):
    bad = [name for name in names if not _HOSTNAME.match(str(name))]
    if not bad:
        return []
    return [f"{where}: {', '.join(show(name) for name in bad)} {_NAME_RULE}"]


def nginx_proxy_problems(settings):
    """Messages, each naming its variable, for everything wrong in the input of nginx_proxy.

    settings: every nginx_proxy_* variable by its full name, and group_backends, the servers built
    from the inventory group (nginx_proxy_group_backends). Never raises, whatever the types: a value
    of the wrong type is named as such, and the rules that read it wait until it is right.
    """
    settings = dict(settings) if isinstance(settings, Mapping) else settings
    if isinstance(settings, dict) and (settings.get("nginx_proxy_tls") is False or settings.get("nginx_proxy_tls") == "False"):
        settings["nginx_proxy_tls"] = "off"  # an unquoted YAML off, as vars/main.yml reads it
    problems, v = check_types(settings, OPTIONS)

    problems += _name_problems(v)
    problems += _tls_problems(v)
    problems += _edge_problems(v)
    problems += _balancing_problems(v)
    problems += _worker_problems(v)
    problems += _site_problems(v)
    if v.get("nginx_proxy_asset_cache"):
        problems += _asset_cache_problems(v)
    problems += _health_problems(v)
    problems += _local_server_problems(v)
    problems += _upstream_input_problems(settings, v)
    # A value shared by several sites is named once.
    return list(dict.fromkeys(problems))


def _local_server_problems(v):
    """The path of nginx's own health answer."""
    if "nginx_proxy_local_health_path" in v and not _URI_PATH.match(v["nginx_proxy_local_health_path"]):
        return ["nginx_proxy_local_health_path must be a path starting with / without spaces, ; or braces, "
                f"got {show(v['nginx_proxy_local_health_path'])}."]
    return []


def _sites(v):
    """The vhosts as the role makes them: nginx_proxy_sites, or one from nginx_proxy_domain."""
    if v["nginx_proxy_sites"]:
        return v["nginx_proxy_sites"]
    return [{"domain": v["nginx_proxy_domain"], "aliases": v["nginx_proxy_domain_aliases"]}]


def _name_problems(v):
    problems = []
    for name in ("nginx_proxy_domain", "nginx_proxy_domain_aliases"):
        if name in v:
            problems += _bad_names(name, v[name] if isinstance(v[name], list) else [v[name]])
    if "nginx_proxy_sites" in v:
        for index, site in enumerate(v["nginx_proxy_sites"]):
            problems += _bad_names(f"nginx_proxy_sites[{index}].domain", [site["domain"]])
            problems += _bad_names(f"nginx_proxy_sites[{index}].aliases", site.get("aliases", []))
    if all(name in v for name in ("nginx_proxy_sites", "nginx_proxy_domain", "nginx_proxy_domain_aliases")):
        names = [site["domain"] for site in _sites(v)] + [alias for site in _sites(v) for alias in site.get("aliases", [])]
        seen, twice = set(), []
        for name in names:
            key = str(name).lower()  # nginx compares server names without case
            if key in seen and name not in twice:
                twice.append(name)
            seen.add(key)
        if twice:
            where = "nginx_proxy_sites" if v["nginx_proxy_sites"] else "nginx_proxy_domain_aliases"
            problems.append(f"{where}: a server name appears more than once: {', '.join(map(str, twice))} "
                            "(each name belongs to one site).")
    return problems


def _tls_problems(v):
    problems = []
    if v.get("nginx_proxy_tls") == "provided":
        for name, what in (("nginx_proxy_tls_cert_src", "certificate"), ("nginx_proxy_tls_key_src", "private key")):
            if name in v and not v[name]:
                problems.append(f"{name} must name the {what} file on the controller, as nginx_proxy_tls is provided.")
    days = v.get("nginx_proxy_tls_self_signed_days")
    if days is not None and not 2 <= days <= 365:
        problems.append(f"nginx_proxy_tls_self_signed_days must be 2-365, got {days}.")
    renew = v.get("nginx_proxy_tls_self_signed_renew_days")
    if renew is not None and (renew < 1 or (days is not None and 2 <= days <= 365 and renew >= days)):
        problems.append("nginx_proxy_tls_self_signed_renew_days must be 1 to less than nginx_proxy_tls_self_signed_days"
                        f" ({days}), got {renew}.")
    if v.get("nginx_proxy_tls_hsts") and v.get("nginx_proxy_tls") == "self_signed":
        problems.append("nginx_proxy_tls_hsts cannot be on with nginx_proxy_tls: self_signed: browsers would refuse the "
                        "site for nginx_proxy_tls_hsts_max_age seconds, with no way past the certificate warning.")
    if v.get("nginx_proxy_tls_hsts_max_age", 0) < 0:
        problems.append(f"nginx_proxy_tls_hsts_max_age must be 0 or more seconds, got {v['nginx_proxy_tls_hsts_max_age']}.")
    return problems


def _edge_problems(v):
    problems = []
    size = v.get("nginx_proxy_client_max_body_size")
    if size is not None and not _SIZE.match(size):
        problems.append(f"nginx_proxy_client_max_body_size must be a size such as 1m or 512k, got {show(size)}.")
    for index, address in enumerate(v.get("nginx_proxy_trusted_proxies", [])):
        if not _ADDRESS.match(address):
            problems.append(f"nginx_proxy_trusted_proxies[{index}] must be an address or CIDR range such as 10.0.0.0/24, "
                            f"got {show(address)}.")
    for level in ("http", "server", "location"):
        name = f"nginx_proxy_{level}_extra_directives"
        for index, directive in enumerate(v.get(name, [])):
            if not _DIRECTIVE.match(directive):
                problems.append(f"{name}[{index}] must be one line ending with ; or }}, got {show(directive)}.")
            elif level == "server" and _HEADER_DIRECTIVE.match(directive):
                problems.append(f"{name}[{index}]: add_header and proxy_set_header belong in "
                                "nginx_proxy_location_extra_directives, not nginx_proxy_server_extra_directives (every "
                                "location sets its own, which would hide them).")
    return problems


def _balancing_problems(v):
    problems = []
    for name, least in (("nginx_proxy_next_upstream_tries", 1), ("nginx_proxy_max_fails", 0),
                        ("nginx_proxy_upstream_keepalive", 0), ("nginx_proxy_upstream_keepalive_requests", 1)):
        if name in v and v[name] < least:
            problems.append(f"{name} must be at least {least}, got {v[name]}.")
    for name in _GLOBAL_TIMES:
        if name in v and not _is_time(v[name]):
            problems.append(f"{name} must be an nginx time such as 2s or 500ms, got {show(v[name])}.")
    return problems


def _worker_problems(v):
    problems = []
    if "nginx_proxy_worker_processes" in v and not _WORKERS.match(v["nginx_proxy_worker_processes"]):
        problems.append("nginx_proxy_worker_processes must be auto or a number of at least 1, "
                        f"got {show(v['nginx_proxy_worker_processes'])}.")
    if v.get("nginx_proxy_worker_connections", 1) < 1:
        problems.append(f"nginx_proxy_worker_connections must be at least 1, got {v['nginx_proxy_worker_connections']}.")
    if v.get("nginx_proxy_gzip_comp_level", 1) not in range(1, 10):
        problems.append(f"nginx_proxy_gzip_comp_level must be 1 to 9, got {v['nginx_proxy_gzip_comp_level']}.")
    for index, mime in enumerate(v.get("nginx_proxy_gzip_types", [])):
        if not _MIME_TYPE.match(mime):
            problems.append(f"nginx_proxy_gzip_types[{index}] must be a MIME type such as text/css, got {show(mime)}.")
    if "nginx_proxy_access_log_buffer" in v and not _LOG_BUFFER.match(v["nginx_proxy_access_log_buffer"]):
        problems.append("nginx_proxy_access_log_buffer must be a size such as 64k, or empty, "
                        f"got {show(v['nginx_proxy_access_log_buffer'])}.")
    if "nginx_proxy_access_log_flush" in v and not _is_time(v["nginx_proxy_access_log_flush"]):
        problems.append("nginx_proxy_access_log_flush must be an nginx time such as 1s, "
                        f"got {show(v['nginx_proxy_access_log_flush'])}.")
    return problems


def _path_problems(name, paths):
    return [f"{name}[{index}] must be a path starting with / (no spaces, ; or braces), got {show(path)}."
            for index, path in enumerate(paths) if not _URI_PATH.match(path)]


def _site_problems(v):
    """The timeouts, retries and long-lived paths of each site; the global ones are defaults."""
    problems = []
    if "nginx_proxy_long_lived_paths" in v:
        problems += _path_problems("nginx_proxy_long_lived_paths", v["nginx_proxy_long_lived_paths"])
    for index, site in enumerate(v.get("nginx_proxy_sites", [])):
        where = f"nginx_proxy_sites[{index}]"
        for key in _SITE_TIMEOUTS:
            if key in site and not _is_time(site[key]):
                problems.append(f"{where}.{key} must be an nginx time such as 2s or 500ms, got {show(site[key])}.")
        if site.get("next_upstream_tries", 1) < 1:
            problems.append(f"{where}.next_upstream_tries must be at least 1, got {site['next_upstream_tries']}.")
        problems += _path_problems(f"{where}.long_lived_paths", site.get("long_lived_paths", []))
    return problems


def _asset_cache_problems(v):
    problems = []
    size = v.get("nginx_proxy_asset_cache_max_size")
    if size is not None and not _SIZE.match(size):
        problems.append(f"nginx_proxy_asset_cache_max_size must be a size such as 256m, got {show(size)}.")
    inactive = v.get("nginx_proxy_asset_cache_inactive")
    if inactive is not None and not _is_time(inactive):
        problems.append(f"nginx_proxy_asset_cache_inactive must be an nginx time such as 7d, got {show(inactive)}.")
    max_age = v.get("nginx_proxy_asset_max_age")
    if max_age is not None and max_age < 1:
        problems.append(f"nginx_proxy_asset_max_age must be at least 1 second, got {max_age}.")
    pattern = v.get("nginx_proxy_asset_cache_pattern")
    if pattern is not None and (not pattern or "\n" in pattern):
        problems.append(f"nginx_proxy_asset_cache_pattern must be one line of regular expression, got {show(pattern)}.")
    return problems


def _health_problems(v):
    problems = []
    interval, timeout = v.get("nginx_proxy_health_check_interval"), v.get("nginx_proxy_health_check_timeout")
    if interval is not None and interval <= 0:
        problems.append(f"nginx_proxy_health_check_interval must be more than 0 seconds, got {interval}.")
    if timeout is not None and timeout <= 0:
        problems.append(f"nginx_proxy_health_check_timeout must be more than 0 seconds, got {timeout}.")
    elif timeout is not None and interval is not None and 0 < interval < timeout:
        problems.append(f"nginx_proxy_health_check_timeout must be no longer than the interval, "
                        f"nginx_proxy_health_check_interval ({interval}), got {timeout}.")
    for name in ("nginx_proxy_health_check_fall", "nginx_proxy_health_check_rise"):
        if v.get(name, 1) < 1:
            problems.append(f"{name} must be at least 1, got {v[name]}.")
    path = v.get("nginx_proxy_health_check_path")
    if path is not None and not re.match(r"^/\S*\Z", path):
        problems.append(f"nginx_proxy_health_check_path must be a path starting with / without spaces, got {show(path)}.")
    return problems


def _upstream_input_problems(settings, v):
    """An upstream with no server, then nginx_proxy_upstream_problems of the upstreams the role would build.

    They are built once the sites and the servers have their types. A global default that is wrong
    itself (named above) is replaced by a valid one, so that each server inheriting it is not named too.
    """
    if not all(name in v for name in ("nginx_proxy_sites", "nginx_proxy_backends")) \
            or not (v["nginx_proxy_sites"] or "nginx_proxy_domain" in v):
        return []
    group_backends = settings.get("group_backends")
    if not isinstance(group_backends, list) or not all(isinstance(server, Mapping) for server in group_backends):
        group_backends = []
    sites = _sites(dict({"nginx_proxy_domain_aliases": []}, **v))
    backends, group = v["nginx_proxy_backends"], v.get("nginx_proxy_backend_group")
    problems = []
    shared_empty = not backends and not group_backends and any("backends" not in site for site in sites)
    if shared_empty and group is not None:
        problems.append(f"nginx_proxy_backends: the upstream is empty: nginx_proxy_backends is empty and the group "
                        f"nginx_proxy_backend_group ({group}) has no hosts in the inventory.")
    health_path = v.get("nginx_proxy_health_check_path")
    if health_path is None or not re.match(r"^/\S*\Z", health_path):
        group_backends = [dict(server, health_path="/") if server.get("health_path") == health_path else server
                          for server in group_backends]
        health_path = "/"
    fail_timeout = v.get("nginx_proxy_fail_timeout")
    defaults = {
        "lb_method": v.get("nginx_proxy_lb_method", "round_robin"), "lb_hash_key": v.get("nginx_proxy_lb_hash_key", ""),
        "max_fails": max(v.get("nginx_proxy_max_fails", 0), 0),
        "fail_timeout": fail_timeout if fail_timeout is not None and _is_time(fail_timeout) else "10s",
        "keepalive": 0, "keepalive_timeout": "4s", "keepalive_requests": 1,  # not checked here
        "health_path": health_path, "prefix": "", "group": group if group is not None else "app",
        "single_site": not v["nginx_proxy_sites"],
    }
    upstreams = nginx_proxy_upstreams(sites, backends, group_backends, defaults)
    return problems + _upstream_problems(upstreams, shared_empty_named=shared_empty)


def nginx_proxy_listener_problems(ss_output, ports):
    """What keeps the TCP ports from being nginx's own, from the output of `ss -Hltne`: a port no socket
    listens on, or one that a process of another user than root holds (nginx's master, root, opens
    them all).

    A reload whose new configuration needs a port that is taken fails inside nginx, which keeps the
    previous configuration, while `systemctl reload` reports success; so does a start after such a
    failure. Ports below 1024 are no protection where net.ipv4.ip_unprivileged_port_start is lowered
    (Docker sets it to 0 in its containers).
    """
    owners = {}
    for line in str(ss_output).splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        port = fields[3].rpartition(":")[2]
        uid = next((field.split(":", 1)[1] for field in fields[4:] if field.startswith("uid:")), "0")
        owners.setdefault(port, set()).add(uid)
    problems = []
    for port in ports:
        found = owners.get(str(port), set())
        foreign = sorted(uid for uid in found if uid != "0")
        if foreign:
            problems.append(f"port {port} is held by a process of uid {', '.join(foreign)}, not by nginx: nginx could not "
                            "open it and keeps running its previous configuration. Stop that process and run the role again.")
        elif not found:
            problems.append(f"nginx does not listen on port {port}: it keeps running its previous configuration "
                            "(see /var/log/nginx/error.log).")
    return problems


class FilterModule:
    def filters(self):
        return {
            "nginx_proxy_listener_problems": nginx_proxy_listener_problems,
            "nginx_proxy_upstreams": nginx_proxy_upstreams,
            "nginx_proxy_group_backends": nginx_proxy_group_backends,
            "nginx_proxy_upstream_problems": nginx_proxy_upstream_problems,
            "nginx_proxy_bad_times": nginx_proxy_bad_times,
            "nginx_proxy_problems": nginx_proxy_problems,
        }
