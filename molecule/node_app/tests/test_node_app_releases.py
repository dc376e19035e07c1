"""Releases after side_effect.yml: the layout, the bookkeeping, carried assets, reuse of
node_modules, the 0.1.0 layout taken over, check mode (which must change nothing), and re-runs
that must see what changed behind the role's back."""

import json

import pytest

from conftest import LIVE, SCENARIO, activation_needed, app_processes, cra_releases, fetch, shows, state
from helpers import docker_sh, molecule_playbook, node_app_facts, recap

# Two hosts get a new source, the two others the source of their live release.
NEW_IN_CHECK_MODE = {"node-app-deb12-start", "node-app-deb13-static"}
LIVE_STEP = {"start": "hello-v1", "static": "cra-v2"}
NEW_STEP = {"start": "hello-v2", "static": "cra-v4"}
MODES = {"node-app-deb12-start": "start", "node-app-deb12-static": "static",
         "node-app-deb13-start": "start", "node-app-deb13-static": "static"}


def stat(host, path):
    """owner group mode(octal) type of a path, not following links."""
    return host.check_output("sudo stat -c '%%U %%G %%a %%F' %s", path)


def test_node_app_dir_and_releases_belong_to_root_and_each_release_to_the_app_user(host, app):
    base = app["node_app_dir"]
    user = app["node_app_user"]
    assert stat(host, base) == "root root 755 directory"
    assert stat(host, base + "/releases") == "root root 755 directory"
    assert stat(host, base + "/current") == "root root 777 symbolic link"
    on_disk = host.check_output("sudo ls %s/releases", base).split()
    assert sorted(on_disk) == sorted(node_app_facts(host)["releases"])
    for release in on_disk:
        assert stat(host, "%s/releases/%s" % (base, release)) == "%s %s 750 directory" % (user, user)
    # Only what the app needs is left in node_app_dir (the 0.1.0 layout was taken over on deb13-start).
    assert sorted(host.check_output("sudo ls -A %s", base).split()) == ["current", "releases"]


def test_the_app_user_home_and_pm2_home_are_private(host, app):
    home = "/home/" + app["node_app_user"]
    assert stat(host, home).split()[2] == "700"
    assert stat(host, home + "/.pm2").split()[2] == "700"
    for name in (app["node_app_name"] + ".ecosystem.config.js", app["node_app_name"] + ".build.env", ".pm2/dump.pm2"):
        owner, group, mode, _ = stat(host, "%s/%s" % (home, name)).split(" ", 3)
        assert (owner, mode) == (app["node_app_user"], "600"), name


def test_bookkeeping_is_root_only_and_agrees_with_the_facts(host, app):
    assert stat(host, "/var/lib/node_app") == "root root 700 directory"
    assert stat(host, "/var/lib/node_app/" + app["node_app_name"]) == "root root 700 directory"
    assert stat(host, "/var/lib/node_app/%s/state.json" % app["node_app_name"]) == "root root 600 regular file"
    books, found = state(host, app), node_app_facts(host)
    for key in ("release", "previous_release", "releases", "failed_releases"):
        assert books[key] == found[key], key
    assert all(books["info"][r]["prepared"] for r in books["releases"] if r not in books["failed_releases"])


def test_releases_are_kept_up_to_node_app_keep_releases(host, app):
    books = state(host, app)
    # Start mode made 3 releases (hello-app 1.0.0, hello-app-broken, cra-app 1.0.0); static mode a
    # 4th (cra-app 1.0.0, hello-app-broken, 2.0.0, 3.0.0), and the failed release went first.
    assert len(books["releases"]) == app["node_app_keep_releases"]
    assert books["release"] in books["releases"] and books["previous_release"] in books["releases"]
    if app["node_app_mode"] == "static":
        assert books["failed_releases"][0] not in books["releases"]
        assert not host.file("%s/releases/%s" % (app["node_app_dir"], books["failed_releases"][0])).exists


def test_node_modules_are_copied_when_only_the_version_changed(host, app):
    books = state(host, app)
    cra = cra_releases(books)
    assert books["info"][cra[1]]["deps_from"] == "npm ci"
    if app["node_app_mode"] == "start":
        # Start mode deployed cra-app once, after hello-app: nothing to copy from.
        assert set(cra) == {1}
        return
    # cra-app 2.0.0 and 3.0.0 only bumped the version: same dependencies, no `npm ci`.
    for version in (2, 3):
        info = books["info"][cra[version]]
        assert info["deps_from"] == "copy of " + cra[version - 1], version
        assert info["deps"] == books["info"][cra[1]]["deps"], version


def test_assets_are_carried_between_releases_and_do_not_pile_up(host, app):
    if app["node_app_mode"] != "static":
        pytest.skip("assets are carried in static mode only; this host runs the dev server")
    books = state(host, app)
    cra = cra_releases(books)
    base = app["node_app_dir"] + "/releases/"

    def own(version):
        return set(books["info"][cra[version]]["assets"])

    def files(version):
        out = host.check_output("sudo find %s -type f -printf '%%P\\n'", base + cra[version] + "/build/static")
        return {"static/" + name for name in out.split()}

    # 2.0.0 (live) holds 1.0.0's own assets: a page of 1.0.0 still finds its bundles.
    old = own(1) - own(2)
    assert any(a.startswith("static/js/main.") for a in old), old
    assert old <= files(2)
    for asset in old:
        status, body = fetch(host, app, "/" + asset)
        assert status == "200" and not body.lstrip().startswith("<!"), asset
        assert host.file(base + cra[2] + "/build/" + asset).sha256sum == host.file(base + cra[1] + "/build/" + asset).sha256sum
    # 3.0.0 holds 2.0.0's own assets, but not what 2.0.0 carried from 1.0.0.
    assert own(2) - own(3) <= files(3)
    assert not (old - own(3)) & files(3)
    # And the other way: 2.0.0, live again after the rollback from 3.0.0, holds 3.0.0's own assets
    # (a page of 3.0.0 still finds its bundles).
    newer = own(3) - own(2)
    assert any(a.startswith("static/js/main.") for a in newer), newer
    assert newer <= files(2)


def test_the_layout_of_node_app_0_1_0_was_taken_over(host, app):
    if app["host"] != "node-app-deb13-start":
        pytest.skip("only node-app-deb13-start was laid out as node_app 0.1.0 did")
    # prepare.yml left a link `releases` -> /etc there: node_app replaced it, /etc is untouched.
    assert stat(host, "/etc") == "root root 755 directory"
    for release in state(host, app)["releases"]:
        assert not host.file("/etc/" + release).exists
    assert not host.file(app["node_app_dir"] + "/package.json").exists


@pytest.fixture(scope="module")
def check_mode_run():
    """One check-mode run: a new source (cra-app 3.0.0) on two hosts, the live one on the others."""

    def snapshot():
        out = {}
        for name in MODES:
            out[name] = _snapshot(name)
        return out

    before = snapshot()
    # redeploy.yml runs tasks_from: prepare, then tasks_from: activate where needed.
    steps = {name: (NEW_STEP if name in NEW_IN_CHECK_MODE else LIVE_STEP)[mode] for name, mode in MODES.items()}
    result = molecule_playbook(SCENARIO / "redeploy.yml", "--check", "--diff", "-e", json.dumps({"node_app_test_steps": steps}),
                               timeout=1800)
    needed = {name: activation_needed(name) for name in MODES} if result.returncode == 0 else {}
    return before, result, snapshot(), needed


def _snapshot(name):
    script = (
        "set -e; sha256sum /var/lib/node_app/*/state.json /etc/ansible/facts.d/node_app.fact /home/*/*.ecosystem.config.js;"
        "readlink /srv/*/current; ls /srv/*/releases; systemctl show -p MainPID --value pm2-$(ls /home | grep -v deploy).service;"
        "curl -s -m 5 http://127.0.0.1:$(python3 -c 'import json;print(json.load(open(\"/etc/ansible/facts.d/node_app.fact\"))[\"port\"])')/"
        " | grep -o '<title>[^<]*\\|id=.version.>[^<]*'"
    )
    return docker_sh(name, script, check=False, timeout=None).stdout


def test_check_mode_reports_a_new_source_as_a_change_and_changes_nothing(host, app, check_mode_run):
    before, result, after, needed = check_mode_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    counts = recap(result.stdout)[app["host"]]
    assert counts["failed"] == 0
    if app["host"] in NEW_IN_CHECK_MODE:
        assert counts["changed"] > 0 and needed[app["host"]] is True
    else:
        assert counts["changed"] == 0, "check mode with the live source reported changes"
        assert needed[app["host"]] is False
    assert before[app["host"]] and after[app["host"]] == before[app["host"]]
    assert shows(fetch(host, app)[1], *LIVE[app["node_app_mode"]])


# A fork-mode app and a cluster-mode one (2 instances) are stopped under PM2 behind the role's back.
STOPPED = {"node-app-deb12-start", "node-app-deb13-static"}


@pytest.fixture(scope="module")
def stopped_run():
    """Stop the app under PM2 on two hosts, then deploy the live source again on every host."""
    for name in STOPPED:
        facts = json.loads(docker_sh(name, "cat /etc/ansible/facts.d/node_app.fact").stdout)
        docker_sh(name, f"runuser -u {facts['user']} -- env PM2_HOME={facts['pm2_home']} pm2 stop {facts['name']}",
                  timeout=60)
    steps = {name: LIVE_STEP[mode] for name, mode in MODES.items()}
    result = molecule_playbook(SCENARIO / "redeploy.yml", "-e", json.dumps({"node_app_test_steps": steps}), timeout=1800)
    needed = {name: activation_needed(name) for name in MODES} if result.returncode == 0 else {}
    return result, needed


def test_a_rerun_brings_back_an_app_stopped_under_pm2_and_leaves_the_others(host, app, stopped_run):
    result, needed = stopped_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    counts = recap(result.stdout)[app["host"]]
    if app["host"] in STOPPED:
        assert needed[app["host"]] is True and counts["changed"] > 0
    else:
        assert needed[app["host"]] is False and counts["changed"] == 0
    online = [p for p in app_processes(host, app) if p["pm2_env"]["status"] == "online"]
    assert len(online) == app["node_app_instances"]
    assert shows(fetch(host, app)[1], *LIVE[app["node_app_mode"]])


def ecosystem_file(app):
    return "/home/%s/%s.ecosystem.config.js" % (app["node_app_user"], app["node_app_name"])


# A host whose ecosystem file is edited by hand after stopped_run.
EDITED = "node-app-deb12-start"


def setup_record_stamp(name):
    """Inode and mtime of the set-up's record: the set-up rewrites it whenever it runs."""
    return docker_sh(name, "stat -c '%i %y' /var/lib/node_app/*/setup.json").stdout


@pytest.fixture(scope="module")
def edited_run(stopped_run):
    """After stopped_run, edit the ecosystem file of EDITED by hand (as its user, keeping its mode),
    then deploy the live source again on every host with the inputs of stopped_run."""
    assert stopped_run[0].returncode == 0
    facts = json.loads(docker_sh(EDITED, "cat /etc/ansible/facts.d/node_app.fact").stdout)
    path = ecosystem_file({"node_app_user": facts["user"], "node_app_name": facts["name"]})
    docker_sh(EDITED, "echo '// edited by hand' >> " + path, user=facts["user"])
    stamps = {name: setup_record_stamp(name) for name in MODES}
    steps = {name: LIVE_STEP[mode] for name, mode in MODES.items()}
    result = molecule_playbook(SCENARIO / "redeploy.yml", "-e", json.dumps({"node_app_test_steps": steps}), timeout=1800)
    needed = {name: activation_needed(name) for name in MODES} if result.returncode == 0 else {}
    return result, needed, stamps


def test_a_rerun_with_nothing_new_sees_an_ecosystem_file_edited_by_hand(host, app, edited_run):
    result, needed, stamps = edited_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # The inputs were those of the run before and the set-up was left alone (its record untouched):
    # the quick re-run was in force on every host.
    assert setup_record_stamp(app["host"]) == stamps[app["host"]]
    counts = recap(result.stdout)[app["host"]]
    if app["host"] == EDITED:
        assert needed[app["host"]] is True and counts["changed"] > 0
        assert "edited by hand" not in docker_sh(app["host"], "cat " + ecosystem_file(app)).stdout
    else:
        assert needed[app["host"]] is False and counts["changed"] == 0
    online = [p for p in app_processes(host, app) if p["pm2_env"]["status"] == "online"]
    assert len(online) == app["node_app_instances"]
    assert shows(fetch(host, app)[1], *LIVE[app["node_app_mode"]])
