"""Helpers shared by the verify tests of the node_app scenario."""

import json
import os
import re
from pathlib import Path

import pytest
import yaml

from helpers import http_get

SCENARIO = Path(__file__).resolve().parents[1]
ROLE_DEFAULTS = yaml.safe_load((SCENARIO.parents[1] / "roles" / "node_app" / "defaults" / "main.yml").read_text())


@pytest.fixture(scope="module")
def app(host):
    """The role's variables for this host: its defaults, overlaid with the scenario's inventory."""
    values = dict(ROLE_DEFAULTS)
    inventory = host.ansible.get_variables()
    values.update({k: v for k, v in inventory.items() if k.startswith("node_app_")})
    values["node_app_dir"] = values["node_app_dir"].replace("{{ node_app_name }}", values["node_app_name"])
    values["host"] = inventory["inventory_hostname"]
    return values


def pm2(host, app, *args):
    """Run pm2 as the app's user from a non-login shell, as a user would."""
    return host.run("sudo -u %s sh -c %s", app["node_app_user"], "pm2 " + " ".join(args))


def app_processes(host, app):
    """The PM2 entries of the app."""
    result = pm2(host, app, "jlist")
    assert result.rc == 0, result.stderr
    listing = [line for line in result.stdout.splitlines() if line.startswith("[")][-1]
    return [p for p in json.loads(listing) if p["name"] == app["node_app_name"]]


def app_environment(host, app):
    """The environment the app's (first) process runs with."""
    process = app_processes(host, app)[0]
    if process["pm2_env"]["exec_mode"] == "cluster_mode":
        # Cluster workers get their environment from PM2 over IPC, after exec: ask PM2.
        return process["pm2_env"]["env"]
    return dict(
        line.split("=", 1)
        for line in host.check_output(
            "sudo -u %s cat /proc/%s/environ | tr '\\0' '\\n'", app["node_app_user"], str(process["pid"])
        ).splitlines()
        if "=" in line
    )


def fetch(host, app, path="/"):
    """Status and body of http://127.0.0.1:<port><path> from inside the host."""
    return http_get(host, app["node_app_port"], path)


def state(host, app):
    """Root's bookkeeping of the app's releases."""
    return json.loads(host.check_output("sudo cat /var/lib/node_app/%s/state.json", app["node_app_name"]))


def listener_pid(host, app):
    """PID of the process listening on the app's port (only its owner may see it without CAP_SYS_PTRACE)."""
    out = host.check_output("sudo -u %s ss -Hltnp 'sport = :%s'", app["node_app_user"], str(app["node_app_port"]))
    found = re.findall(r"pid=(\d+)", out)
    return int(found[0]) if found else None


def owner_of(host, pid):
    return host.check_output("ps -o user= -p %s", str(pid)).strip()


# What side_effect.yml leaves live, per mode: (app, version).
LIVE = {"start": ("hello-app", "1.0.0"), "static": ("cra-app", "2.0.0")}


def shows(body, app_name, version):
    """Whether a page is that of app_name at version (hello-app names it in a span, cra-app in its title)."""
    if app_name == "hello-app":
        return "<h1>hello-app</h1>" in body and '<span id="version">%s</span>' % version in body
    return "<title>cra-app %s</title>" % version in body and '<div id="root"></div>' in body


def cra_releases(books):
    """{major version: release id} of the cra-app releases in the bookkeeping, from their source."""
    found = {}
    for release, info in books["info"].items():
        source = info.get("source", "")
        match = re.search(r"cra-app-v(\d)|cra-v(\d)", source)
        if match:
            found[int(match.group(1) or match.group(2))] = release
        elif re.search(r"/cra-app \(", source):
            found[1] = release
    return found


def activation_needed(name):
    """What `prepare` said in the last run of redeploy.yml on host `name` (node_app_activation_needed)."""
    path = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / ("activation-needed-" + name)
    value = json.loads(path.read_text())
    path.unlink()
    return value
