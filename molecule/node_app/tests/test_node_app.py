"""What a user of an app server sees after node_app ran (and side_effect deployed version 2)."""

import json
import re
import time
from pathlib import Path

import pytest
import yaml

ROLE_DEFAULTS = yaml.safe_load(
    (Path(__file__).resolve().parents[3] / "roles" / "node_app" / "defaults" / "main.yml").read_text()
)


@pytest.fixture(scope="module")
def app(host):
    """The role's variables for this host: its defaults, overlaid with the scenario's inventory."""
    values = dict(ROLE_DEFAULTS)
    inventory = host.ansible.get_variables()
    values.update({k: v for k, v in inventory.items() if k.startswith("node_app_")})
    values["node_app_dir"] = values["node_app_dir"].replace("{{ node_app_name }}", values["node_app_name"])
    return values


def pm2(host, app, *args):
    """Run pm2 as the app's user from a non-login shell, as a user would."""
    return host.run("sudo -u %s sh -c %s", app["node_app_user"], "pm2 " + " ".join(args))


def app_processes(host, app):
    """The PM2 entries of the app."""
    result = pm2(host, app, "jlist")
    assert result.rc == 0, result.stderr
    return [p for p in json.loads(result.stdout) if p["name"] == app["node_app_name"]]


def fetch(host, app, path="/"):
    """Status and body of http://127.0.0.1:<port><path> from inside the host."""
    result = host.run("curl -s -m 5 -w '\\n%%{http_code}' http://127.0.0.1:%s%s", str(app["node_app_port"]), path)
    body, _, status = result.stdout.rpartition("\n")
    return status, body


def wait_until(check, timeout):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def listener_pid(host, app):
    """PID of the process listening on the app's port (only its owner may see it without CAP_SYS_PTRACE)."""
    out = host.check_output("sudo -u %s ss -Hltnp 'sport = :%s'", app["node_app_user"], str(app["node_app_port"]))
    found = re.findall(r"pid=(\d+)", out)
    return int(found[0]) if found else None


def owner(host, pid):
    return host.check_output("ps -o user= -p %s", str(pid)).strip()


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


def test_app_runs_as_its_user_on_its_port(host, app):
    processes = app_processes(host, app)
    assert len(processes) == app["node_app_instances"]
    assert all(p["pm2_env"]["status"] == "online" for p in processes)
    for pid in [p["pid"] for p in processes] + [listener_pid(host, app)]:
        assert owner(host, pid) == app["node_app_user"]
    assert app["node_app_user"] != "root"


def test_app_serves_the_new_version_with_its_banner(host, app):
    status, body = fetch(host, app)
    assert status == "200"
    assert "<h1>hello-app</h1>" in body
    assert '<span id="version">%s</span>' % app["node_app_test_version_after"] in body
    assert '<span id="host">%s</span>' % host.check_output("hostname") in body
    assert '<p id="banner">%s</p>' % app["node_app_env"]["APP_BANNER"] in body
    assert '<span id="mode">%s</span>' % app["node_app_mode"] in body


def test_static_mode_serves_the_build_as_a_single_page_app(host, app):
    if app["node_app_mode"] != "static":
        status, body = fetch(host, app, "/static/version.txt")
        # `npm start` serves its page on every path; nothing was built.
        assert status == "200" and 'id="mode">start<' in body
        assert not host.file(app["node_app_dir"] + "/build").exists
        return
    assert fetch(host, app, "/static/version.txt") == ("200", app["node_app_test_version_after"] + "\n")
    status, body = fetch(host, app, "/some/client/route")
    assert status == "200" and 'id="mode">static<' in body


def test_files_gone_from_the_new_version_are_gone_from_the_host(host, app):
    assert host.file(app["node_app_dir"] + "/package.json").user == app["node_app_user"]
    assert not host.file(app["node_app_dir"] + "/v1-only.txt").exists


def test_app_environment_holds_the_defaults_and_node_app_env(host, app):
    process = app_processes(host, app)[0]
    if process["pm2_env"]["exec_mode"] == "cluster_mode":
        # Cluster workers get their environment from PM2 over IPC, after exec: ask PM2.
        environ = process["pm2_env"]["env"]
    else:
        environ = dict(
            line.split("=", 1)
            for line in host.check_output(
                "sudo -u %s cat /proc/%s/environ | tr '\\0' '\\n'", app["node_app_user"], str(process["pid"])
            ).splitlines()
            if "=" in line
        )
    assert environ["PORT"] == str(app["node_app_port"])
    assert environ["CI"] == "true" and environ["BROWSER"] == "none"
    # Node 18 (Debian 12) and 20 (Debian 13) are >= 17: react-scripts 3 needs the legacy provider.
    assert environ["NODE_OPTIONS"] == "--openssl-legacy-provider"
    assert environ["APP_BANNER"] == app["node_app_env"]["APP_BANNER"]
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

    assert wait_until(back, timeout=15), "PM2 did not bring the app back within 15 s"
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

    assert wait_until(back, timeout=30), "the app did not come back after restarting %s" % unit
    # The daemon runs in the unit's cgroup, so systemd tracks (and stops) it.
    daemon = host.check_output("systemctl show -p MainPID --value %s", unit)
    assert owner(host, daemon) == app["node_app_user"]


def test_local_facts_tell_other_plays_how_to_reach_the_app(host, app):
    facts = json.loads(host.file("/etc/ansible/facts.d/node_app.fact").content_string)
    assert facts == {
        "name": app["node_app_name"],
        "service": "pm2-%s.service" % app["node_app_user"],
        "port": app["node_app_port"],
        "user": app["node_app_user"],
        "dir": app["node_app_dir"],
        "mode": app["node_app_mode"],
        "pm2_home": "/home/%s/.pm2" % app["node_app_user"],
    }
    # The unit named there is the one that runs the app.
    assert host.service(facts["service"]).is_running
