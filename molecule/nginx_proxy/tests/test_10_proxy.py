"""The proxies as converged: site, balancing, headers, logs, compression, failover, maintenance page."""

import re
import uuid
from collections import Counter

import pytest
from conftest import APPS, DOMAIN, MAINTENANCE_TEXT, fetch, inventory_vars, set_apps, uses_tls, wait_for_proxy

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


def test_domain_alias_and_bare_ip_reach_a_backend(host):
    for host_header in (DOMAIN, f"www.{DOMAIN}", "127.0.0.1"):
        response = fetch(host, host_header=host_header)[0]
        assert response.status == 200, host_header
        assert response.backend in APPS, (host_header, response.body[:300])


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
    proto = "https" if uses_tls(host) else "http"
    for line in (f"Host: {DOMAIN}", "X-Real-IP: 127.0.0.1", "X-Forwarded-For: 203.0.113.9, 127.0.0.1",
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
    lines = [line for line in host.file("/var/log/nginx/access.log").content_string.splitlines() if probe in line]
    assert len(lines) == 1, lines
    assert re.search(
        r" 200 .* upstream_addr=\d+\.\d+\.\d+\.\d+:\d+ upstream_status=200 "
        r"request_time=\d+\.\d{3} upstream_response_time=\d+\.\d{3}$",
        lines[0],
    ), lines[0]


def test_text_responses_are_gzipped(host):
    scheme = "https" if uses_tls(host) else "http"
    headers = host.check_output(
        f"curl -sk -o /dev/null -D - -H 'Host: {DOMAIN}' -H 'Accept-Encoding: gzip' {scheme}://127.0.0.1/"
    ).lower()
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
