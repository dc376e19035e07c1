"""nginx_proxy refuses bad input before it changes anything, naming every mistake in one run (run
against a throw-away container)."""

import re

import pytest

from helpers import ansible_playbook, recap, run

PLAYBOOK = """
- name: Apply nginx_proxy
  hosts: all
  gather_facts: false
  tasks:
    - name: Apply the role
      ansible.builtin.include_role:
        name: proxylab.webstack.nginx_proxy
"""
VALID = {"nginx_proxy_backends": [{"host": "127.0.0.1", "port": 3000}]}

CASES = {
    "unknown balancing method": (
        {"nginx_proxy_lb_method": "fastest"},
        ["nginx_proxy_lb_method", "fastest"],
    ),
    "domain with a space": (
        {"nginx_proxy_domain": "bad domain"},
        ["nginx_proxy_domain:", '"bad domain"', "RFC 1123"],
    ),
    "alias starting with a hyphen": (
        {"nginx_proxy_domain_aliases": ["-www.dumbflix.lab"]},
        ["nginx_proxy_domain_aliases:", "RFC 1123"],
    ),
    "backend port 0": (
        {"nginx_proxy_backends": [{"host": "127.0.0.1", "port": 3000}, {"host": "10.0.0.2", "port": 0}]},
        ["nginx_proxy_backends[1]", "10.0.0.2:0", "1-65535"],
    ),
    "backend port 70000": (
        {"nginx_proxy_backends": [{"host": "127.0.0.1", "port": 70000}]},
        ["nginx_proxy_backends[0]", "1-65535"],
    ),
    "empty upstream": (
        {"nginx_proxy_backends": []},
        ["upstream is empty", "nginx_proxy_backends", "nginx_proxy_backend_group (app)"],
    ),
    "hash without a key": (
        {"nginx_proxy_lb_method": "hash"},
        ["nginx_proxy_lb_hash_key must be set"],
    ),
    "backup with ip_hash": (
        {"nginx_proxy_lb_method": "ip_hash", "nginx_proxy_backends": [
            {"host": "127.0.0.1", "port": 3000}, {"host": "127.0.0.2", "port": 3000, "backup": True}]},
        ["nginx_proxy_backends[1]", "backup is not allowed with the balancing method ip_hash (nginx_proxy_lb_method)"],
    ),
    "asset cache kept for a time nginx cannot read": (
        {"nginx_proxy_asset_cache_inactive": "a week"},
        ["nginx_proxy_asset_cache_inactive", "a week"],
    ),
    "provided TLS without files": (
        {"nginx_proxy_tls": "provided"},
        ["nginx_proxy_tls_cert_src", "nginx_proxy_tls_key_src"],
    ),
    "fail_timeout that smuggles a directive": (
        {"nginx_proxy_fail_timeout": "10s; evil"},
        ["nginx_proxy_fail_timeout"],
    ),
    "backend fail_timeout that is not a time": (
        {"nginx_proxy_backends": [{"host": "127.0.0.1", "port": 3000, "fail_timeout": "10s down"}]},
        ["nginx_proxy_backends[0]", "fail_timeout '10s down' is not an nginx time"],
    ),
    "hash key that smuggles a directive": (
        {"nginx_proxy_lb_method": "hash", "nginx_proxy_lb_hash_key": "$request_uri; evil"},
        ["nginx_proxy_lb_hash_key", "is not a hash key"],
    ),
    "site with an empty list of backends": (
        {"nginx_proxy_sites": [{"domain": "a.dumbflix.lab", "backends": []}]},
        ["nginx_proxy_sites[0].backends", "has no server"],
    ),
    "read timeout that is not a time": (
        {"nginx_proxy_read_timeout": "soon"},
        ["nginx_proxy_read_timeout"],
    ),
    "site read timeout with a space": (
        {"nginx_proxy_sites": [{"domain": "a.dumbflix.lab", "read_timeout": "2 s"}]},
        ['nginx_proxy_sites[0].read_timeout must be an nginx time such as 2s or 500ms, got "2 s"'],
    ),
    "health check timeout longer than the interval": (
        {"nginx_proxy_health_check_timeout": 2},
        ["nginx_proxy_health_check_timeout", "no longer than the interval"],
    ),
    "HSTS with a self-signed certificate": (
        {"nginx_proxy_tls": "self_signed", "nginx_proxy_tls_hsts": True},
        ["nginx_proxy_tls_hsts cannot be on with nginx_proxy_tls: self_signed"],
    ),
    "self-signed certificate longer than 365 days": (
        {"nginx_proxy_tls_self_signed_days": 825},
        ["nginx_proxy_tls_self_signed_days must be", "2-365", "got 825"],
    ),
    "extra directive spanning lines": (
        {"nginx_proxy_server_extra_directives": ["client_body_timeout 10s;\n}\nserver {"]},
        ["nginx_proxy_server_extra_directives", "one line ending with ; or }"],
    ),
    "add_header among the server directives": (
        {"nginx_proxy_server_extra_directives": ["add_header X-Frame-Options DENY always;"]},
        ["belong in", "nginx_proxy_location_extra_directives"],
    ),
    "trusted proxy that is not an address": (
        {"nginx_proxy_trusted_proxies": ["lb.example.com"]},
        ['nginx_proxy_trusted_proxies[0] must be an address or CIDR range such as 10.0.0.0/24, got "lb.example.com"'],
    ),
    "gzip level out of range": (
        {"nginx_proxy_gzip_comp_level": 0},
        ["nginx_proxy_gzip_comp_level must be 1 to 9, got 0"],
    ),
    "access log buffer that is not a size": (
        {"nginx_proxy_access_log_buffer": "lots"},
        ['nginx_proxy_access_log_buffer must be a size such as 64k, or empty, got "lots"'],
    ),
    "unknown TLS mode": (
        {"nginx_proxy_tls": "letsencrypt"},
        ["nginx_proxy_tls", "letsencrypt"],
    ),
    # Values of a wrong type that the argument specs convert for their own check and let through.
    "aliases written as one string": (
        {"nginx_proxy_domain_aliases": "www.dumbflix.lab,shop.dumbflix.lab"},
        ['nginx_proxy_domain_aliases must be a list of strings, got a string ("www.dumbflix.lab,shop.dumbflix.lab")'],
    ),
    "backup written as a string": (
        {"nginx_proxy_backends": [{"host": "127.0.0.1", "port": 3000, "backup": "no"}]},
        ['nginx_proxy_backends[0].backup must be a boolean (true or false), got a string ("no")'],
    ),
    "worker connections written as a string": (
        {"nginx_proxy_worker_connections": "1024"},
        ['nginx_proxy_worker_connections must be a whole number, got a string ("1024")'],
    ),
}


def nginx_installed(host):
    return run(["docker", "exec", host, "dpkg-query", "-W", "-f", "${Status}", "nginx"], check=False).stdout


@pytest.mark.parametrize("case", CASES)
def test_bad_input_fails_before_any_change(scratch_host, tmp_path, case):
    extra_vars, expected = CASES[case]
    result = ansible_playbook(PLAYBOOK, scratch_host, {**VALID, **extra_vars}, tmp_path=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    for text in expected:
        assert text in output, (text, output[-3000:])
    assert "changed=0" in result.stdout, result.stdout[-1500:]
    assert "install ok installed" not in nginx_installed(scratch_host)
    assert run(["docker", "exec", scratch_host, "test", "-e", "/etc/nginx"], check=False).returncode != 0


def test_every_mistake_is_named_in_one_run(scratch_host, tmp_path):
    """One run names them all, in one failed task, before anything changes."""
    result = ansible_playbook(PLAYBOOK, scratch_host, {
        **VALID, "nginx_proxy_domain": "bad domain", "nginx_proxy_gzip_comp_level": 0,
        "nginx_proxy_read_timeout": "soon", "nginx_proxy_domain_aliases": "www.dumbflix.lab",
        "nginx_proxy_backends": [{"host": "127.0.0.1", "port": 70000}],
        "nginx_proxy_server_extra_directives": ["add_header X-Frame-Options DENY always;"]}, tmp_path=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    for text in ["nginx_proxy_domain_aliases must be a list of strings", 'nginx_proxy_domain: "bad domain"',
                 "nginx_proxy_server_extra_directives[0]: add_header and proxy_set_header belong in",
                 'nginx_proxy_read_timeout must be an nginx time such as 2s or 500ms, got "soon"',
                 "nginx_proxy_gzip_comp_level must be 1 to 9, got 0",
                 "nginx_proxy_backends[0] (127.0.0.1:70000): the port (node_app_port for inventory hosts) is 70000"]:
        assert text in result.stdout, (text, output[-3000:])
    assert recap(result.stdout)[scratch_host] == {**recap(result.stdout)[scratch_host], "failed": 1, "changed": 0}
    assert "install ok installed" not in nginx_installed(scratch_host)


def test_valid_input_passes_the_preflight(scratch_host, tmp_path, monkeypatch):
    """The control: with good values (an unquoted YAML `off`, a boolean; numbers and a boolean the role
    reads from strings) the checks pass."""
    monkeypatch.setenv("ANSIBLE_RUN_TAGS", "nginx_proxy_preflight")
    playbook = PLAYBOOK.replace("name: proxylab.webstack.nginx_proxy", "name: proxylab.webstack.nginx_proxy\n      tags: [always]")
    result = ansible_playbook(playbook, scratch_host, {**VALID, "nginx_proxy_tls": False,
                                                       "nginx_proxy_domain_aliases": ["www.dumbflix.lab"],
                                                       "nginx_proxy_gzip_comp_level": "6", "nginx_proxy_health_checks": "yes",
                                                       "nginx_proxy_health_check_interval": "2"},
                              tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert re.search(r"TASK \[[^]]*Check every input of the role at once\] \*+\nskipping:", result.stdout), result.stdout
    assert "Install nginx" not in result.stdout
    assert "install ok installed" not in nginx_installed(scratch_host)
