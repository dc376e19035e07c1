"""Changes to the whole stack under steady load through the proxy, as users make them: site.yml in
check mode, a rolling deploy of a new release, a release that does not serve, rollback.yml.

Converge deployed hello-app 1.0.0 in static mode (a page naming a hashed bundle, as Create React App
builds it). The tests run in order and tell one story: 1.0.0 -> 2.0.0 -> a broken release refused ->
rollback to 1.0.0, which leaves the stack as converge made it for the tests after these. During each
change a browser-like load (webstack-load.py --assets: every page, then every asset it names) runs
from the controller through the proxy, and every answer other than 200 counts as failed."""

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import APPS, DOMAIN, app_host
from helpers import FIXTURES, REPO_ROOT, container_address, derive_fixture, http_get, molecule_playbook, node_app_facts, recap

testinfra_hosts = ["ansible://default-proxy"]

LOAD_SCRIPT = REPO_ROOT / "playbooks" / "files" / "webstack-load.py"
# The load reports stay after the scenario's instances are gone, for a look at the latencies.
REPORTS = REPO_ROOT / ".cache" / "deploy-reports"
BUNDLE = re.compile(r'src="(/static/js/main\.[0-9a-f]+\.js)"')
# The bundle's content, as tests/fixtures/hello-app/build.js writes it.
BUNDLE_OF = "document.title += ' (bundle {})';"


def facts(name):
    """ansible_local.node_app of an app server: the live release, the one before, the failed ones."""
    return node_app_facts(app_host(name))


def page_on(name, path="/"):
    """Status and body of the app server's own answer (its port, not through the proxy)."""
    return http_get(app_host(name), 3000, path)


def asset_on(name, path):
    """Status and content of an asset on the app server's own port."""
    status, body = page_on(name, path)
    return status, body.strip()


def version_of(body):
    found = re.search(r'<span id="version">([^<]+)</span>', body)
    return found.group(1) if found else None


def playbook(name, *args):
    """ansible-playbook of the collection against this scenario's inventory, from the controller."""
    return molecule_playbook(REPO_ROOT / "playbooks" / name, *args, timeout=900)


class Load:
    """Steady browser-like load through the proxy while a change runs; the report counts every answer."""

    def __init__(self, host, label):
        self.label = label
        address = container_address("default-proxy")
        # Bounded: 2 clients, 20 ms between pages (some 60 pages and as many assets a second), at most 15 minutes.
        self.process = subprocess.Popen(
            [sys.executable, str(LOAD_SCRIPT), "--url", f"http://{address}/", "--host", DOMAIN, "--assets",
             "--clients", "2", "--pause", "0.02", "--seconds", "900"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        out, err = self.process.communicate(timeout=60)
        assert self.process.returncode == 0, err
        report = json.loads(out)
        REPORTS.mkdir(parents=True, exist_ok=True)
        (REPORTS / f"{self.label}.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
        print(self.label, json.dumps(report, sort_keys=True))
        return report


def assert_nothing_failed(report):
    assert report["requests"] > 100 and report["assets"]["requests"] >= report["ok"], report
    assert report["failed"] == 0, report
    assert report["assets"]["failed"] == 0, report["assets"]


def asset_generation(host):
    """The generation of the proxy's asset cache keys (nginx-proxy-assets status, first line)."""
    return host.check_output("/usr/local/sbin/nginx-proxy-assets status").split()[1].rstrip(":")


def out_of_rotation(host):
    """Servers the proxy holds out of rotation, with the reasons."""
    servers = json.loads(host.check_output("nginx-proxy-rotation status --json"))["servers"]
    return {address: reasons for address, reasons in servers.items() if reasons}


@pytest.fixture(scope="module")
def second():
    """hello-app 2.0.0, made from tests/fixtures/hello-app (without v1-only.txt) in the scenario's own directory."""
    dest = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "fixtures" / "hello-app-v2"
    return derive_fixture("hello-app", dest, "2.0.0", drop=["v1-only.txt"])


@pytest.fixture(scope="module")
def first():
    """What converge left: release 1.0.0 live everywhere, and the bundle its page names."""
    live = {name: facts(name)["release"] for name in APPS}
    status, body = page_on(APPS[0])
    assert status == "200" and version_of(body) == "1.0.0", body
    return {"releases": live, "bundle": BUNDLE.search(body).group(1)}


def test_check_mode_with_a_new_source_reports_the_app_servers_and_changes_nothing(host, first, second):
    # (With the live source, the idempotence step already shows changed=0 everywhere.)
    result = playbook("site.yml", "--check", "--diff", "-e", f"node_app_src={second}")
    assert result.returncode == 0, result.stdout[-3000:]
    changed = recap(result.stdout)
    assert all(changed[name]["changed"] > 0 for name in APPS), changed
    for name in APPS:
        assert facts(name)["release"] == first["releases"][name]
        assert version_of(page_on(name)[1]) == "1.0.0"


def test_a_rolling_deploy_fails_no_page_and_no_asset(host, first, second):
    generation = asset_generation(host)
    load = Load(host, "deploy-2.0.0")
    result = playbook("site.yml", "-e", f"node_app_src={second}")
    report = load.stop()
    assert result.returncode == 0, result.stdout[-3000:]
    assert_nothing_failed(report)
    # After each switch the proxy's asset cache started afresh (nginx-proxy-assets renew): nothing an app
    # server answered before the deploy is served from it.
    assert asset_generation(host) != generation
    # Both servers answered during the deploy, and each was out of rotation while it switched.
    assert len(report["upstreams"]) == 2, report["upstreams"]
    for name in APPS:
        status, body = page_on(name)
        assert status == "200" and version_of(body) == "2.0.0", body
        # A browser still on the 1.0.0 page gets its bundle from any server (not the page in its place).
        assert asset_on(name, first["bundle"]) == ("200", BUNDLE_OF.format("1.0.0")), name
        assert facts(name)["previous_release"] == first["releases"][name]
    assert out_of_rotation(host) == {}


def test_a_release_that_does_not_serve_is_refused_on_the_first_server(host, first):
    """It goes live nowhere: the first server to switch rolls it back, and the run stops there."""
    before = {name: facts(name)["release"] for name in APPS}
    load = Load(host, "deploy-broken")
    # A short health gate: the release never answers, however long the gate waits.
    result = playbook("site.yml", "-e", f"node_app_src={FIXTURES / 'hello-app-broken'}", "-e", "node_app_health_timeout=20")
    report = load.stop()
    assert result.returncode != 0
    # Ansible shows a failed task's message on stderr, folded over lines.
    output = " ".join((result.stdout + result.stderr).split())
    assert_nothing_failed(report)
    refused = facts(APPS[0])
    assert refused["release"] == before[APPS[0]]
    assert len(refused["failed_releases"]) == 1, refused
    # The play says which release failed, that it failed its health gate, and that it was rolled back.
    broken = refused["failed_releases"][0]
    assert re.search(rf"Release {broken} .*failed the health gate", output), output[-3000:]
    assert re.search(r"Rolled back: release \S+ is live again and answers", output), output[-3000:]
    # The second server prepared the release beside the live one, but never switched to it.
    untouched = facts(APPS[1])
    assert untouched["release"] == before[APPS[1]] and broken != untouched["release"], untouched
    for name in APPS:
        assert version_of(page_on(name)[1]) == "2.0.0"
    assert out_of_rotation(host) == {}


def test_rollback_takes_every_server_back_one_release(host, first):
    live_bundle = BUNDLE.search(page_on(APPS[0])[1]).group(1)
    assert live_bundle != first["bundle"]
    generation = asset_generation(host)
    load = Load(host, "rollback")
    result = playbook("rollback.yml")
    report = load.stop()
    assert result.returncode == 0, result.stdout[-3000:]
    assert_nothing_failed(report)
    assert asset_generation(host) != generation
    for name in APPS:
        assert facts(name)["release"] == first["releases"][name]
        assert version_of(page_on(name)[1]) == "1.0.0"
        # A browser still on the 2.0.0 page gets its bundle from a server already rolled back.
        assert asset_on(name, live_bundle) == ("200", BUNDLE_OF.format("2.0.0")), name
    assert out_of_rotation(host) == {}
