"""The quick re-run's pieces, run for real on this machine: the converged module (record, then
check) through ansible, and the tree_checksum lookup."""

import json
import os
import subprocess
import sys

import pytest

from helpers import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "plugins" / "lookup"))

import tree_checksum  # noqa: E402


def run_module(name, args):
    """Run a module of the collection on localhost; its result."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_NOCOLOR="1")
    done = subprocess.run(
        ["ansible", "localhost", "-c", "local", "-i", "localhost,", "-e", f"ansible_python_interpreter={sys.executable}",
         "-m", name, "-a", json.dumps(args)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]


def converged(**args):
    return run_module("proxylab.webstack.converged", args)


@pytest.fixture
def site(tmp_path):
    """A small configuration tree, recorded once: the record path and the arguments used."""
    conf = tmp_path / "conf"
    (conf / "sites").mkdir(parents=True)
    (conf / "main.conf").write_text("worker 2;\n")
    (conf / "sites" / "a.conf").write_text("server a;\n")
    (conf / "runtime.conf").write_text("written by the service\n")
    os.symlink("sites/a.conf", conf / "enabled.conf")
    args = {"path": str(tmp_path / "state" / "converged.json"), "digest": "inputs-1", "watch": [str(conf)],
            "exclude": [str(conf / "runtime.conf")], "data": {"home": "/home/app"}}
    written = converged(state="present", **args)
    assert written["changed"] is True
    assert oct(os.stat(args["path"]).st_mode & 0o777) == "0o600"
    return conf, args


def test_a_host_left_as_recorded_is_current(site):
    _conf, args = site
    result = converged(**args)
    assert result["current"] is True, result["reasons"]
    assert result["reasons"] == []
    assert result["data"] == {"home": "/home/app"}
    # The recorded digest comes back, so later steps can tell what was done under these inputs.
    assert result["digest"] == "inputs-1"
    assert result["changed"] is False
    # Recording the same again changes nothing.
    assert converged(state="present", **args)["changed"] is False


def test_other_inputs_are_a_difference(site):
    _conf, args = site
    result = converged(**{**args, "digest": "inputs-2"})
    assert result["current"] is False
    assert result["reasons"] == ["the inputs of this run differ from those of the recorded run"]
    assert result["digest"] == "inputs-1"


@pytest.mark.parametrize("change", ["edit", "chmod", "remove", "add", "relink"])
def test_a_change_on_the_host_is_a_difference_that_names_the_path(site, change):
    conf, args = site
    target = {"edit": conf / "main.conf", "chmod": conf / "sites" / "a.conf", "remove": conf / "sites" / "a.conf",
              "add": conf / "sites" / "b.conf", "relink": conf / "enabled.conf"}[change]
    if change == "edit":
        target.write_text("worker 4;\n")
    elif change == "chmod":
        target.chmod(0o600)
    elif change == "remove":
        target.unlink()
    elif change == "add":
        target.write_text("server b;\n")
    else:
        target.unlink()
        os.symlink("main.conf", target)
    result = converged(**args)
    assert result["current"] is False
    assert any(reason.startswith(f"{target} changed") for reason in result["reasons"]), result["reasons"]


def test_excluded_paths_may_change(site):
    conf, args = site
    (conf / "runtime.conf").write_text("rewritten while running\n")
    assert converged(**args)["current"] is True


def test_no_record_is_not_current(tmp_path):
    result = converged(path=str(tmp_path / "none.json"), digest="x")
    assert result["current"] is False
    assert "no record" in result["reasons"][0]
    assert result["digest"] == ""


def test_failing_commands_and_services_are_differences(site):
    _conf, args = site
    result = converged(**args, commands=[{"argv": ["false"]}, {"argv": ["echo", "changed"], "stdout": "unchanged"},
                                         {"argv": ["echo", "unchanged"], "stdout": "unchanged"}],
                       services=["proxylab-no-such-unit.service"])
    assert result["current"] is False
    reasons = result["reasons"]
    assert "false exited 1" in reasons
    assert "echo changed printed 'changed'" in reasons
    assert not any(reason.startswith("echo unchanged") for reason in reasons)
    assert any(reason.startswith("proxylab-no-such-unit.service is-active") for reason in reasons)


def test_a_package_that_is_not_installed_is_recorded_and_compared(tmp_path):
    args = {"path": str(tmp_path / "record.json"), "digest": "d", "packages": ["proxylab-no-such-package"]}
    converged(state="present", **args)
    record = json.loads((tmp_path / "record.json").read_text())
    assert record["packages"] == {"proxylab-no-such-package": "not installed"}
    assert converged(**args)["current"] is True


def test_absent_removes_the_record(site):
    _conf, args = site
    assert converged(path=args["path"], state="absent")["changed"] is True
    assert not os.path.exists(args["path"])
    assert converged(**args)["current"] is False


def test_the_tree_checksum_follows_every_file(tmp_path):
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "main.yml").write_text("---\n")
    first = tree_checksum.tree_checksum([str(tmp_path)])
    assert first == tree_checksum.tree_checksum([str(tmp_path)])
    (tmp_path / "tasks" / "main.yml").write_text("--- # edited\n")
    edited = tree_checksum.tree_checksum([str(tmp_path)])
    (tmp_path / "tasks" / "main.yml").rename(tmp_path / "tasks" / "other.yml")
    renamed = tree_checksum.tree_checksum([str(tmp_path)])
    assert len({first, edited, renamed}) == 3


@pytest.mark.parametrize("role", ["nginx_proxy", "node_app"])
def test_the_quick_rerun_knows_every_tag_of_the_role(role):
    """A run with one of these tags skipped records nothing; a tag missing from the list would let a
    run that left tasks out stand for its inputs."""
    import yaml

    def tags_of(node):
        if isinstance(node, list):
            for item in node:
                yield from tags_of(item)
        elif isinstance(node, dict):
            tags = node.get("tags", [])
            yield from [tags] if isinstance(tags, str) else tags
            for value in node.values():
                yield from tags_of(value)

    used = set()
    for path in (REPO_ROOT / "roles" / role / "tasks").glob("*.yml"):
        used |= set(tags_of(yaml.safe_load(path.read_text())))
    listed = yaml.safe_load((REPO_ROOT / "roles" / role / "vars" / "main.yml").read_text())[f"_{role}_converged_task_tags"]
    assert used - {"always"} == set(listed)
