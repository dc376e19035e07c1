"""Changes both tiers must agree on, under steady load through the proxy: the app's port and its
health path, changed together, rolled over both app servers and back (the proxies follow each server as it switches),
a switch the proxies cannot reach (rolled back on the first server, the run fails naming it), and a
site whose proxies point where no server listens, brought back by one plain run that also deploys a
new release, and a change of the site's domain, the old name answering until the new one does.
Every answer other than 200, page or asset, counts as failed."""

import json
import os
import re
import time
from pathlib import Path

import pytest

from conftest import APPS
from helpers import container_address, derive_fixture, docker_sh, node_app_facts, recap, wait_until
from test_deploy import Load, app_host, assert_nothing_failed, out_of_rotation, playbook

testinfra_hosts = ["ansible://default-proxy"]
UPSTREAMS = "/etc/nginx/nginx-proxy/upstreams.json"


def proxy_sends_to(host):
    """{inventory host: (port, health path)} as the proxy's upstream data has them."""
    data = json.loads(host.check_output(f"cat {UPSTREAMS}"))
    return {server["inventory_host"]: (server["port"], server["health_path"])
            for upstream in data["upstreams"] for server in upstream["servers"]}


def site_status(host):
    return host.check_output("curl -s -o /dev/null -w '%{http_code}' -H 'Host: dumbflix.lab' http://127.0.0.1/")


def ports_listening(name):
    return set(re.findall(r":(\d+)\s", docker_sh(name, "ss -Hltn").stdout))


@pytest.fixture(scope="module")
def third():
    dest = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "fixtures" / "hello-app-v3"
    return derive_fixture("hello-app", dest, "3.0.0")


# The port and the health path change in the same run, and back: each server moves to its new port
# and health path as it switches, and the proxies follow it (one run each way: each takes minutes).
CHANGE = {"node_app_port": 3100, "node_app_health_path": "/index.html"}


def test_a_change_both_tiers_must_agree_on_fails_no_request_and_neither_does_the_change_back(host):
    for label, extra, wanted in (("there", CHANGE, (3100, "/index.html")), ("back", {}, (3000, "/"))):
        load = Load(host, f"tiers-port-and-health-path-{label}")
        result = playbook("site.yml", "-e", json.dumps(extra)) if extra else playbook("site.yml")
        report = load.stop()
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        assert_nothing_failed(report)
        print(f"\nport and health path {label}: {report['ok']} of {report['requests']} pages answered, "
              f"p50 {report['p50_ms']} ms, p99 {report['p99_ms']} ms, max {report['max_ms']} ms")
        assert proxy_sends_to(host) == {name: wanted for name in APPS}
        for name in APPS:
            facts = node_app_facts(app_host(name))
            assert (facts["port"], facts["health_path"]) == wanted
            assert str(wanted[0]) in ports_listening(name)
        assert out_of_rotation(host) == {}


def test_a_switch_the_proxies_cannot_reach_is_rolled_back_on_the_first_server(host):
    before = {name: node_app_facts(app_host(name)) for name in APPS}
    load = Load(host, "tiers-unreachable")
    # PM2's static server listens on loopback only: the health gate (on 127.0.0.1) passes, the
    # proxies cannot reach it.
    result = playbook("site.yml", "-e", json.dumps({"node_app_env": {"PM2_SERVE_HOST": "127.0.0.1"}}))
    report = load.stop()
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert_nothing_failed(report)
    assert re.search(r"The settings of this run \(environment, port, mode\) of \S+, release \S+, was not reached through"
                     r" the proxies and were rolled back", output), output[-3000:]
    assert re.search(r"Rolled back: release \S+ is live again and answers \(port 3000\)", output), output[-3000:]
    # Only the first server tried it; both serve as before, from every address.
    for name in APPS:
        assert node_app_facts(app_host(name))["release"] == before[name]["release"]
        assert "0.0.0.0:3000" in docker_sh(name, "ss -Hltn").stdout
    assert out_of_rotation(host) == {}
    assert proxy_sends_to(host) == {name: (3000, "/") for name in APPS}
    # The next plain run has nothing to put back.
    again = playbook("site.yml")
    assert again.returncode == 0 and all(c["changed"] == 0 for c in recap(again.stdout).values()), again.stdout[-3000:]


class DomainPoller:
    """Asks the proxy for both names every 50 ms, from the controller, and keeps when each answered."""

    def __init__(self, names):
        import threading

        self.names, self.rounds, self.stop_event = names, [], threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def ask(self, name):
        import http.client

        connection = http.client.HTTPConnection(container_address("default-proxy"), 80, timeout=2)
        try:
            connection.request("GET", "/", headers={"Host": name})
            return connection.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()

    def run(self):
        while not self.stop_event.is_set():
            self.rounds.append({name: self.ask(name) for name in self.names})
            time.sleep(0.05)

    def stop(self):
        self.stop_event.set()
        self.thread.join(timeout=10)
        return self.rounds


@pytest.mark.parametrize("old, new", [("dumbflix.lab", "shop.lab"), ("shop.lab", "dumbflix.lab")])
def test_a_domain_change_lets_the_old_name_go_only_once_the_new_one_answers(host, old, new):
    poller = DomainPoller([old, new])
    extra = ["-e", f"nginx_proxy_domain={new}"] if new != "dumbflix.lab" else []
    result = playbook("site.yml", *extra)
    rounds = poller.stop()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    first_new = next(i for i, answered in enumerate(rounds) if answered[new])
    last_old = max(i for i, answered in enumerate(rounds) if answered[old])
    neither = [i for i, answered in enumerate(rounds) if not any(answered.values())]
    print(f"\n{old} -> {new}: {len(rounds)} rounds of both names; {new} first answered in round {first_new}, "
          f"{old} last in round {last_old}; rounds where neither answered: {len(neither)}")
    assert first_new < last_old
    assert neither == []
    assert not host.file(f"/etc/nginx/sites-available/nginx-proxy-{old}.conf").exists
    assert not host.file(f"/etc/nginx/sites-enabled/nginx-proxy-{old}.conf").exists


# The last test of the scenario: it leaves release 3.0.0 live, which no test after it would expect.
def test_a_run_with_a_new_release_brings_back_a_site_whose_proxies_point_nowhere(host, third):
    # As a cut-short port change leaves it: every proxy entry on a port no server listens on.
    data = json.loads(host.check_output(f"cat {UPSTREAMS}"))
    for upstream in data["upstreams"]:
        for server in upstream["servers"]:
            server["port"] = 3999
            server["address"] = f"{server['host']}:3999"
    docker_sh("default-proxy", f"cat > {UPSTREAMS}", stdin=json.dumps(data, indent=4, sort_keys=True) + "\n")
    host.check_output("nginx-proxy-rotation apply")
    # The new workers take over a moment after the reload.
    wait_until(lambda: site_status(host).startswith("50"), timeout=10, message=lambda: f"the site answers {site_status(host)}")

    result = playbook("site.yml", "-e", f"node_app_src={third}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert proxy_sends_to(host) == {name: (3000, "/") for name in APPS}
    for name in APPS:
        assert "3.0.0" in docker_sh(name, "curl -s http://127.0.0.1:3000/").stdout
    assert site_status(host) == "200"
