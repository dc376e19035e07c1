"""The proxies as converged: site, balancing, headers, logs, compression, failover, maintenance page."""

import re
import uuid
from collections import Counter

import pytest
from conftest import (APPS, DOMAIN, MAINTENANCE_TEXT, curl_target, fetch, get_host, inventory_vars, set_apps, uses_tls,
                      wait_for_proxy, wait_until)

testinfra_hosts = ["ansible://proxy"]


@pytest.fixture(autouse=True, scope="module")
def _all_apps_running():
    set_apps(APPS)
    yield
    set_apps(APPS)


def expected_weights(host):
    """Backend name -> weight, from the scenario's inventory (explicit list, else the group: equal weights)."""
    backends = inventory_vars(host).get("nginx_proxy_backends") or [{"host": name} for name in APPS]
    return {backend["host"]: backend.get("weight", 1) for backend in backends}


def test_nginx_is_enabled_running_and_hides_its_version(host):
    nginx = host.service("nginx")
    assert nginx.is_enabled
    assert nginx.is_running
    assert fetch(host)[0].headers["server"] == "nginx"


def test_domain_and_alias_reach_a_backend(host):
    for host_header in (DOMAIN, f"www.{DOMAIN}"):
        response = fetch(host, host_header=host_header)[0]
        assert response.status == 200, host_header
        assert response.backend in APPS, (host_header, response.body[:300])


def test_unknown_names_and_bare_addresses_get_nothing(host):
    # HTTP: the catch-all server closes the connection without an answer (444): curl's "empty reply" (52).
    for host_header in ("unknown.example", "127.0.0.1", f"evil.{DOMAIN}"):
        plain = host.run(f"curl -s -o /dev/null --max-time 5 -H 'Host: {host_header}' http://127.0.0.1/")
        assert plain.rc == 52, (host_header, plain.rc, plain.stdout)
    if uses_tls(host):
        # HTTPS: the handshake itself is refused for a name no site serves, and for no name at all.
        for target in ("--resolve unknown.example:443:127.0.0.1 https://unknown.example/", "https://127.0.0.1/"):
            tls = host.run(f"curl -sk -o /dev/null --max-time 5 {target}")
            assert tls.rc == 35, (target, tls.rc, tls.stderr)
        # A request for another name on an HTTP/2 connection opened for the site (a browser reuses
        # one for every name its certificate covers) reaches the catch-all: 421, ask on a connection of
        # its own.
        reused = host.run(f"curl -sk --http2 -o /dev/null -w '%{{http_version}} %{{http_code}}' --max-time 5 "
                          f"--resolve {DOMAIN}:443:127.0.0.1 -H 'Host: unknown.example' https://{DOMAIN}/")
        assert reused.stdout == "2 421", (reused.stdout, reused.stderr)
    assert fetch(host)[0].status == 200


def test_every_answer_carries_the_security_headers(host):
    for path in ("/", "/status/503"):
        headers = fetch(host, path=path)[0].headers
        assert headers["x-content-type-options"] == "nosniff", headers
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin", headers


def test_nginx_limits_follow_the_connections(host):
    config = host.check_output("nginx -T 2>/dev/null")
    connections = int(re.search(r"worker_connections (\d+);", config).group(1))
    assert f"worker_rlimit_nofile {connections * 2};" in config
    worker = host.check_output("pgrep -f '^nginx: worker process' | head -1")
    limits = host.check_output(f"cat /proc/{worker}/limits")
    assert re.search(rf"Max open files\s+{connections * 2}\s+{connections * 2}", limits), limits


def test_requests_are_spread_by_weight_in_round_robin(host):
    weights = expected_weights(host)
    count = 10 * sum(weights.values())
    backends = [response.backend for response in fetch(host, count)]
    counts = Counter(backends)
    print(f"\n{host.backend.get_pytest_id()}: {count} requests answered by {dict(counts)}")
    assert counts == Counter({name: 10 * weight for name, weight in weights.items()})
    if len(set(weights.values())) == 1:
        # Equal weights: strict alternation, no backend twice in a row.
        assert all(a != b for a, b in zip(backends, backends[1:])), backends


def test_backend_receives_forwarding_headers(host):
    response = fetch(host, curl_args="-H 'X-Forwarded-For: 203.0.113.9'")[0]
    if "127.0.0.1" in inventory_vars(host).get("nginx_proxy_trusted_proxies", []):
        # The request came through a trusted load balancer: its X-Forwarded-For names the client.
        client = "203.0.113.9"
    else:
        # What the client claims in X-Forwarded-For is replaced, not passed on.
        client = "127.0.0.1"
        assert "203.0.113.9" not in response.body, response.body
    proto = "https" if uses_tls(host) else "http"
    for line in (f"Host: {DOMAIN}", f"X-Real-IP: {client}", f"X-Forwarded-For: {client}",
                 f"X-Forwarded-Proto: {proto}"):
        assert f"\n{line}\n" in response.body, (line, response.body)
    # Plain requests carry no Connection header upstream, so the upstream keepalive connection stays open.
    assert not re.search(r"^connection:", response.body, re.IGNORECASE | re.MULTILINE), response.body


def test_websocket_upgrade_headers_are_passed(host):
    response = fetch(host, curl_args="--http1.1 -H 'Upgrade: websocket' -H 'Connection: Upgrade'")[0]
    assert "\nUpgrade: websocket\n" in response.body, response.body
    assert "\nConnection: upgrade\n" in response.body, response.body


def test_x_upstream_header_follows_nginx_proxy_debug_headers(host):
    response = fetch(host)[0]
    if inventory_vars(host).get("nginx_proxy_debug_headers", False):
        assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+:\d+", response.headers["x-upstream"]), response.headers
    else:
        assert "x-upstream" not in response.headers, response.headers


def test_access_log_records_the_upstream(host):
    probe = f"/log-probe-{uuid.uuid4().hex}"
    assert fetch(host, path=probe)[0].status == 200
    lines = []

    def logged():
        lines[:] = [line for line in host.file("/var/log/nginx/access.log").content_string.splitlines() if probe in line]
        return lines

    # The log is written in batches (nginx_proxy_access_log_buffer), at least every second (_flush).
    wait_until(logged, timeout=5, interval=0.5, message="the request is not in the access log after 5 s")
    assert len(lines) == 1, lines
    assert re.search(
        r" 200 .* upstream_addr=\d+\.\d+\.\d+\.\d+:\d+ upstream_status=200 "
        r"request_time=\d+\.\d{3} upstream_response_time=\d+\.\d{3}$",
        lines[0],
    ), lines[0]


def test_text_responses_are_gzipped(host):
    scheme = "https" if uses_tls(host) else "http"
    headers = host.check_output(f"curl -sk -o /dev/null -D - -H 'Accept-Encoding: gzip' {curl_target(host)}").lower()
    assert "content-encoding: gzip" in headers, headers


def test_one_worker_process_per_cpu(host):
    cpus = int(host.check_output("nproc"))
    workers = int(host.check_output("pgrep -c -f '^nginx: worker process'"))
    assert workers == cpus


def test_failover_then_maintenance_page_then_recovery(host):
    name = host.backend.get_pytest_id()
    try:
        set_apps([APPS[1]])
        one_down = fetch(host, 50)
        failed = [r.status for r in one_down if r.status != 200]
        print(f"\n{name}: {APPS[0]} down: {len(failed)} of 50 requests failed, "
              f"answered by {dict(Counter(r.backend for r in one_down))}")
        assert failed == []
        assert {r.backend for r in one_down} == {APPS[1]}

        set_apps([])
        all_down = fetch(host, 10)
        statuses = Counter(r.status for r in all_down)
        print(f"{name}: every app server down: statuses {dict(statuses)}")
        assert set(statuses) <= {502, 503, 504}, statuses
        for response in all_down:
            assert MAINTENANCE_TEXT in response.body and DOMAIN in response.body, response.body
            assert response.body.lstrip().startswith("<!--") and "</html>" in response.body
            assert "nginx" not in response.body.lower() and response.backend is None
    finally:
        set_apps(APPS)

    waited = wait_for_proxy(host, lambda r: r.status == 200)
    back = fetch(host, 20)
    print(f"{name}: app servers started again: first 200 after {waited:.1f}s, "
          f"then {sum(r.status == 200 for r in back)} of 20 requests 200")
    assert all(r.status == 200 for r in back)


def test_extra_directives_and_body_size_reach_nginx(host):
    extra = inventory_vars(host)
    config = host.check_output("nginx -T 2>/dev/null")
    for directive in (extra.get("nginx_proxy_http_extra_directives", []) + extra.get("nginx_proxy_server_extra_directives", [])
                      + extra.get("nginx_proxy_location_extra_directives", [])):
        assert directive in config
    size = extra.get("nginx_proxy_client_max_body_size", "1m")
    assert f"client_max_body_size {size};" in config
    if "nginx_proxy_location_extra_directives" in extra:
        # Beside the role's own headers, not instead of them.
        response = fetch(host)[0]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert f"\nHost: {DOMAIN}\n" in response.body
        assert response.headers["x-served-by"] == "proxylab"
        assert "\nX-Proxy-Location: root\n" in response.body
        too_big = host.check_output(f"head -c 4096 /dev/zero | curl -sk -o /dev/null -w '%{{http_code}}' "
                                    f"--data-binary @- {curl_target(host)}")
        assert too_big == "413"


def test_a_long_server_name_is_served():
    host = get_host("nginx-proxy-deb13")
    names = [alias for site in inventory_vars(host)["nginx_proxy_sites"] for alias in site.get("aliases", [])]
    longest = max(names, key=len)
    assert len(longest) > 46  # more than the default server_names_hash_bucket_size (64) holds
    response = fetch(host, host_header=longest)[0]
    assert response.status == 200 and response.backend in APPS, longest
    assert "server_names_hash_bucket_size 128;" in host.check_output("nginx -T 2>/dev/null")
