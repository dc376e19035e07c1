"""The active health checks of the Debian 12 proxy: who runs them, with which rights, and what they
refuse to do (take out the last server that answers, load a configuration nginx refuses)."""

import time

import pytest
from conftest import APPS, fetch, get_host, health_marks, name_of, signal_app
from helpers import docker_sh, wait_until

testinfra_hosts = ["ansible://nginx-proxy-deb12"]
pytestmark = pytest.mark.usefixtures("apps_in_rotation")


def test_the_health_checker_runs_unprivileged_with_one_root_command(host):
    assert host.service("nginx-proxy-health").is_running
    assert host.check_output("ps -o user= -C nginx-proxy-rot").split() == ["nginx-proxy-health"]
    rights = host.check_output("sudo -l -U nginx-proxy-health")
    assert "(root) NOPASSWD: /usr/local/sbin/nginx-proxy-rotation apply" in rights
    assert rights.count("NOPASSWD") == 1


def test_the_last_server_that_answers_stays_in_rotation(host):
    proxy = name_of(host)
    first, last = APPS
    signal_app(first, "SIGSTOP")
    wait_until(lambda: len(health_marks(proxy)) == 1, timeout=10)
    signal_app(last, "SIGSTOP")
    time.sleep(4)
    marks = health_marks(proxy)
    log = docker_sh(proxy, "journalctl -u nginx-proxy-health --since '-30s' --no-pager").stdout
    for name in APPS:
        signal_app(name, "SIGCONT")
    print(f"\n{proxy}: {first} hung, then {last} hung too: out of rotation {sorted(marks)}")
    assert len(marks) == 1, marks
    assert "is the last server that answers in one of its upstreams: kept in rotation" in log
    back = wait_until(lambda: not health_marks(proxy), timeout=10)
    print(f"{proxy}: both answer again; every server back in rotation after {back:.1f} s")


def test_a_configuration_nginx_refuses_is_never_loaded(host):
    proxy = name_of(host)
    upstreams = "/etc/nginx/conf.d/nginx-proxy-upstream.conf"
    before, master = host.file(upstreams).content_string, host.check_output("cat /run/nginx.pid")
    host.check_output("echo 'this is not nginx' > /etc/nginx/conf.d/zz-broken.conf")
    try:
        signal_app(APPS[0], "SIGSTOP")
        wait_until(lambda: "nginx refused the new upstreams, kept the previous ones" in docker_sh(
            proxy, "journalctl -u nginx-proxy-health --since '-20s' --no-pager").stdout, timeout=10)
        assert host.file(upstreams).content_string == before
        assert host.check_output("cat /run/nginx.pid") == master
        assert "this is not nginx" not in host.check_output("nginx -T 2>/dev/null || true").split("zz-broken")[0]
    finally:
        host.check_output("rm -f /etc/nginx/conf.d/zz-broken.conf")
        signal_app(APPS[0], "SIGCONT")
    responses = fetch(host, 10)
    assert all(r.status == 200 for r in responses)


def test_with_health_checks_off_no_checker_runs():
    passive = get_host("nginx-proxy-deb13")
    assert not passive.service("nginx-proxy-health").is_running
    assert not passive.file("/etc/sudoers.d/nginx-proxy-health").exists
