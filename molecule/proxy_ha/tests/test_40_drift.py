"""A plain re-run puts the proxies back (Debian 12 and 13): the drifts of nginx_proxy (tests/drift.py)
and of keepalived are made on both proxies, then one plain run of site.yml must put each back, the
floating address must serve, and a second run must change nothing."""

import json

from conftest import DOMAIN, PROXIES, VIP, finish_load, start_load
from drift import Drift, make, not_repaired, proxy_drifts
from helpers import docker_sh, molecule_playbook, recap

from test_30_refused import PLAYBOOK


def keepalived_drifts():
    return [
        Drift("keepalived's configuration edited", "file content", "sed -i 's/priority [0-9]*/priority 1/' "
              "/etc/keepalived/keepalived.conf", "sha1sum /etc/keepalived/keepalived.conf; stat -c '%U %a' "
              "/etc/keepalived/keepalived.conf"),
        Drift("the track script made writable by all", "file owner/mode", "chmod 0777 /usr/local/libexec/proxy-ha/nginx-answers",
              "stat -c '%n %U %a' /usr/local/libexec/proxy-ha/nginx-answers"),
        Drift("keepalived disabled", "enabled/active state", "systemctl disable --quiet keepalived",
              "systemctl is-enabled keepalived"),
    ]


def shell(container):
    return lambda script: docker_sh(container, script, check=False)


def test_one_plain_run_puts_both_proxies_back():
    hosts = {}
    for proxy in PROXIES:
        facts = json.loads(docker_sh(proxy, "cat /etc/ansible/facts.d/nginx_proxy.fact").stdout)
        hosts[proxy] = proxy_drifts(facts) + keepalived_drifts()
    for proxy, drifts in hosts.items():
        make(drifts, shell(proxy))

    result = molecule_playbook(PLAYBOOK, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    left = {proxy: not_repaired(drifts, shell(proxy)) for proxy, drifts in hosts.items()}
    assert left == {proxy: [] for proxy in PROXIES}, json.dumps(left, indent=1)

    load = finish_load(start_load(5, clients=2))
    assert load["failed"] == 0 and load["ok"] > 0, load
    print(f"\nthrough {VIP} ({DOMAIN}) after the repair: {load['ok']} of {load['requests']} answered")

    again = molecule_playbook(PLAYBOOK, timeout=900)
    assert again.returncode == 0, again.stdout[-3000:]
    assert all(counts["changed"] == 0 for counts in recap(again.stdout).values()), again.stdout[-3000:]
