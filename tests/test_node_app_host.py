"""The node_app_host module, run for real on this machine: what node_app's checks read in one step."""

import hashlib
import importlib.util
import json
import os
import subprocess
import sys

from helpers import REPO_ROOT, wait_until
from test_converged import run_module


def node_app_host(**args):
    return run_module("proxylab.webstack.node_app_host", args)


def load_module():
    """The module's code, imported here, to test a function of it on this machine's processes."""
    sys.path.insert(0, str(REPO_ROOT / "collections"))
    spec = importlib.util.spec_from_file_location("node_app_probe", REPO_ROOT / "plugins" / "module_utils" / "node_app_probe.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_it_reads_the_directories_the_user_and_the_releases(tmp_path):
    app = tmp_path / "srv" / "app"
    (app / "releases" / "aaa").mkdir(parents=True)
    (app / "releases" / ".hidden").mkdir()
    os.symlink("aaa", app / "releases" / "bbb")
    (tmp_path / "srv").chmod(0o775)
    (tmp_path / "state.json").write_text('{"release": "aaa"}')
    (tmp_path / "old.fact").write_text('{"user": "root"}')
    result = node_app_host(paths=[str(tmp_path), str(tmp_path / "srv"), str(app)], user="root",
                           user_marker=str(tmp_path / "no-marker"), old_facts=str(tmp_path / "old.fact"),
                           state_file=str(tmp_path / "state.json"), releases_dir=str(app / "releases"))
    assert result["changed"] is False
    parents, here = result["paths"][:-1], result["paths"][-1]
    assert [p["path"] for p in parents] == [str(tmp_path), str(tmp_path / "srv")]
    assert parents[1]["wgrp"] is True and parents[1]["mode"] == "0775" and parents[1]["woth"] is False
    assert here["exists"] and here["isdir"] and not here["islnk"] and here["uid"] == os.getuid()
    assert result["user"][:2] == ["x", "0"] and result["user"][4] == "/root"
    assert "root" in result["groups"].split()
    assert result["user_marker"] is False
    assert json.loads(result["old_facts"]) == {"user": "root"}
    # The bookkeeping, parsed, with only the releases still on disk.
    assert result["state"]["release"] == "aaa" and result["state"]["releases"] == []
    assert result["releases"] == ["aaa"] and set(result["release_dirs"]) == {"aaa"}
    assert result["releases_dir"]["isdir"] and result["releases_dir"]["mode"] == "0755"
    assert result["home"] == "/root" and result["group"] == "root"


def test_a_missing_user_directory_and_bookkeeping(tmp_path):
    link = tmp_path / "app"
    os.symlink(str(tmp_path), link)
    result = node_app_host(paths=[str(tmp_path), str(link)], user="proxylab-no-such-user",
                           user_marker=str(tmp_path / "m"), old_facts=str(tmp_path / "f"),
                           state_file=str(tmp_path / "s"), releases_dir=str(tmp_path / "none"))
    assert result["paths"][-1]["islnk"] is True
    assert result["user"] is None and result["groups"] == "" and result["sudo"]["rc"] == 1
    assert result["old_facts"] is None and result["state"]["release"] == "" and result["home"] == ""
    assert result["releases"] == [] and result["releases_dir"] == {"path": str(tmp_path / "none"), "exists": False}


def test_the_ecosystem_file_is_described_without_following_a_link_or_blocking(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "app.ecosystem.config.js").write_text("module.exports = {};\n")
    (home / "app.ecosystem.config.js").chmod(0o600)
    os.symlink("/etc/shadow", home / "linked.config.js")
    os.mkfifo(home / "fifo.config.js")
    # An absolute path is taken as it is (the role gives a name in the user's home).
    results = {name: node_app_host(user="root", ecosystem=str(home / name))["ecosystem"]
               for name in ("app.ecosystem.config.js", "linked.config.js", "fifo.config.js", "missing.config.js")}
    assert results["app.ecosystem.config.js"] == {
        "exists": True, "regular": True, "mode": "0600", "uid": 0,
        "sha1": hashlib.sha1(b"module.exports = {};\n").hexdigest()}
    assert results["linked.config.js"] == {"exists": True, "regular": False}
    assert results["fifo.config.js"] == {"exists": True, "regular": False}
    assert results["missing.config.js"] == {"exists": False, "regular": False}


def test_a_missing_user_has_no_ecosystem_and_no_app_online():
    result = node_app_host(user="proxylab-no-such-user", ecosystem="app.ecosystem.config.js",
                           pm2_unit="pm2-proxylab-no-such-user.service", app="app")
    assert result["ecosystem"] is None
    assert result["pm2"]["online"] == 0 and result["pm2"]["active_state"] != "active"


def test_the_app_processes_under_the_daemon_are_counted(tmp_path):
    """pm2_online counts the children of the daemon, of the user, that PM2 named after the app."""
    module = load_module()
    env = {"PATH": os.environ["PATH"]}
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    children = [subprocess.Popen(sleeper, env={**env, "name": "app", "pm_id": str(i)}) for i in range(2)]
    children.append(subprocess.Popen(sleeper, env={**env, "name": "other", "pm_id": "2"}))
    children.append(subprocess.Popen(sleeper, env={**env, "name": "app"}))  # not started by PM2
    # A worker of cluster mode gets them in pm2_env (JSON).
    children.append(subprocess.Popen(sleeper, env={**env, "pm2_env": json.dumps({"name": "app", "pm_id": 3})}))
    try:
        # Popen returns once a child has started its program, and the kernel fills in its environ a
        # moment later: until then the child's environ reads empty.
        def environ_read():
            for child in children:
                with open(f"/proc/{child.pid}/environ", "rb") as handle:
                    if not handle.read():
                        return False
            return True

        wait_until(environ_read, 5, interval=0.01)
        assert module.pm2_online(os.getpid(), os.getuid(), "app") == 3
        assert module.pm2_online(os.getpid(), os.getuid(), "other") == 1
        assert module.pm2_online(os.getpid(), os.getuid() + 1, "app") == 0
        assert module.pm2_online(1, os.getuid(), "app") == 0
    finally:
        for child in children:
            child.kill()
            child.wait()


def test_it_reads_the_link_current_and_the_local_facts(tmp_path):
    (tmp_path / "releases" / "aaa").mkdir(parents=True)
    os.symlink(str(tmp_path / "releases" / "aaa"), tmp_path / "current")
    (tmp_path / "app.fact").write_text('{"release": "aaa"}\n')
    result = node_app_host(user="root", current=str(tmp_path / "current"), facts_file=str(tmp_path / "app.fact"))
    assert result["current"]["islnk"] is True and result["current"]["target"] == str(tmp_path / "releases" / "aaa")
    assert result["facts"] == '{"release": "aaa"}\n'
    missing = node_app_host(user="root", current=str(tmp_path / "none"), facts_file=str(tmp_path / "none"))
    assert missing["current"] == {"path": str(tmp_path / "none"), "exists": False, "target": ""}
    assert missing["facts"] is None


def test_the_set_up_check_reads_the_users_home(tmp_path):
    record = tmp_path / "converged.json"
    recorded = run_module("proxylab.webstack.converged", {
        "path": str(record), "state": "present", "digest": "d1", "watch": ["/root"], "exclude": ["/root/*"],
        "data": {"group": "root"}})
    assert recorded["changed"] is True
    check = {"path": str(record), "digest": "d1", "watch": ["~"], "exclude": ["~/*"]}
    result = node_app_host(user="root", converged=check)["converged"]
    assert result == {"current": True, "reasons": [], "stale": [], "digest": "d1", "data": {"group": "root"}}
    result = node_app_host(user="root", converged={**check, "digest": "d2"})["converged"]
    assert result["current"] is False and result["stale"] == ["inputs"]
    assert result["reasons"] == ["the inputs of this run differ from those of the recorded run"]
    result = node_app_host(user="proxylab-no-such-user", converged=check)["converged"]
    assert result == {"current": False, "reasons": ["there is no user proxylab-no-such-user"], "stale": ["record"],
                      "digest": "", "data": {}}


def test_it_gathers_the_facts_setup_would_in_the_same_step(tmp_path):
    """The play gathers no facts of its own: the distribution, the addresses and the local facts come
    from node_app_host, named as setup names them, and nothing outside the subsets."""
    (tmp_path / "node_app.fact").write_text('{"port": 3000}\n')
    result = node_app_host(user="root", gather_subset=["distribution", "local", "network"], fact_path=str(tmp_path))
    facts = result["ansible_facts"]
    os_release = dict(line.split("=", 1) for line in open("/etc/os-release").read().splitlines() if "=" in line)
    assert facts["ansible_distribution"].lower() == os_release["ID"].strip('"')
    assert facts["ansible_os_family"] == "Debian"
    assert facts["ansible_local"] == {"node_app": {"port": 3000}}
    assert facts["ansible_default_ipv4"]["address"] == subprocess.run(
        ["ip", "-4", "-o", "route", "get", "1.1.1.1"], capture_output=True, text=True, check=True).stdout.split(" src ")[1].split()[0]
    assert "ansible_processor" not in facts and "ansible_env" not in facts
    assert "ansible_facts" not in node_app_host(user="root")
