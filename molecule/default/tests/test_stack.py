"""The whole stack, seen through the proxy as a user sees it."""

import re

import pytest

from conftest import APPS, DOMAIN, app_host
from helpers import node_app_facts, wait_until

testinfra_hosts = ["ansible://default-proxy"]


def request(host, with_host_header=True, path="/"):
    """One request through nginx on the proxy; returns (status, X-Upstream header, body)."""
    host_header = f"-H 'Host: {DOMAIN}'" if with_host_header else ""
    # The headers first, then the body, on curl's standard output: no file in between.
    headers, _, body = host.check_output(f"curl -s --max-time 10 {host_header} -D - http://127.0.0.1{path}").partition("\r\n\r\n")
    status = int(re.search(r"^HTTP/\S+ (\d{3})", headers, re.M).group(1))
    upstream = re.search(r"^X-Upstream: (.+?)\s*$", headers, re.M | re.I)
    return status, upstream.group(1) if upstream else None, body


def app_service(name):
    return node_app_facts(app_host(name))["service"]


@pytest.fixture
def all_apps_up():
    yield
    for name in APPS:
        app_host(name).run_test(f"systemctl start {app_service(name)}")
    for name in APPS:
        app_host(name).run_test("curl -s --retry 30 --retry-connrefused --retry-delay 1 -o /dev/null http://127.0.0.1:3000/")


def test_the_site_serves_the_app_through_the_proxy(host):
    status, _, body = request(host)
    assert status == 200
    assert "hello-app" in body


def test_a_request_for_another_name_gets_no_page(host):
    # The proxy serves its domain only: by address or for any other name the connection closes unanswered.
    for header in ("", "-H 'Host: other.example'"):
        assert host.run(f"curl -s -o /dev/null --max-time 5 {header} http://127.0.0.1/").rc == 52


def test_both_app_servers_serve(host):
    hostnames = set()
    upstreams = set()
    for _ in range(10):
        status, upstream, body = request(host)
        assert status == 200
        upstreams.add(upstream)
        hostnames.update(name for name in ("app1", "app2") if f"default-{name}" in body)
    assert len(upstreams) == 2, upstreams
    assert hostnames == {"app1", "app2"}


def test_the_apps_run_as_an_unprivileged_user():
    # Whatever the mode runs (npm start and node, or PM2's static server), every Node.js and PM2
    # process on an app server belongs to the app's user. (ss -p cannot name another user's process
    # in a container without CAP_SYS_PTRACE, so the processes are found by their command lines.)
    for name in APPS:
        lines = app_host(name).check_output("ps -eo user=,args=").splitlines()
        processes = [line.split(None, 1) for line in lines if len(line.split(None, 1)) == 2]
        apps = [(user, args) for user, args in processes
                if re.search(r"\b(node|npm|PM2|pm2)\b", args) and "ps -eo" not in args]
        assert apps, "no Node.js or PM2 process"
        assert {user for user, _ in apps} == {"nodeapp"}, apps


def test_the_app_port_answers_the_proxy_only(host):
    # node_app's firewall: the proxy reaches the app servers, another app server gets a TCP reset.
    for name in APPS:
        assert host.check_output(f"curl -s -o /dev/null -w '%{{http_code}}' --max-time 5 http://{name}:3000/") == "200"
    refused = app_host("default-app2").run("curl -s -o /dev/null --max-time 5 http://default-app1:3000/")
    assert refused.rc == 7, (refused.rc, refused.stderr)
    # SSH and everything else on the app server stay open to any host.
    assert app_host("default-app2").run("bash -c 'exec 3<>/dev/tcp/default-app1/22'").rc == 0


def test_one_app_server_down_costs_no_request(host, all_apps_up):
    app_host("default-app1").run_test(f"systemctl stop {app_service('default-app1')}")
    results = [request(host) for _ in range(30)]
    assert [status for status, _, _ in results] == [200] * 30
    assert all("default-app2" in body for _, _, body in results)


def test_all_app_servers_down_shows_the_maintenance_page_then_recovers(host, all_apps_up):
    for name in APPS:
        app_host(name).run_test(f"systemctl stop {app_service(name)}")
    status, _, body = request(host)
    assert 500 <= status <= 504
    assert DOMAIN in body
    assert "nginx" not in body.lower()
    for name in APPS:
        app_host(name).run_test(f"systemctl start {app_service(name)}")
    # nginx tries a server it marked failed again after fail_timeout (10 s by default).
    wait_until(lambda: request(host)[0] == 200, timeout=20, interval=1,
               message="the site did not come back within 20 s of the app servers")
    assert [request(host)[0] for _ in range(10)] == [200] * 10
