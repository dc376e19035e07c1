"""What a re-run compares is derived from what the tasks manage: every path, unit, package, user and
firewall table that a task of the full pass writes is one that the quick check looks at, so a task
added without its path being watched fails here, not on a host that drifted.

The full pass of nginx_proxy is tasks/converge.yml (with what it imports); node_app's set-up is
tasks/setup.yml, and what its steps 4 to 7 write is what step 1 reads and the plan compares (the
link current, the ecosystem file, the PM2 unit and its drop-ins, the release directories, the
bookkeeping and the local facts). The tasks' arguments are rendered with the roles' own defaults
and vars, as Ansible would render them on a Debian host."""

import fnmatch
import posixpath

import pytest
import yaml
from ansible.template import trust_as_template

from helpers import REPO_ROOT, role_variables, trusted

PATH_ARGUMENTS = {
    "ansible.builtin.file": ("path", "dest"),
    "ansible.builtin.copy": ("dest",),
    "ansible.builtin.template": ("dest",),
    "ansible.builtin.get_url": ("dest",),
    "ansible.builtin.unarchive": ("dest",),
}
# Tasks whose path comes from what an earlier task found on the host (a registered result): they
# remove what should not be there, below a directory that is watched.
FROM_THE_HOST = {
    "Remove the npm releases installed before": "below /usr/local/lib/node_app, which is watched",
    "Remove the links into npm's release": "/usr/local/bin/npm and npx, which are watched",
    "Remove the releases the bookkeeping no longer keeps": "below releases/, which step 1 lists",
    "Remove what the 0.1.0 layout left in node_app_dir": "the first activation after node_app 0.1.0 only",
    "Remove what is not root's own releases directory or link": "the first run after node_app 0.1.0 only",
    "Put those servers back into rotation": "marks of the health checker, which it rewrites as it runs",
    "Install the tested configuration": "the files rendered into the stage, each checked at its live path below",
}


def render(templar, value, item=None):
    if item is not None:
        templar = templar.copy_with_new_env(available_variables={**templar.available_variables, "item": item})
    return templar.template(trust_as_template(value) if isinstance(value, str) else trusted(value))


def tasks(role, name):
    """(task, the conditions it runs under) for every task of a task file and the files it imports,
    blocks opened."""
    found = []

    def walk(items, conditions):
        for task in items or []:
            when = task.get("when", [])
            inherited = conditions + (when if isinstance(when, list) else [when])
            for key in ("ansible.builtin.import_tasks", "ansible.builtin.include_tasks"):
                if key in task:
                    walk(load(task[key]), inherited)
            if any(key in task for key in ("block", "rescue", "always")):
                for key in ("block", "rescue", "always"):
                    walk(task.get(key), inherited)
            else:
                found.append((task, inherited))

    def load(file):
        return yaml.safe_load((REPO_ROOT / "roles" / role / "tasks" / file).read_text())

    walk(load(name), [])
    return found


def may_run(templar, conditions):
    """False when a condition that depends on the role's variables alone is false; a condition on what
    the host answered (a registered result) may be true."""
    for condition in conditions:
        try:
            if not render(templar, "{{ " + str(condition) + " }}"):
                return False
        except Exception:  # noqa: BLE001 - a result registered on the host: unknown here
            continue
    return True


def managed(templar, role, name):
    """What the tasks of a file write: paths (file, copy, template, ...), units, packages, users."""
    paths, units, packages, users = [], [], [], []
    for task, conditions in tasks(role, name):
        module = next((key for key in task if key.startswith("ansible.builtin.") or key.startswith("community.")), None)
        if module is None or task["name"] in FROM_THE_HOST or not may_run(templar, conditions):
            continue
        args = task[module]
        items = render(templar, task["loop"]) if "loop" in task else [None]
        for item in items:
            if module in PATH_ARGUMENTS:
                key = next(key for key in PATH_ARGUMENTS[module] if key in args)
                paths.append((task["name"], render(templar, args[key], item)))
            elif module == "ansible.builtin.systemd_service" and args.get("state") != "stopped":
                units.append((task["name"], render(templar, args["name"], item)))
            elif module == "ansible.builtin.apt":
                names = render(templar, args["name"], item)
                packages += [(task["name"], package) for package in ([names] if isinstance(names, str) else names)]
            elif module == "ansible.builtin.user":
                users.append((task["name"], render(templar, args["name"], item)))
    return paths, units, packages, users


def covered(path, watch, exclude, trees, units=()):
    """Whether the quick check sees a change of path: a watched path, or below a watched directory and
    not excluded, or below a tree, or a drop-in directory of a unit the role owns (the check reads the
    unit's drop-ins)."""
    path = posixpath.normpath(path)
    if path in watch:
        return True
    if any(path in (f"/etc/systemd/system/{unit}.d", f"/run/systemd/system/{unit}.d") for unit in units):
        return True
    if any(path == tree or path.startswith(tree + "/") for tree in trees):
        return True
    below = any(path.startswith(directory.rstrip("/") + "/") for directory in watch)
    return below and not any(fnmatch.fnmatchcase(path, pattern) for pattern in exclude)


NODE_APP = {"_node_app_home": "/home/nodeapp", "_node_app_group": "nodeapp", "inventory_hostname": "app1",
            "groups": {"proxy": []}, "hostvars": {}, "role_path": str(REPO_ROOT / "roles" / "node_app"),
            "_node_app_plan": {"target": "0123456789ab", "live": "ba9876543210", "legacy": False},
            "_node_app_target_dir": "/srv/dumbflix-frontend/releases/0123456789ab"}


@pytest.mark.parametrize("npm_source", ["registry", "distro"])
@pytest.mark.parametrize("firewall", [True, False])
def test_what_the_set_up_writes_is_what_its_check_watches(npm_source, firewall):
    templar = role_variables("node_app", **NODE_APP, node_app_npm_source=npm_source, node_app_firewall=firewall)
    home = "/home/nodeapp"
    watch = [path.replace("~", home, 1) for path in render(templar, "{{ _node_app_setup_watch }}")]
    exclude = [path.replace("~", home, 1) for path in render(templar, "{{ _node_app_setup_exclude }}")]
    trees = render(templar, "{{ _node_app_setup_trees }}")
    paths, units, packages, users = managed(templar, "node_app", "setup.yml")
    record = render(templar, "{{ _node_app_setup_record }}")
    checked_units = [unit["name"] for unit in render(templar, "{{ _node_app_setup_units }}")]
    unwatched = [(task, path) for task, path in paths
                 if path != record and not covered(path, watch, exclude, trees, checked_units)]
    assert unwatched == []
    assert [unit for _task, unit in units if unit not in checked_units] == []
    assert {package for _task, package in packages} <= set(render(templar, "{{ _node_app_packages }}"))
    assert [user for _task, user in users] == [render(templar, "{{ node_app_user }}")]
    assert bool(render(templar, "{{ _node_app_setup_nft_tables }}")) == firewall


def test_what_the_switch_and_the_bookkeeping_write_is_what_step_1_reads():
    templar = role_variables("node_app", **NODE_APP)
    preflight = yaml.safe_load((REPO_ROOT / "roles" / "node_app" / "tasks" / "preflight.yml").read_text())
    arguments = next(task for task in preflight if "proxylab.webstack.node_app_host" in task)["proxylab.webstack.node_app_host"]
    read = {key: render(templar, value) for key, value in arguments.items() if key != "converged"}
    releases = read["releases_dir"]
    # What node_app_host reads, by path: the ecosystem file is named relative to the user's home, the
    # PM2 unit by name (its file and drop-ins as systemd shows them).
    unit = read["pm2_unit"]
    seen = [read["state_file"], read["facts_file"], read["current"], releases, posixpath.dirname(releases),
            f"{NODE_APP['_node_app_home']}/{read['ecosystem']}", f"/etc/systemd/system/{unit}",
            f"/etc/systemd/system/{unit}.d", f"/run/systemd/system/{unit}.d"]
    # The ecosystem file the release before ran with, kept by every switch for a rollback.
    kept = f"{NODE_APP['_node_app_home']}/{read['ecosystem']}.previous"
    for name in ("switch.yml", "health.yml", "rollback.yml", "prune.yml"):
        paths, units, _packages, _users = managed(templar, "node_app", name)
        unread = [(task, path) for task, path in paths
                  if path not in seen + [kept] and not path.startswith(releases + "/")]
        assert unread == [], name
        assert {found for _task, found in units} <= {unit}, name


NGINX_PROXY = {"inventory_hostname": "proxy1", "role_path": str(REPO_ROOT / "roles" / "nginx_proxy"),
               "ansible_facts": {"distribution": "Debian", "distribution_version": "12", "os_family": "Debian"},
               "_nginx_proxy_group_backends": [], "_nginx_proxy_http2_directive": False,
               "__nginx_proxy_sites_found": {"files": []}}


@pytest.mark.parametrize("tls", ["off", "self_signed"])
@pytest.mark.parametrize("health_checks", [True, False])
def test_what_the_proxys_full_pass_writes_is_what_its_check_watches(tls, health_checks):
    templar = role_variables("nginx_proxy", **NGINX_PROXY, nginx_proxy_tls=tls, nginx_proxy_health_checks=health_checks,
                             nginx_proxy_backends=[{"host": "127.0.0.1", "port": 3000}])
    watch = render(templar, "{{ _nginx_proxy_converged_watch }}")
    exclude = render(templar, "{{ _nginx_proxy_converged_exclude }}")
    paths, units, packages, users = managed(templar, "nginx_proxy", "converge.yml")
    record = render(templar, "{{ _nginx_proxy_converged_record }}")
    stage = render(templar, "{{ _nginx_proxy_stage_dir }}")
    # The stage is a copy of the configuration directory, made again by every full pass: what is
    # rendered there is installed at the same place in the live directory.
    conf_dir = render(templar, "{{ _nginx_proxy_conf_dir }}")
    written = [(task, conf_dir + path[len(stage):] if path.startswith(stage + "/") else path)
               for task, path in paths if path != record]
    checked_units = [unit["name"] for unit in render(templar, "{{ _nginx_proxy_converged_units }}")]
    owned = [unit["name"] for unit in render(templar, "{{ _nginx_proxy_converged_units }}") if unit.get("owned", True)]
    assert [(task, path) for task, path in written if not covered(path, watch, exclude, [], owned)] == []
    assert [unit for _task, unit in units if unit not in checked_units and f"{unit}.service" not in checked_units] == []
    assert {package for _task, package in packages} <= set(render(templar, "{{ _nginx_proxy_converged_packages }}"))
    assert {user for _task, user in users} <= set(render(templar, "{{ _nginx_proxy_converged_users }}"))


def test_the_set_up_digest_covers_every_variable_the_set_up_reads():
    """The set-up's inputs are what it reads (not every node_app_* variable): a variable that setup.yml
    or its templates read, directly or through an internal variable, must be one of them."""
    import re

    internal = yaml.safe_load((REPO_ROOT / "roles" / "node_app" / "vars" / "main.yml").read_text())

    def reads(text, seen=None):
        seen = set() if seen is None else seen
        for name in set(re.findall(r"\b_?node_app_[a-z0-9_]+", text)) - seen:
            seen.add(name)
            if name in internal:
                reads(yaml.safe_dump(internal[name]), seen)
        return seen

    role = REPO_ROOT / "roles" / "node_app"
    text = (role / "tasks" / "setup.yml").read_text()
    text += "".join((role / "templates" / name).read_text() for name in ("firewall.nft.j2", "firewall.service.j2"))
    tags = set(internal["_node_app_setup_task_tags"]) - {"node_app_firewall"}
    read = {name for name in reads(text) if not name.startswith("_")} - tags
    inputs = {name for name in reads(yaml.safe_dump(internal["_node_app_setup_inputs"])) if not name.startswith("_")}
    # Whether the run is recorded, not what it leaves.
    assert read - inputs - {"node_app_quick_rerun"} == set()
