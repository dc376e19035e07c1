"""Releases after side_effect.yml: the layout, the bookkeeping, carried assets, reuse of
node_modules, the 0.1.0 layout taken over, and check mode (which must change nothing)."""

import json

import pytest

from conftest import ansible_playbook, facts, fetch, recap, state, title

# deb12-static holds the release that failed to build (cra-app 3.0.0): it gets the new source, as a
# re-run with the live source there would remove that extra release.
NEW_IN_CHECK_MODE = {"node-app-deb12-static", "node-app-deb13-start"}


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
    assert sorted(on_disk) == sorted(facts(host)["releases"])
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
    books, found = state(host, app), facts(host)
    for key in ("release", "previous_release", "releases", "failed_releases"):
        assert books[key] == found[key], key
    assert all(books["info"][r]["prepared"] for r in books["releases"] if r not in books["failed_releases"])


def test_releases_are_kept_up_to_node_app_keep_releases(host, app):
    books = state(host, app)
    releases = books["releases"]
    # Every host made 5 releases (hello-app 1, 2, broken; cra-app 1, 2); 3 are kept, the failed one
    # going first. deb12-static then failed to build cra-app 3.0.0 in prepare, which prunes nothing.
    expected = app["node_app_keep_releases"] + (1 if app["host"] == "node-app-deb12-static" else 0)
    assert len(releases) == expected
    assert releases[-2:] == [books["previous_release"], books["release"]] or releases[-3:-1] == [
        books["previous_release"],
        books["release"],
    ]


def test_node_modules_of_the_live_release_came_from_the_release_before(host, app):
    books = state(host, app)
    live, previous = books["info"][books["release"]], books["info"][books["previous_release"]]
    # cra-app 2.0.0 only bumped its version: same dependencies, so no `npm ci`.
    assert live["deps"] == previous["deps"]
    assert live["deps_from"] == "copy of " + books["previous_release"]
    assert previous["deps_from"] == "npm ci"


def test_the_previous_releases_own_assets_still_resolve_and_carried_ones_do_not_pile_up(host, app):
    if app["node_app_mode"] != "static":
        pytest.skip("assets are carried in static mode only; this host runs the dev server")
    books = state(host, app)
    base = app["node_app_dir"] + "/releases/"
    live, previous = books["release"], books["previous_release"]
    own = books["info"][previous]["assets"]
    assert own and all(a.startswith("static/") for a in own)
    for asset in own:
        if asset in books["info"][live]["assets"]:
            continue
        status, body = fetch(host, app, "/" + asset)
        assert status == "200" and not body.lstrip().startswith("<!"), asset
        assert host.file(base + live + "/build/" + asset).sha256sum == host.file(base + previous + "/build/" + asset).sha256sum
    # cra-app 1.0.0 carried hello-app's static/version.txt; cra-app 2.0.0 must not carry it on.
    carried_before = set(host.check_output("sudo find %s -type f -printf '%%P\\n'", base + previous + "/build/static").split())
    carried_before = {"static/" + a for a in carried_before} - set(own)
    assert "static/version.txt" in carried_before
    assert not host.file(base + live + "/build/static/version.txt").exists


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
        for name in ("node-app-deb12-start", "node-app-deb12-static", "node-app-deb13-start", "node-app-deb13-static"):
            out[name] = _snapshot(name)
        return out

    before = snapshot()
    steps = {name: "cra-v3" for name in NEW_IN_CHECK_MODE}
    steps["all"] = "cra-v2"
    result = ansible_playbook("redeploy.yml", "--check", "--diff", "-e", json.dumps({"node_app_test_steps": steps}))
    return before, result, snapshot()


def _snapshot(name):
    import subprocess

    script = (
        "set -e; sha256sum /var/lib/node_app/*/state.json /etc/ansible/facts.d/node_app.fact /home/*/*.ecosystem.config.js;"
        "readlink /srv/*/current; ls /srv/*/releases; systemctl show -p MainPID --value pm2-$(ls /home | grep -v deploy).service;"
        "curl -s -m 5 http://127.0.0.1:$(python3 -c 'import json;print(json.load(open(\"/etc/ansible/facts.d/node_app.fact\"))[\"port\"])')/"
        " | grep -o '<title>[^<]*'"
    )
    return subprocess.run(["docker", "exec", name, "sh", "-c", script], capture_output=True, text=True, check=False).stdout


def test_check_mode_with_a_new_source_reports_a_change_and_changes_nothing(host, app, check_mode_run):
    before, result, after = check_mode_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    counts = recap(result.stdout)[app["host"]]
    assert counts["failed"] == 0
    if app["host"] in NEW_IN_CHECK_MODE:
        assert counts["changed"] > 0
    else:
        assert counts["changed"] == 0, "check mode with the live source reported changes"
    assert before[app["host"]] and after[app["host"]] == before[app["host"]]
    assert title(fetch(host, app)[1]) == "cra-app 2.0.0"
