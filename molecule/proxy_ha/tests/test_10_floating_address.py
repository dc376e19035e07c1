"""Both proxies up: exactly one holds the floating address, the site answers there through it, and
keepalived runs as the issue asks (unicast peers, nopreempt, an unprivileged track script, state
changes in the journal)."""

import time

from conftest import CLIENT, DOMAIN, PROXIES, VIP, holders, the_holder, vrrp_state
from helpers import docker_sh


def test_exactly_one_proxy_holds_the_address_and_the_site_answers_there():
    holder = the_holder()
    assert holders() == [holder]
    answers = [docker_sh(CLIENT, f"curl -s -i --max-time 5 -H 'Host: {DOMAIN}' http://{VIP}/").stdout for _ in range(5)]
    assert all(answer.startswith("HTTP/1.1 200") for answer in answers), answers[0]
    assert all(f"X-Proxy: {holder}" in answer for answer in answers), answers[0]
    assert all("<h1>backend proxy-ha-app</h1>" in answer for answer in answers), answers[0]
    assert {proxy: vrrp_state(proxy) for proxy in PROXIES} == {
        proxy: ("MASTER" if proxy == holder else "BACKUP") for proxy in PROXIES}


def test_peers_are_unicast_and_the_holder_is_not_preempted():
    for proxy, own, peer in (("proxy-ha-deb12", "10.213.47.10", "10.213.47.11"),
                             ("proxy-ha-deb13", "10.213.47.11", "10.213.47.10")):
        conf = docker_sh(proxy, "cat /etc/keepalived/keepalived.conf").stdout
        assert f"unicast_src_ip {own}" in conf and f"        {peer}\n" in conf, conf
        assert "nopreempt" in conf and "state BACKUP" in conf and f"{VIP}/24 dev eth0" in conf, conf
        assert "check_unicast_src" in conf, conf
    # The inventory order gives the priorities: the group's first proxy 200, the second 190.
    assert "priority 200" in docker_sh(PROXIES[0], "cat /etc/keepalived/keepalived.conf").stdout
    assert "priority 190" in docker_sh(PROXIES[1], "cat /etc/keepalived/keepalived.conf").stdout


def test_the_track_script_runs_as_the_unprivileged_script_user():
    proxy = the_holder()
    conf = docker_sh(proxy, "cat /etc/keepalived/keepalived.conf").stdout
    assert "enable_script_security" in conf and "script_user keepalived_script" in conf, conf
    user = docker_sh(proxy, "getent passwd keepalived_script").stdout.split(":")
    assert int(user[2]) < 1000 and user[6].strip() == "/usr/sbin/nologin", user
    assert "script /usr/local/libexec/proxy-ha/nginx-answers" in conf, conf
    script = docker_sh(proxy, "stat -c '%U %a' /usr/local/libexec/proxy-ha /usr/local/libexec/proxy-ha/nginx-answers").stdout
    assert script.split() == ["root", "755", "root", "755"], script
    # The check runs once a second for a few milliseconds: watch /proc for its curl processes.
    owners = set()
    deadline = time.monotonic() + 10
    while not owners and time.monotonic() < deadline:
        owners = set(docker_sh(proxy, "for i in $(seq 300); do ps -o user= -C curl; sleep 0.01; done").stdout.split())
    assert owners == {"keepalived_script"}, owners


def test_nginx_answers_its_health_on_its_unix_socket_only():
    for proxy in PROXIES:
        socket = "--unix-socket /run/nginx-proxy/health.sock http://localhost/nginx-health"
        assert docker_sh(proxy, f"curl -s --max-time 5 {socket}").stdout == "ok\n"
        # Root's directory: no other user can put a socket there while nginx is down.
        assert docker_sh(proxy, "stat -c '%U %a' /run/nginx-proxy").stdout.split() == ["root", "755"]
        # No TCP port of nginx's own: neither on loopback (where any user could listen in its place
        # while it is down) nor from the network.
        assert docker_sh(proxy, "curl -s --max-time 5 http://127.0.0.1:8099/nginx-health", check=False).returncode == 7
        address = "10.213.47.10" if proxy == "proxy-ha-deb12" else "10.213.47.11"
        refused = docker_sh(CLIENT, f"curl -s --max-time 5 http://{address}:8099/nginx-health", check=False)
        assert refused.returncode == 7, refused.stdout


def test_state_changes_are_logged_to_the_journal():
    holder = the_holder()
    journal = docker_sh(holder, "journalctl -b -u keepalived --no-pager -o cat").stdout
    assert "(webstack_51) Entering MASTER STATE" in journal, journal[-2000:]
    assert "VRRP_Script(nginx_answers) succeeded" in journal, journal[-2000:]
