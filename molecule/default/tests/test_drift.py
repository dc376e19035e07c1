"""A plain re-run puts back whatever the roles manage: drifts of every kind are made on both app
servers (Debian 12 and 13) and on the proxy (tests/drift.py), then one plain run of site.yml must
put each back, the site must serve from both app servers, and a second run must change nothing.
Drift that the roles cannot repair safely is refused, naming it, before anything changes."""

import json
import re

from conftest import APPS, app_host
from drift import app_drifts, make, not_repaired, proxy_drifts
from helpers import REPO_ROOT, docker_sh, molecule_playbook, node_app_facts, recap
from test_stack import request

testinfra_hosts = ["ansible://default-proxy"]
PROXY = "default-proxy"
REPORT = REPO_ROOT / ".cache" / "drift-report.json"


def site_yml(*args):
    return molecule_playbook(REPO_ROOT / "playbooks" / "site.yml", *args, timeout=1200)


def shell(container):
    return lambda script: docker_sh(container, script, check=False)


def drifts_of(name):
    facts = node_app_facts(app_host(name))
    facts["table"] = "node_app_" + re.sub(r"[^a-z0-9_]", "_", facts["name"])
    chosen = app_drifts(facts)
    # The first server loses its table, the second gets a rule added to it; only the first has its app
    # stopped, so that the site still serves while the drifts are made.
    skip = {"a rule of the app's table changed in the kernel"} if name == APPS[0] else {
        "the app's nftables table deleted", "the app stopped under PM2"}
    return [drift for drift in chosen if drift.name not in skip]


def test_one_plain_run_puts_back_every_drift(host):
    proxy_facts = json.loads(host.file("/etc/ansible/facts.d/nginx_proxy.fact").content_string)
    hosts = {name: drifts_of(name) for name in APPS}
    hosts[PROXY] = proxy_drifts(proxy_facts)
    assert sum(len(drifts) for drifts in hosts.values()) >= 20
    for name, drifts in hosts.items():
        make(drifts, shell(name))

    result = site_yml()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    left = {name: not_repaired(drifts, shell(name)) for name, drifts in hosts.items()}
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps({name: [{"drift": d.name, "kind": d.kind,
                                          "repaired": d.name not in [x["drift"] for x in left[name]]}
                                         for d in drifts] for name, drifts in hosts.items()}, indent=1) + "\n")
    assert left == {name: [] for name in hosts}, json.dumps(left, indent=1)

    # The site serves, from both app servers.
    upstreams = set()
    for _ in range(10):
        status, upstream, _body = request(host)
        assert status == 200
        upstreams.add(upstream)
    assert len(upstreams) == 2, upstreams

    again = site_yml()
    assert again.returncode == 0, again.stdout[-3000:]
    assert all(counts["changed"] == 0 for counts in recap(again.stdout).values()), again.stdout[-3000:]


def test_a_drift_that_cannot_be_repaired_safely_is_refused_naming_it(host):
    # Anyone may write to the directory above node_app_dir: root must not write below it, and cannot
    # undo it safely (the directory is not the role's).
    record = "stat -c '%Y %i' /var/lib/node_app/*/setup.json"
    before = docker_sh(APPS[0], record).stdout
    docker_sh(APPS[0], "chmod o+w /srv")
    try:
        result = site_yml()
        output = " ".join((result.stdout + result.stderr).split())
        assert result.returncode != 0
        assert "node_app_dir /srv/dumbflix-frontend must be a directory of its own" in output, output[-3000:]
        assert all(counts["changed"] == 0 for counts in recap(result.stdout).values()), result.stdout[-3000:]
        # Nothing was taken in as the new normal.
        assert docker_sh(APPS[0], record).stdout == before
    finally:
        docker_sh(APPS[0], "chmod o-w /srv")
    result = site_yml()
    assert result.returncode == 0, result.stdout[-3000:]
    assert all(counts["changed"] == 0 for counts in recap(result.stdout).values()), result.stdout[-3000:]
