"""The other balancing methods and server flags, one vhost each on the Debian 13 proxy, all in
front of the same two stub app servers (app1 with weight 2 in the global upstream)."""

import re
from collections import Counter

import pytest

from conftest import APPS, DOMAIN, fetch, set_apps

testinfra_hosts = ["ansible://nginx-proxy-deb13"]
UPSTREAM_CONF = "/etc/nginx/conf.d/nginx-proxy-upstream.conf"


def upstream_block(host, domain):
    conf = host.file(UPSTREAM_CONF).content_string
    match = re.search(r"^upstream nginx_proxy_" + re.escape(domain) + r" \{\n(.*?)^\}", conf, re.M | re.S)
    assert match, conf
    return match.group(1)


@pytest.mark.parametrize(("method", "site", "count"), [("least_conn", "lc", 30), ("random", "random", 40)])
def test_method_spreads_requests_over_both_backends(host, method, site, count):
    assert f"    {method};\n" in upstream_block(host, f"{site}.{DOMAIN}")
    responses = fetch(host, count, host_header=f"{site}.{DOMAIN}")
    counts = Counter(r.backend for r in responses)
    print(f"\n{method}: {count} requests answered by {dict(counts)}")
    assert all(r.status == 200 for r in responses)
    assert set(counts) == set(APPS)


def test_ip_hash_keeps_a_client_on_one_backend(host):
    assert "    ip_hash;\n" in upstream_block(host, f"sticky.{DOMAIN}")
    responses = fetch(host, 20, host_header=f"sticky.{DOMAIN}")
    counts = Counter(r.backend for r in responses)
    print(f"\nip_hash: 20 requests from one client answered by {dict(counts)}")
    assert all(r.status == 200 for r in responses)
    assert len(counts) == 1 and set(counts) <= set(APPS)


def test_hash_keeps_a_uri_on_one_backend_and_spreads_uris(host):
    assert "    hash $request_uri;\n" in upstream_block(host, f"hash.{DOMAIN}")
    by_uri = {}
    for item in range(16):
        answers = {r.backend for r in fetch(host, 3, path=f"/item/{item}", host_header=f"hash.{DOMAIN}")}
        assert len(answers) == 1, (item, answers)
        by_uri[item] = answers.pop()
    print(f"\nhash $request_uri: 16 URIs x 3 requests, URIs per backend {dict(Counter(by_uri.values()))}")
    assert set(by_uri.values()) == set(APPS)


def test_down_server_gets_no_request(host):
    assert re.search(r"server nginx-proxy-app1:8081 .* down;", upstream_block(host, f"down.{DOMAIN}"))
    counts = Counter(r.backend for r in fetch(host, 20, host_header=f"down.{DOMAIN}"))
    print(f"\ndown: 20 requests answered by {dict(counts)}")
    assert counts == Counter({APPS[1]: 20})


def test_backup_server_only_takes_over_when_the_primary_is_down(host):
    assert re.search(r"server nginx-proxy-app2:3000 .* backup;", upstream_block(host, f"backup.{DOMAIN}"))
    primary = Counter(r.backend for r in fetch(host, 20, host_header=f"backup.{DOMAIN}"))
    print(f"\nbackup: primary up, 20 requests answered by {dict(primary)}")
    assert primary == Counter({APPS[0]: 20})
    try:
        set_apps([APPS[1]])
        takeover = fetch(host, 20, host_header=f"backup.{DOMAIN}")
        print(f"backup: primary stopped, {dict(Counter((r.status, r.backend) for r in takeover))}")
        assert all(r.status == 200 and r.backend == APPS[1] for r in takeover)
    finally:
        set_apps(APPS)
