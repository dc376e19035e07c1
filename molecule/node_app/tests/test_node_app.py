"""What a user of an app server sees after side_effect.yml: hello-app 1.0.0 under PM2 in start mode,
cra-app 2.0.0 in static mode (see side_effect.yml)."""

import re

import pytest

from conftest import LIVE, app_environment, app_processes, fetch, listener_pid, owner_of, pm2, shows
from helpers import node_app_facts, wait_for


@pytest.fixture(scope="module")
def live(app):
    return LIVE[app["node_app_mode"]]


def test_node_and_pm2_on_path_of_a_non_login_shell(host, app):
    user = app["node_app_user"]
    paths = host.run("sudo -u %s sh -c 'command -v node; command -v pm2'", user)
    assert paths.rc == 0, paths.stderr
    assert paths.stdout.split() == ["/usr/bin/node", "/usr/local/bin/pm2"]
    # Node.js is the distribution's (node_app_nodejs_source: distro), PM2 the pinned version.
    packaged = host.check_output("dpkg-query -W -f '${Version}' nodejs")
    node = host.check_output("sudo -u %s sh -c 'node --version'", user)
    assert node == "v" + re.match(r"(?:\d+:)?([0-9.]+)", packaged).group(1)
    assert pm2(host, app, "--version").stdout.strip().splitlines()[-1] == app["node_app_pm2_version"]


def test_npm_is_the_release_tarball_or_debians(host, app):
    user = app["node_app_user"]
    found = host.run("sudo -u %s sh -c 'command -v npm; npm --version; npm config get prefix'", user)
    assert found.rc == 0, found.stderr
    path, version, prefix = found.stdout.split()
    # Either npm installs global packages (PM2) where the role looks for them.
    assert prefix == "/usr/local"
    debian_npm = host.run("dpkg-query -W -f '${db:Status-Status}' npm").stdout
    if app["node_app_mode"] == "start":
        # `npm start` runs with that npm: PM2 keeps the path it started the app with (and saves it
        # for a reboot), so after a switch of source it must be the npm that is there now.
        assert {p["pm2_env"]["pm_exec_path"] for p in app_processes(host, app)} == {path}
    if app["node_app_npm_source"] == "distro":
        assert path == "/usr/bin/npm" and debian_npm == "installed"
        assert not host.file("/usr/local/lib/node_app").exists
        assert not host.file("/usr/local/bin/npm").exists
        return
    # The pinned release, unpacked into a root-owned directory of its version, not Debian's package.
    home = "/usr/local/lib/node_app/npm-" + app["node_app_npm_version"]
    assert (path, version) == ("/usr/local/bin/npm", app["node_app_npm_version"])
    assert host.file(path).linked_to == home + "/bin/npm-cli.js"
    assert host.file("/usr/local/bin/npx").linked_to == home + "/bin/npx-cli.js"
    assert debian_npm != "installed"
    # Nothing of it can be changed by the app's user.
    writable = host.run("find %s %s.tgz ! -user root -o -perm /022 ! -type l", home, home)
    assert writable.rc == 0 and writable.stdout == "", writable.stdout
    assert sorted(host.file("/usr/local/lib/node_app").listdir()) == [
        "npm-" + app["node_app_npm_version"], "npm-" + app["node_app_npm_version"] + ".tgz"]


def test_app_runs_as_its_user_on_its_port(host, app):
    processes = app_processes(host, app)
    assert len(processes) == app["node_app_instances"]
    assert all(p["pm2_env"]["status"] == "online" for p in processes)
    for pid in [p["pid"] for p in processes] + [listener_pid(host, app)]:
        assert owner_of(host, pid) == app["node_app_user"]
    assert app["node_app_user"] != "root"


def test_app_serves_its_live_release(host, app, live):
    status, body = fetch(host, app)
    assert status == "200" and shows(body, *live), body[:500]


def test_client_side_route_answers_the_page(host, app, live):
    # /about exists only in the browser (react-router): the server answers it with the page.
    status, body = fetch(host, app, "/about")
    assert status == "200" and shows(body, *live), body[:500]


def test_static_mode_serves_the_build_and_start_mode_the_dev_server(host, app, live):
    build = host.file(app["node_app_dir"] + "/current/build")
    if app["node_app_mode"] == "start":
        # `npm start` serves its page on every path; nothing was built.
        status, body = fetch(host, app, "/static/version.txt")
        assert status == "200" and 'id="mode">start<' in body
        assert not build.exists
        return
    bundles = [
        name
        for name in host.file(build.path + "/static/js").listdir()
        if re.match(r"main\.[0-9a-f]+\.chunk\.js$", name)
    ]
    assert bundles, "no hashed main bundle in %s" % build.path
    served = {name: fetch(host, app, "/static/js/" + name) for name in bundles}
    assert all(status == "200" and not body.lstrip().startswith("<") for status, body in served.values())
    # This release's own bundle holds the version of package.json, as the page does.
    assert any('"%s"' % live[1] in body for _, body in served.values())


def test_app_environment_holds_the_defaults_and_node_app_env(host, app):
    environ = app_environment(host, app)
    assert environ["PORT"] == str(app["node_app_port"])
    assert environ["BROWSER"] == "none"
    # The dev server quits when its stdin closes unless CI is set; the static server needs no CI.
    if app["node_app_mode"] == "start":
        assert environ["CI"] == "true"
    else:
        assert "CI" not in environ
    # Node 18 (Debian 12) and 20 (Debian 13) are >= 17: react-scripts 3 needs the legacy provider.
    assert environ["NODE_OPTIONS"] == "--openssl-legacy-provider"
    assert environ["APP_BANNER"] == app["node_app_env"]["APP_BANNER"]
    assert environ["NODE_APP_TEST_SECRET"] == app["node_app_test_secret"]
    # side_effect.yml removed it from node_app_env: the running app must not keep it.
    assert "APP_RETIRED" not in environ


def test_pm2_brings_back_a_killed_app(host, app):
    victim = listener_pid(host, app)
    if app["node_app_instances"] > 1:
        # Cluster mode: the PM2 daemon holds the socket; kill a worker.
        victim = app_processes(host, app)[0]["pid"]
    host.run_expect([0], "sudo kill -9 %s", str(victim))

    def back():
        processes = app_processes(host, app)
        pids = {p["pid"] for p in processes}
        online = all(p["pm2_env"]["status"] == "online" for p in processes)
        return victim not in pids and online and len(pids) == app["node_app_instances"] and fetch(host, app)[0] == "200"

    # The dev server compiles the app again before it answers.
    assert wait_for(back, timeout=120), "PM2 did not bring the app back within 120 s"
    assert listener_pid(host, app) != victim


def test_pm2_unit_brings_the_app_back_without_ansible(host, app):
    unit = "pm2-%s.service" % app["node_app_user"]
    assert host.service(unit).is_enabled
    before = {p["pid"] for p in app_processes(host, app)}
    host.run_expect([0], "sudo systemctl restart %s", unit)
    assert host.service(unit).is_running

    def back():
        processes = app_processes(host, app)
        return (
            len(processes) == app["node_app_instances"]
            and all(p["pm2_env"]["status"] == "online" for p in processes)
            and not before & {p["pid"] for p in processes}
            and fetch(host, app)[0] == "200"
        )

    assert wait_for(back, timeout=120), "the app did not come back after restarting %s" % unit
    # The daemon runs in the unit's cgroup, so systemd tracks (and stops) it.
    daemon = host.check_output("systemctl show -p MainPID --value %s", unit)
    assert owner_of(host, daemon) == app["node_app_user"]


def test_local_facts_tell_other_plays_how_to_reach_the_app(host, app):
    found = node_app_facts(host)
    releases = found.pop("releases")
    release, previous, failed = found.pop("release"), found.pop("previous_release"), found.pop("failed_releases")
    assert found == {
        "name": app["node_app_name"],
        "service": "pm2-%s.service" % app["node_app_user"],
        "port": app["node_app_port"],
        "user": app["node_app_user"],
        "dir": app["node_app_dir"],
        "mode": app["node_app_mode"],
        "pm2_home": "/home/%s/.pm2" % app["node_app_user"],
        "health_path": app["node_app_health_path"],
    }
    # The unit named there is the one that runs the app, from the release named there.
    assert host.service(found["service"]).is_running
    assert host.file(app["node_app_dir"] + "/current").linked_to == "%s/releases/%s" % (app["node_app_dir"], release)
    assert release in releases and previous in releases and previous != release
    # hello-app-broken failed on every host.
    assert len(failed) == 1 and release not in failed
