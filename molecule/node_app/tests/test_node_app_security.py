"""Least privilege and secrets, tested the hard way: the app's user plants links to a root-owned
canary in every release, a new source is deployed with -vvv, and then the canary must be untouched,
the secret of node_app_env nowhere it must not be, and the app must still see it.

Runs last: it deploys hello-app 2.0.0 on every host."""

import json
from functools import partial

import pytest

from conftest import SCENARIO, activation_needed, app_environment, fetch, shows, state
from helpers import docker_sh, molecule_playbook, node_app_facts

HOSTS = ("node-app-deb12-start", "node-app-deb12-static", "node-app-deb13-start", "node-app-deb13-static")
# hello-app is enough here (its npm ci takes a second): what matters is what root does around it.
NEW_STEPS = {"all": "hello-v2"}
CANARY = "/srv/canary"
APP_USERS = {"node-app-deb12-start": "nodeapp", "node-app-deb12-static": "nodeapp",
             "node-app-deb13-start": "front", "node-app-deb13-static": "front"}


sh = partial(docker_sh, check=False, timeout=None)


def canary_state(name):
    return sh(name, f"find {CANARY} {CANARY}-file -printf '%p %u %g %m %y %s\\n' | sort; cat {CANARY}/* {CANARY}-file").stdout


@pytest.fixture(scope="module")
def attack():
    """Plant links in every release as the app's user, then deploy a new source with -vvv."""
    before, planted = {}, {}
    for name in HOSTS:
        sh(name, f"mkdir -p {CANARY}/static/js && echo canary > {CANARY}/canary.txt && echo canary > {CANARY}-file"
                 f" && chmod 755 {CANARY} && chmod 644 {CANARY}/canary.txt {CANARY}-file")
        before[name] = canary_state(name)
        base = json.loads(sh(name, "cat /etc/ansible/facts.d/node_app.fact").stdout)["dir"] + "/releases"
        releases = sh(name, f"ls {base}").stdout.split()
        # The app's user owns each release: it may replace anything in it with a link.
        script = "set -e; " + " ".join(
            f"cd {base}/{r}; for d in src node_modules build; do rm -rf $d; ln -s {CANARY} $d; done;"
            f" rm -f package.json; ln -s {CANARY}-file package.json; ln -s {CANARY} planted;"
            for r in releases
        )
        result = sh(name, script, user=APP_USERS[name])
        assert result.returncode == 0, result.stderr
        planted[name] = releases
    result = molecule_playbook(SCENARIO / "redeploy.yml", "-vvv", "-e", json.dumps({"node_app_test_steps": NEW_STEPS}),
                               timeout=1800)
    needed = {name: activation_needed(name) for name in HOSTS} if result.returncode == 0 else {}
    return before, planted, result, needed


def test_deploy_through_planted_links_succeeds(host, app, attack):
    _, planted, result, needed = attack
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    assert needed[app["host"]] is True
    assert shows(fetch(host, app)[1], "hello-app", "2.0.0")
    books = state(host, app)
    assert books["release"] not in books["failed_releases"]
    live = "%s/releases/%s" % (app["node_app_dir"], books["release"])
    assert host.file(live).is_directory and not host.file(live).is_symlink
    assert host.file(live + "/package.json").is_file and not host.file(live + "/package.json").is_symlink
    # In start mode the live release (hello-app 1.0.0) had the same dependencies, but its
    # node_modules was a link: it was not copied, `npm ci` ran instead.
    assert books["info"][books["release"]]["deps_from"] == "npm ci"


def test_root_wrote_nothing_through_the_planted_links(host, app, attack):
    before, planted, _, _ = attack
    assert canary_state(app["host"]) == before[app["host"]]
    assert "canary.txt" in before[app["host"]]
    # Old releases were removed (shutil.rmtree does not follow links) and the canary survived.
    on_disk = node_app_facts(host)["releases"]
    removed = [r for r in planted[app["host"]] if r not in on_disk]
    assert removed, "no release with planted links was removed"


def test_secret_is_not_in_the_ansible_output_at_vvv(app, attack):
    _, _, result, _ = attack
    output = result.stdout + result.stderr
    assert "ESTABLISH DOCKER CONNECTION" in output  # -vvv output indeed
    assert app["node_app_test_secret"] not in output


def test_secret_is_not_in_the_journal_nor_on_sudo_command_lines(host, app, attack):
    journal = host.check_output("sudo journalctl --no-pager -o cat")
    # sudo logs every command it runs as root or as the app's user: the deploys are all there.
    assert "COMMAND=" in journal and "USER=%s" % app["node_app_user"] in journal
    assert app["node_app_test_secret"] not in journal


def test_files_holding_the_secret_are_unreadable_by_other_users(host, app, attack):
    secret = app["node_app_test_secret"]
    # The secret goes to grep on its stdin: on a command line, sudo would log it to the journal.
    found = sh(app["host"], "grep -rlsF -f - /home /srv /etc /var /tmp /root /run /usr/local", stdin=secret + "\n")
    found = found.stdout.split()
    home = "/home/" + app["node_app_user"]
    assert set(found) >= {
        "%s/%s.ecosystem.config.js" % (home, app["node_app_name"]),
        "%s/%s.build.env" % (home, app["node_app_name"]),
        "%s/.pm2/dump.pm2" % home,
    }, found
    for path in found:
        assert path.startswith(home + "/"), path
        denied = host.run("sudo runuser -u nobody -- cat %s", path)
        assert denied.rc != 0 and secret not in denied.stdout, path


def test_the_app_still_sees_the_secret(host, app, attack):
    environ = app_environment(host, app)
    assert environ["NODE_APP_TEST_SECRET"] == app["node_app_test_secret"]


def test_the_app_port_answers_loopback_but_not_other_hosts(host, app):
    # No proxy group in this scenario: only loopback may connect. Another host of the scenario gets a
    # TCP reset on the app's port (curl: connection refused), while SSH on the same host stays open.
    name = app["host"]
    assert fetch(host, app)[0] == "200"
    # The app listens on every address: a refusal from outside is the firewall's.
    listening = sh(name, f"ss -Htln 'sport = :{app['node_app_port']}'").stdout
    assert "0.0.0.0:" in listening or "*:" in listening or "[::]:" in listening, listening
    neighbour = next(other for other in HOSTS if other != name)
    refused = sh(neighbour, f"curl -s -o /dev/null --max-time 5 http://{name}:{app['node_app_port']}/")
    assert refused.returncode == 7, (refused.returncode, refused.stderr)
    assert sh(neighbour, f"bash -c 'exec 3<>/dev/tcp/{name}/22'").returncode == 0
    # The rules are a table of the app's own: what else is in nftables is not ours to touch.
    table = sh(name, "nft list tables").stdout.split()
    assert f"node_app_{app['node_app_name'].replace('-', '_').replace('.', '_')}" in table, table
