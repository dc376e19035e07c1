"""The upstream data of nginx_proxy (plugins/filter/nginx_proxy.py): normalised once, checked once."""

import importlib.util

from helpers import REPO_ROOT

_SPEC = importlib.util.spec_from_file_location("nginx_proxy_filters", REPO_ROOT / "plugins" / "filter" / "nginx_proxy.py")
filters = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(filters)

DEFAULTS = {"lb_method": "round_robin", "lb_hash_key": "", "max_fails": 1, "fail_timeout": "10s",
            "keepalive": 16, "keepalive_timeout": "4s", "keepalive_requests": 1000, "health_path": "/",
            "prefix": "nginx_proxy_", "group": "app", "single_site": False}
GROUP = [{"host": "10.0.0.2", "port": 3000, "inventory_host": "app1", "health_path": "/healthz"},
         {"host": "10.0.0.3", "port": 3100, "inventory_host": "app2", "health_path": "/"}]


def test_sites_without_their_own_servers_share_the_group_and_keep_their_method():
    sites = [{"domain": "shop.lab"}, {"domain": "lc.shop.lab", "lb_method": "least_conn"}]
    upstreams = filters.nginx_proxy_upstreams(sites, [], GROUP, DEFAULTS)
    assert [u["name"] for u in upstreams] == ["nginx_proxy_shop.lab", "nginx_proxy_lc.shop.lab"]
    assert [u["method"] for u in upstreams] == ["round_robin", "least_conn"]
    first = upstreams[0]["servers"][0]
    assert first == {"address": "10.0.0.2:3000", "host": "10.0.0.2", "port": 3000, "weight": 1, "max_fails": 1,
                     "fail_timeout": "10s", "backup": False, "down": False, "health_path": "/healthz",
                     "inventory_host": "app1", "where": "Backend app1 of nginx_proxy_backend_group (app)"}
    assert upstreams[1]["servers"][1]["address"] == "10.0.0.3:3100"
    assert filters.nginx_proxy_upstream_problems(upstreams) == []


def test_explicit_servers_replace_the_group_and_a_site_may_have_its_own():
    sites = [{"domain": "shop.lab"}, {"domain": "b.lab", "backends": [{"host": "b1", "port": 80, "max_fails": 0}]}]
    upstreams = filters.nginx_proxy_upstreams(sites, [{"host": "e1", "weight": 2}], GROUP, DEFAULTS)
    assert [s["address"] for s in upstreams[0]["servers"]] == ["e1:3000"]
    assert upstreams[0]["servers"][0]["weight"] == 2
    assert upstreams[1]["servers"][0]["max_fails"] == 0
    assert upstreams[1]["servers"][0]["where"] == "nginx_proxy_sites[1].backends[0] (b1:80)"


def test_every_problem_names_its_variable():
    sites = [{"domain": "a.lab", "lb_method": "ip_hash",
              "backends": [{"host": "bad host", "port": 0, "weight": 0, "fail_timeout": "1s;", "backup": True}]},
             {"domain": "b.lab", "backends": []},
             {"domain": "c.lab", "lb_method": "hash"}]
    problems = filters.nginx_proxy_upstream_problems(filters.nginx_proxy_upstreams(sites, [], GROUP, DEFAULTS))
    text = "\n".join(problems)
    assert "nginx_proxy_sites[0].backends[0] (bad host:0): the address 'bad host' is not" in text
    assert "it must be 1-65535" in text and "the weight must be at least 1" in text
    assert "fail_timeout '1s;' is not an nginx time" in text
    assert "backup is not allowed with the balancing method ip_hash (nginx_proxy_sites[0].lb_method)" in text
    assert "nginx_proxy_sites[1].backends: the upstream of b.lab has no server" in text
    assert "nginx_proxy_lb_hash_key must be set when the balancing method is hash" in text
    assert len(problems) == 7, problems


def test_bad_times_are_named():
    assert filters.nginx_proxy_bad_times({"a": "2s", "b": "500ms", "c": 30, "d": "2 s", "e": True, "f": "x"}) == [
        "d", "e", "f"]
    assert filters.nginx_proxy_bad_times({"read_timeout": "x", "domain": "y"}, ["read_timeout"]) == ["read_timeout"]


def test_the_group_servers_come_from_what_each_host_published_else_its_variables():
    hosts = [
        # node_app published its port and health path there; an address of its own for the proxy.
        {"inventory_hostname": "app1", "nginx_proxy_backend_address": "app1.lab", "node_app_port": 3100,
         "ansible_local": {"node_app": {"port": 3200, "health_path": "/healthz"}},
         "ansible_facts": {"default_ipv4": {"address": "10.0.0.2"}}},
        # Not deployed yet: its node_app_port and the proxy's health path, at its default address.
        {"inventory_hostname": "app2", "node_app_port": "3300", "ansible_local": {},
         "ansible_facts": {"default_ipv4": {"address": "10.0.0.3"}}},
        # Nothing known: no address (preflight names the host), the default port.
        {"inventory_hostname": "app3"},
    ]
    assert filters.nginx_proxy_group_backends(hosts, "/") == [
        {"host": "app1.lab", "port": 3200, "health_path": "/healthz", "inventory_host": "app1"},
        {"host": "10.0.0.3", "port": 3300, "health_path": "/", "inventory_host": "app2"},
        {"host": "", "port": 3000, "health_path": "/", "inventory_host": "app3"},
    ]
    assert filters.nginx_proxy_upstream_problems(filters.nginx_proxy_upstreams(
        [{"domain": "shop.lab"}], [], filters.nginx_proxy_group_backends(hosts[2:], "/"), DEFAULTS)) == [
        "Backend app3 of nginx_proxy_backend_group (app): the address '' is not an IPv4 address or RFC 1123 name "
        "(set nginx_proxy_backend_address on a host without a default IPv4 address)."]
