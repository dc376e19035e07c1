"""The quick re-run's pieces, run for real: the converged module (record, then check) through
ansible, on this machine for files and trees, and in a scratch systemd container (PROXYLAB_TEST_PREFIX
names it) for units, nftables tables and users; and the tree_checksum lookup."""

import itertools
import json
import os
import subprocess
import sys

import pytest

from helpers import REPO_ROOT, docker_sh

sys.path.insert(0, str(REPO_ROOT / "plugins" / "lookup"))
sys.path.insert(0, str(REPO_ROOT / "plugins" / "module_utils"))

import converged as converged_utils  # noqa: E402
import tree_checksum  # noqa: E402


def run_module(name, args, host=None, expect_failure=False):
    """Run a module of the collection on localhost, or in the container host through the docker
    connection as deploy with sudo (as the roles run it); its result."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_NOCOLOR="1")
    if host is None:
        target = ["localhost", "-c", "local", "-i", "localhost,", "-e", f"ansible_python_interpreter={sys.executable}"]
    else:
        target = [host, "-c", "community.docker.docker", "-i", f"{host},", "-e", "ansible_user=deploy",
                  "-e", "ansible_become=true", "-e", "ansible_python_interpreter=/usr/bin/python3"]
    done = subprocess.run(["ansible", *target, "-m", name, "-a", json.dumps(args)],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == (2 if expect_failure else 0), done.stdout + done.stderr
    return json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"][host or "localhost"]


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
    assert result["stale"] == ["inputs"]
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
    # One key per entry that differs: the role can tell which file to repair.
    assert result["stale"] == [f"path:{target}"]


def test_excluded_paths_may_change(site):
    conf, args = site
    (conf / "runtime.conf").write_text("rewritten while running\n")
    assert converged(**args)["current"] is True


@pytest.mark.parametrize("content", [None, "[]", '{"digest": "x", "pa'])
def test_no_record_is_not_current(tmp_path, content):
    """Nor is a file that is not a record (a truncated or foreign one)."""
    if content is not None:
        (tmp_path / "none.json").write_text(content)
    result = converged(path=str(tmp_path / "none.json"), digest="x")
    assert result["current"] is False
    assert "no record" in result["reasons"][0]
    assert result["stale"] == ["record"]
    assert result["digest"] == ""


def test_failing_commands_and_units_are_differences(site):
    _conf, args = site
    result = converged(**args, commands=[{"argv": ["false"]}, {"argv": ["echo", "changed"], "stdout": "unchanged"},
                                         {"argv": ["echo", "unchanged"], "stdout": "unchanged"}],
                       units=[{"name": "proxylab-no-such-unit.service"}])
    assert result["current"] is False
    reasons = result["reasons"]
    assert "false exited 1" in reasons
    assert "echo changed printed 'changed'" in reasons
    assert not any(reason.startswith("echo unchanged") for reason in reasons)
    # Without systemd (this machine) the unit cannot be read; with it, it does not exist.
    assert any(reason.startswith("proxylab-no-such-unit.service ") for reason in reasons)
    assert result["stale"] == ["unit:proxylab-no-such-unit.service", "command:false", "command:echo changed"]


def test_a_package_that_is_not_installed_is_recorded_and_compared(tmp_path):
    args = {"path": str(tmp_path / "record.json"), "digest": "d", "packages": ["proxylab-no-such-package"]}
    converged(state="present", **args)
    record = json.loads((tmp_path / "record.json").read_text())
    assert record["packages"] == {"proxylab-no-such-package": "not installed"}
    assert converged(**args)["current"] is True
    result = converged(**{**args, "packages": ["dpkg"]})
    assert result["stale"] == ["package:dpkg", "package:proxylab-no-such-package"]
    assert "the package dpkg changed: not watched -> " in result["reasons"][0]


def test_absent_removes_the_record(site):
    _conf, args = site
    assert converged(path=args["path"], state="absent")["changed"] is True
    assert not os.path.exists(args["path"])
    assert converged(**args)["current"] is False


# Trees: metadata only, one digest each ------------------------------------------------------------

@pytest.fixture
def tree(tmp_path):
    """An installed tree (a package with a nested dependency, a link to its bin) recorded once."""
    root = tmp_path / "node_modules"
    (root / "pm2" / "node_modules" / "debug").mkdir(parents=True)
    (root / "pm2" / "package.json").write_text('{"name": "pm2"}\n')
    (root / "pm2" / "node_modules" / "debug" / "index.js").write_text("module.exports = 1;\n")
    (root / ".cache").mkdir()
    (root / ".cache" / "log").write_text("rewritten by npm\n")
    (root / ".bin").mkdir()
    os.symlink("../pm2/package.json", root / ".bin" / "pm2")
    args = {"path": str(tmp_path / "state" / "converged.json"), "digest": "d", "trees": [str(root)],
            "exclude": [str(root / ".cache")]}
    assert converged(state="present", **args)["changed"] is True
    return root, args


def test_a_tree_is_recorded_as_one_digest(tree):
    root, args = tree
    record = json.loads(open(args["path"], encoding="utf-8").read())
    assert list(record["trees"]) == [str(root)] and len(record["trees"][str(root)]) == 64
    assert record["paths"] == {}
    result = converged(**args)
    assert result["current"] is True, result["reasons"]


@pytest.mark.parametrize("change", ["chmod", "size", "time", "add", "remove", "relink", "chmod-dir"])
def test_a_change_below_a_tree_is_a_difference_of_the_tree(tree, change):
    root, args = tree
    index = root / "pm2" / "node_modules" / "debug" / "index.js"
    if change == "chmod":
        index.chmod(0o600)
    elif change == "size":
        with open(index, "a", encoding="utf-8") as handle:
            handle.write("// more\n")
    elif change == "time":
        os.utime(index, ns=(0, 0))
    elif change == "add":
        (root / "pm2" / "README.md").write_text("new\n")
    elif change == "remove":
        index.unlink()
    elif change == "relink":
        (root / ".bin" / "pm2").unlink()
        os.symlink("../pm2/node_modules/debug/index.js", root / ".bin" / "pm2")
    else:
        (root / "pm2" / "node_modules").chmod(0o777)
    result = converged(**args)
    assert result["current"] is False
    assert result["stale"] == [f"tree:{root}"]
    assert result["reasons"] == [f"the files below {root} changed (owner, mode, size or time)"]


def test_the_tree_reads_no_content(tree):
    """Metadata only: an edit that keeps size and time is not seen (what watch is for)."""
    root, args = tree
    index = root / "pm2" / "node_modules" / "debug" / "index.js"
    before = os.stat(index)
    index.write_text("module.exports = 2;\n")
    os.utime(index, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert converged(**args)["current"] is True


def test_excluded_entries_below_a_tree_may_change(tree):
    root, args = tree
    (root / ".cache" / "log").write_text("rewritten again, longer than before\n")
    (root / ".cache" / "new").write_text("x\n")
    assert converged(**args)["current"] is True


def test_a_tree_in_a_watched_directory_whose_walk_leaves_it_out_is_still_checked(tmp_path):
    """node_app watches /usr/local/lib/node_app without walking into the trees it installs there (npm,
    Node.js): those patterns match everything below a tree, and must not blind the tree's own digest."""
    lib = tmp_path / "lib"
    for name in ("npm-10.9.9", "node-22.23.5"):
        (lib / name / "bin").mkdir(parents=True)
        (lib / name / "bin" / "tool").write_text("#!/bin/sh\n")
    args = {"path": str(tmp_path / "state" / "converged.json"), "digest": "d", "watch": [str(lib)],
            "exclude": [f"{lib}/npm-*/*", f"{lib}/node-*"], "trees": [str(lib / "npm-10.9.9"), str(lib / "node-22.23.5")]}
    converged(state="present", **args)
    assert converged(**args)["current"] is True
    (lib / "node-22.23.5" / "bin" / "tool").write_text("#!/bin/sh\necho replaced\n")
    (lib / "npm-10.9.9" / "bin" / "tool").chmod(0o777)
    assert converged(**args)["stale"] == [f"tree:{lib / 'node-22.23.5'}", f"tree:{lib / 'npm-10.9.9'}"]


def test_a_missing_tree_is_recorded_as_absent(tmp_path):
    root = tmp_path / "tree"
    args = {"path": str(tmp_path / "record.json"), "digest": "d", "trees": [str(root)]}
    converged(state="present", **args)
    assert json.loads((tmp_path / "record.json").read_text())["trees"] == {str(root): "absent"}
    assert converged(**args)["current"] is True
    root.mkdir()
    result = converged(**args)
    assert result["stale"] == [f"tree:{root}"]
    assert result["reasons"] == [f"the tree {root} changed: absent -> present"]


# The record ----------------------------------------------------------------------------------------

def test_the_record_is_root_s_only_and_written_without_a_temporary_file_left(tmp_path):
    state = tmp_path / "new" / "state"
    args = {"path": str(state / "converged.json"), "digest": "d1", "watch": [str(tmp_path / "new")],
            "exclude": [str(state)]}
    assert converged(state="present", **args)["changed"] is True
    assert oct(state.stat().st_mode & 0o777) == "0o700"
    assert oct((state / "converged.json").stat().st_mode & 0o777) == "0o600"
    assert converged(state="present", **{**args, "digest": "d2"})["changed"] is True
    assert os.listdir(state) == ["converged.json"]
    assert json.loads((state / "converged.json").read_text())["digest"] == "d2"


def test_the_record_is_not_written_through_a_planted_link(tmp_path):
    """The temporary file has no name another user could guess and plant as a link beforehand."""
    record = tmp_path / "converged.json"
    victim = tmp_path / "victim"
    for planted in (f"{record}.tmp", f"{record}.new", f"{tmp_path}/.converged.json.tmp"):
        os.symlink(victim, planted)
    assert converged(state="present", path=str(record), digest="d")["changed"] is True
    assert not victim.exists()
    assert json.loads(record.read_text())["digest"] == "d"


def test_a_failed_write_keeps_the_old_record_and_leaves_no_temporary_file(tmp_path):
    record = tmp_path / "converged.json"
    snap = converged_utils.snapshot()
    assert converged_utils.write_record(str(record), "d1", {}, snap) is True
    assert converged_utils.write_record(str(record), "d1", {}, snap) is False
    with pytest.raises(TypeError):
        converged_utils.write_record(str(record), "d2", {"not json": object()}, snap)
    assert os.listdir(tmp_path) == ["converged.json"]
    assert json.loads(record.read_text())["digest"] == "d1"


@pytest.mark.parametrize("option, value, message", [
    ("nft_tables", ["node_app_app"], "nft_tables: 'node_app_app' is not '<family> <name>'"),
    ("nft_tables", ["inet6 t"], "nft_tables: 'inet6 t' is not '<family> <name>'"),
    ("units", [{"name": "two words"}], "units: 'two words' is not a unit name"),
    ("users", [""], "users: '' is not a user name"),
])
def test_values_the_check_cannot_use_are_refused_naming_the_option(tmp_path, option, value, message):
    record = tmp_path / "record.json"
    result = run_module("proxylab.webstack.converged", {"path": str(record), "digest": "d", "state": "present",
                                                        option: value}, expect_failure=True)
    assert message in result["msg"]
    assert not record.exists()


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
    name = {"node_app": "_node_app_setup_task_tags", "nginx_proxy": "_nginx_proxy_converged_task_tags"}[role]
    listed = yaml.safe_load((REPO_ROOT / "roles" / role / "vars" / "main.yml").read_text())[name]
    assert used - {"always"} == set(listed)


# Units, nftables tables and users, in a scratch systemd container -----------------------------------

RECORD = "/var/lib/proxylab-converged-test/converged.json"
UNIT_NUMBERS = itertools.count(1)


@pytest.fixture(scope="module")
def box(scratch_host):
    """The scratch container with nft, as node_app's app servers have it."""
    docker_sh(scratch_host, "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                            "--no-install-recommends nftables >/dev/null", timeout=300)
    return scratch_host


def in_box(host, **args):
    return run_module("proxylab.webstack.converged", args, host=host)


def sh(host, script):
    return docker_sh(host, script).stdout


@pytest.fixture
def unit(box):
    """A running, enabled service of its own for each test, installed in /usr/lib (so it can be masked)."""
    name = f"proxylab-conv-{next(UNIT_NUMBERS)}.service"
    sh(box, f"""printf '[Service]\\nExecStart=/bin/sleep infinity\\n[Install]\\nWantedBy=multi-user.target\\n' \\
                > /usr/lib/systemd/system/{name}
                systemctl daemon-reload && systemctl enable --now --quiet {name}""")
    assert in_box(box, state="present", path=RECORD, digest="d")["current"] is True
    yield name
    sh(box, f"""systemctl unmask --quiet {name}; systemctl disable --now --quiet {name}
                rm -rf /usr/lib/systemd/system/{name} /etc/systemd/system/{name}.d /run/systemd/system/{name}.d
                systemctl daemon-reload""")


def check_unit(host, name, owned=True):
    return in_box(host, path=RECORD, digest="d", units=[{"name": name, "owned": owned}])


def test_a_unit_running_and_enabled_as_left_is_current(box, unit):
    result = check_unit(box, unit)
    assert result["current"] is True, result["reasons"]
    assert result["stale"] == []


@pytest.mark.parametrize("change, reason", ids=["disabled", "stopped", "masked", "enabled-runtime", "edited"], argvalues=[
    ("systemctl disable --quiet {unit}", "{unit} is disabled at boot, not enabled"),
    ("systemctl stop {unit}", "{unit} is inactive, not active"),
    ("systemctl mask --quiet {unit}", "{unit} is masked at boot, not enabled"),
    ("systemctl enable --runtime --quiet {unit} && systemctl disable --quiet {unit}"
     " && systemctl enable --runtime --quiet {unit}", "{unit} is enabled-runtime at boot, not enabled"),
    ("sed -i 's/infinity/3600/' /usr/lib/systemd/system/{unit}",
     "{unit} changed on disk since systemd loaded it (no daemon-reload since)"),
])
def test_a_unit_not_as_left_is_stale(box, unit, change, reason):
    sh(box, change.format(unit=unit))
    result = check_unit(box, unit)
    assert result["current"] is False
    assert result["stale"] == [f"unit:{unit}"]
    assert reason.format(unit=unit) in result["reasons"], result["reasons"]


@pytest.mark.parametrize("where", ["/etc/systemd/system", "/run/systemd/system"])
def test_a_drop_in_of_an_owned_unit_is_stale_and_named(box, unit, where):
    drop_in = f"{where}/{unit}.d/override.conf"
    sh(box, f"""mkdir -p {where}/{unit}.d
                printf '[Service]\\nExecStart=\\nExecStart=/bin/sleep 1000000\\n' > {drop_in}
                systemctl daemon-reload""")
    result = check_unit(box, unit)
    assert result["stale"] == [f"unit:{unit}"]
    assert result["reasons"] == [f"{unit} is changed by drop-ins the role did not write: {drop_in}"]
    # A unit the role does not own may have drop-ins of the host's.
    result = check_unit(box, unit, owned=False)
    assert result["current"] is True, result["reasons"]


@pytest.mark.parametrize("kind", ["alias", "template"])
def test_a_drop_in_for_an_alias_or_the_template_of_an_owned_unit_is_stale(box, kind):
    """Such a drop-in changes the unit alone as well, under another of its names."""
    number = next(UNIT_NUMBERS)
    if kind == "alias":
        unit_file, name, drop_ins = (f"proxylab-conv-{number}.service", f"proxylab-conv-{number}.service",
                                     f"proxylab-conv-alias-{number}.service.d")
        install = f"WantedBy=multi-user.target\\nAlias=proxylab-conv-alias-{number}.service"
    else:
        unit_file, name, drop_ins = (f"proxylab-conv-{number}@.service", f"proxylab-conv-{number}@one.service",
                                     f"proxylab-conv-{number}@.service.d")
        install = "WantedBy=multi-user.target"
    drop_in = f"/etc/systemd/system/{drop_ins}/override.conf"
    try:
        sh(box, f"""printf '[Service]\\nExecStart=/bin/sleep infinity\\n[Install]\\n{install}\\n' \\
                    > /usr/lib/systemd/system/{unit_file}
                    systemctl daemon-reload && systemctl enable --now --quiet {name}""")
        assert check_unit(box, name)["current"] is True
        sh(box, f"""mkdir -p /etc/systemd/system/{drop_ins} && printf '[Service]\\nNice=5\\n' > {drop_in}
                    systemctl daemon-reload""")
        result = check_unit(box, name)
        assert result["stale"] == [f"unit:{name}"]
        assert result["reasons"] == [f"{name} is changed by drop-ins the role did not write: {drop_in}"]
    finally:
        sh(box, f"""systemctl disable --now --quiet {name}
                    rm -rf /usr/lib/systemd/system/{unit_file} /etc/systemd/system/{drop_ins}
                    systemctl daemon-reload""")


def test_a_drop_in_not_yet_loaded_is_stale_when_owned(box, unit):
    """systemd itself does not see a drop-in directory made since its last reload; the next reload or
    boot would apply it."""
    drop_in = f"/etc/systemd/system/{unit}.d/nice.conf"
    sh(box, f"mkdir -p /etc/systemd/system/{unit}.d && printf '[Service]\\nNice=5\\n' > {drop_in}")
    result = check_unit(box, unit)
    assert result["stale"] == [f"unit:{unit}"]
    assert f"{unit} is changed by drop-ins the role did not write: {drop_in}" in result["reasons"]


def test_a_drop_in_of_the_host_changed_since_loaded_is_stale_on_an_unowned_unit(box, unit):
    sh(box, f"""mkdir -p /etc/systemd/system/{unit}.d && printf '[Service]\\nNice=5\\n' \\
                > /etc/systemd/system/{unit}.d/host.conf && systemctl daemon-reload""")
    assert check_unit(box, unit, owned=False)["current"] is True
    sh(box, f"printf '[Service]\\nNice=6\\n' > /etc/systemd/system/{unit}.d/more.conf")
    result = check_unit(box, unit, owned=False)
    assert result["stale"] == [f"unit:{unit}"]
    assert result["reasons"] == [f"{unit} changed on disk since systemd loaded it (no daemon-reload since)"]


def test_a_drop_in_for_every_service_is_not_the_role_s(box, unit):
    try:
        sh(box, "mkdir -p /etc/systemd/system/service.d && printf '[Service]\\nEnvironment=PROXYLAB_TEST=1\\n'"
                " > /etc/systemd/system/service.d/proxylab-test.conf && systemctl daemon-reload")
        assert "/etc/systemd/system/service.d/proxylab-test.conf" in sh(box, f"systemctl show -p DropInPaths {unit}")
        result = check_unit(box, unit)
        assert result["current"] is True, result["reasons"]
    finally:
        sh(box, "rm -rf /etc/systemd/system/service.d && systemctl daemon-reload")


NFT_RULES = """table inet proxylab_conv {
    chain input {
        type filter hook input priority filter; policy accept;
        tcp dport 3000 counter reject with tcp reset
    }
}
"""


def test_an_nft_table_is_recorded_and_compared_as_loaded(box):
    args = {"path": RECORD, "digest": "d", "nft_tables": ["inet proxylab_conv"]}
    sh(box, "nft delete table inet proxylab_conv 2>/dev/null; mkdir -p /etc/proxylab-test")
    docker_sh(box, "cat > /etc/proxylab-test/rules.nft && nft --file /etc/proxylab-test/rules.nft", stdin=NFT_RULES)
    assert in_box(box, state="present", **args)["changed"] is True
    assert in_box(box, **args)["current"] is True

    # Traffic moves the counter; the table is still as loaded.
    sh(box, "python3 -c 'import socket; s = socket.socket(); s.connect_ex((\"127.0.0.1\", 3000))'")
    assert "packets 0 " not in sh(box, "nft list table inet proxylab_conv")
    assert in_box(box, **args)["current"] is True

    sh(box, "nft delete table inet proxylab_conv")
    result = in_box(box, **args)
    assert result["stale"] == ["nft:inet proxylab_conv"]
    assert result["reasons"] == ["the nftables table inet proxylab_conv is not loaded"]

    sh(box, "nft --file /etc/proxylab-test/rules.nft")
    result = in_box(box, **args)
    assert result["current"] is True, result["reasons"]

    sh(box, "nft add rule inet proxylab_conv input tcp dport 3001 drop")
    result = in_box(box, **args)
    assert result["stale"] == ["nft:inet proxylab_conv"]
    assert result["reasons"] == ["the nftables table inet proxylab_conv is not as loaded by the recorded run"]

    sh(box, "nft delete table inet proxylab_conv && nft --file /etc/proxylab-test/rules.nft")
    assert in_box(box, **args)["current"] is True


def test_a_user_is_recorded_with_its_groups_and_shell(box):
    args = {"path": RECORD, "digest": "d", "users": ["proxylabconv", "proxylab-no-such-user"]}
    sh(box, "userdel -r proxylabconv 2>/dev/null; useradd -m -s /bin/sh proxylabconv")
    assert in_box(box, state="present", **args)["changed"] is True
    assert in_box(box, **args)["current"] is True

    sh(box, "usermod -aG adm proxylabconv")
    result = in_box(box, **args)
    assert result["stale"] == ["user:proxylabconv"]
    assert "groups none -> " in result["reasons"][0] and result["reasons"][0].endswith("groups adm")

    sh(box, "gpasswd -d proxylabconv adm >/dev/null")
    assert in_box(box, **args)["current"] is True

    sh(box, "usermod -s /bin/bash proxylabconv")
    result = in_box(box, **args)
    assert result["stale"] == ["user:proxylabconv"]
    assert "shell /bin/sh, groups none -> " in result["reasons"][0] and "shell /bin/bash" in result["reasons"][0]

    sh(box, "userdel -r proxylabconv 2>/dev/null")
    result = in_box(box, **args)
    assert result["stale"] == ["user:proxylabconv"]
    assert result["reasons"][0].endswith("-> absent")
