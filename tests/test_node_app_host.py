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
    assert json.loads(result["state"]) == {"release": "aaa"}
    assert result["releases"] == ["aaa"]
    assert result["releases_dir"]["isdir"] and result["releases_dir"]["mode"] == "0755"


def test_a_missing_user_directory_and_bookkeeping(tmp_path):
    link = tmp_path / "app"
    os.symlink(str(tmp_path), link)
    result = node_app_host(paths=[str(tmp_path), str(link)], user="proxylab-no-such-user",
                           user_marker=str(tmp_path / "m"), old_facts=str(tmp_path / "f"),
                           state_file=str(tmp_path / "s"), releases_dir=str(tmp_path / "none"))
    assert result["paths"][-1]["islnk"] is True
    assert result["user"] is None and result["groups"] == "" and result["sudo"]["rc"] == 1
    assert result["old_facts"] is None and result["state"] is None
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
        "exists": True, "regular": True, "mode": "0600",
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


def test_it_returns_the_facts_the_proxy_reads(tmp_path):
    facts_dir = tmp_path / "facts.d"
    facts_dir.mkdir()
    (facts_dir / "node_app.fact").write_text('{"port": 3000, "health_path": "/"}')
    (facts_dir / "site.fact").write_text("[general]\nrole = web\n")
    script = facts_dir / "live.fact"
    script.write_text('#!/bin/sh\necho \'{"answer": 42}\'\n')
    script.chmod(0o755)
    result = node_app_host(user="root", gather_facts=True, fact_path=str(facts_dir))
    facts = result["ansible_facts"]
    assert facts["ansible_local"] == {"node_app": {"port": 3000, "health_path": "/"},
                                      "site": {"general": {"role": "web"}}, "live": {"answer": 42}}
    # The same keys as setup's, for what they hold (this machine may have no route outside).
    setup = run_module("ansible.builtin.setup", {"gather_subset": ["!all", "!min", "network"]})["ansible_facts"]
    expected = {key: setup["ansible_default_ipv4"][key] for key in ("address", "interface", "gateway")
                if key in setup["ansible_default_ipv4"]}
    assert facts["ansible_default_ipv4"] == expected
    assert result["distribution"] == "Debian" and result["os_family"] == "Debian"


def test_without_gather_facts_no_facts_are_returned():
    assert "ansible_facts" not in node_app_host(user="root")


def test_the_set_up_check_reads_the_users_home(tmp_path):
    record = tmp_path / "converged.json"
    recorded = run_module("proxylab.webstack.converged", {
        "path": str(record), "state": "present", "digest": "d1", "watch": ["/root"], "exclude": ["/root/*"],
        "data": {"group": "root"}})
    assert recorded["changed"] is True
    check = {"path": str(record), "digest": "d1", "watch": ["~"], "exclude": ["~/*"]}
    result = node_app_host(user="root", converged=check)["converged"]
    assert result == {"current": True, "reasons": [], "digest": "d1", "data": {"group": "root"}}
    result = node_app_host(user="root", converged={**check, "digest": "d2"})["converged"]
    assert result["current"] is False
    assert result["reasons"] == ["the inputs of this run differ from those of the recorded run"]
    result = node_app_host(user="proxylab-no-such-user", converged=check)["converged"]
    assert result == {"current": False, "reasons": ["there is no user proxylab-no-such-user"], "digest": "", "data": {}}


def run_both_ways(args, tmp_path):
    """The result through the action plugin's script (the host's Python known, pipelining on) and
    through the module (pipelining off: the plugin hands over to the module), and the commands each
    sent (-vvv). The interpreter is named either way: discovery on a controller can pick a broken
    shim (as .config/molecule/config.yml notes)."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_NOCOLOR="1")
    results, commands = {}, {}
    for way, pipelining in (("script", "true"), ("module", "false")):
        done = subprocess.run(
            ["ansible", "localhost", "-c", "local", "-i", "localhost,", "-vvv", "-e", f"ansible_python_interpreter={sys.executable}",
             "-m", "proxylab.webstack.node_app_host", "-a", json.dumps(args), "--tree", str(tmp_path / way)],
            cwd=REPO_ROOT, env={**env, "ANSIBLE_PIPELINING": pipelining}, capture_output=True, text=True, timeout=120,
            check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        results[way] = json.loads((tmp_path / way / "localhost").read_text())
        commands[way] = [line for line in done.stdout.splitlines() if "EXEC " in line]
    return results, commands


def test_the_script_and_the_module_read_the_same(tmp_path):
    """The action plugin sends the reads as a plain script when the host's Python is known and the
    connection pipelines; otherwise the module runs; both return the same."""
    home = tmp_path / "state"
    home.mkdir()
    (home / "state.json").write_text('{"release": "aaa"}')
    (tmp_path / "releases" / "aaa").mkdir(parents=True)
    record = tmp_path / "converged.json"
    run_module("proxylab.webstack.converged", {"path": str(record), "state": "present", "digest": "d1",
                                                "watch": [str(home)], "packages": ["dpkg"], "data": {"group": "root"}})
    args = {"paths": ["/", str(tmp_path), str(tmp_path / "app")], "user": "root", "user_marker": str(tmp_path / "m"),
            "old_facts": str(tmp_path / "none.fact"), "state_file": str(home / "state.json"),
            "releases_dir": str(tmp_path / "releases"), "ecosystem": str(home / "state.json"),
            "pm2_unit": "pm2-proxylab-no-such-user.service", "app": "app", "gather_facts": True,
            "fact_path": str(tmp_path / "facts.d"),
            "converged": {"path": str(record), "digest": "d1", "watch": [str(home)], "packages": ["dpkg"]}}
    results, commands = run_both_ways(args, tmp_path)
    assert any(f"{sys.executable} -I -S -" in line for line in commands["script"]), commands["script"]
    assert not any("-I -S -" in line for line in commands["module"]), commands["module"]
    read = {way: {key: value for key, value in result.items() if key not in ("invocation", "warnings", "deprecations")}
            for way, result in results.items()}
    assert read["script"] == read["module"]
    assert read["script"]["converged"] == {"current": True, "reasons": [], "digest": "d1", "data": {"group": "root"}}
    assert read["script"]["releases"] == ["aaa"] and read["script"]["ecosystem"]["regular"] is True
    assert read["script"]["pm2"]["active_state"] != "active" and read["script"]["pm2"]["online"] == 0


def test_a_failure_on_the_host_is_reported_with_its_cause(tmp_path):
    """The script's own failure comes back as the task's failure, with the host's message."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    done = subprocess.run(
        ["ansible", "localhost", "-c", "local", "-i", "localhost,", "-e", "ansible_python_interpreter=/nonexistent/python3",
         "-m", "proxylab.webstack.node_app_host", "-a", json.dumps({"user": "root"})],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode != 0
    assert "node_app_host could not read the host with /nonexistent/python3 (exit status 127)" in done.stdout, done.stdout
