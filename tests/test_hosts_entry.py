"""playbooks/hosts_entry.yml against a copy of a hosts file on the controller, and how `make hosts` asks for a sudo
password."""

import os

import pytest

from helpers import run

ORIGINAL = "127.0.0.1\tlocalhost\n10.1.2.3 printer.office printer\n"


@pytest.fixture
def hosts_file(tmp_path):
    path = tmp_path / "hosts"
    path.write_text(ORIGINAL)
    return path


def hosts_entry(hosts_file, *extra):
    return run(["ansible-playbook", "playbooks/hosts_entry.yml", "-i", "inventories/lab",
                "-e", f"hosts_entry_file={hosts_file}", *extra], check=False, timeout=120)


def test_adds_the_lab_domain_in_a_marked_block_and_leaves_other_lines(hosts_file):
    result = hosts_entry(hosts_file, "-e", '{"hosts_entry_aliases": ["www.dumbflix.lab"]}')
    assert result.returncode == 0, result.stdout
    assert hosts_file.read_text() == ORIGINAL + (
        "# BEGIN proxylab.webstack dumbflix.lab\n127.0.0.1 dumbflix.lab www.dumbflix.lab\n# END proxylab.webstack dumbflix.lab\n"
    )


def test_points_the_domain_at_the_floating_address_when_the_proxies_share_one(hosts_file):
    result = hosts_entry(hosts_file, "-e", "proxy_ha_vip=192.0.2.100")
    assert result.returncode == 0, result.stdout
    assert "\n192.0.2.100 dumbflix.lab\n" in hosts_file.read_text()


def test_second_run_changes_nothing(hosts_file):
    hosts_entry(hosts_file)
    before = hosts_file.read_text()
    result = hosts_entry(hosts_file)
    assert "changed=0" in result.stdout
    assert hosts_file.read_text() == before


def test_absent_removes_only_its_block(hosts_file):
    hosts_entry(hosts_file)
    result = hosts_entry(hosts_file, "-e", "hosts_entry_state=absent")
    assert result.returncode == 0
    assert hosts_file.read_text() == ORIGINAL


@pytest.mark.parametrize(
    "bad",
    ['{"hosts_entry_domain": "bad domain"}', '{"hosts_entry_address": "not-an-ip"}', '{"hosts_entry_state": "gone"}'],
)
def test_bad_values_are_refused_before_the_file_changes(hosts_file, bad):
    result = hosts_entry(hosts_file, "-e", bad)
    assert result.returncode != 0
    assert "hosts_entry_" in result.stdout
    assert hosts_file.read_text() == ORIGINAL


@pytest.mark.parametrize(("uid", "sudo_without_password", "asks"), [
    ("1000", False, True), ("1000", True, False), ("0", False, False)])
def test_make_hosts_asks_for_the_sudo_password_only_when_sudo_needs_one(tmp_path, uid, sudo_without_password, asks):
    """`make hosts` as a user whose sudo asks for a password passes --ask-become-pass (ansible-playbook
    then asks before it changes anything); as root, or with sudo that needs none, it asks nothing."""
    (tmp_path / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    (tmp_path / "sudo").write_text(f"#!/bin/sh\nexit {0 if sudo_without_password else 1}\n")
    for tool in ("id", "sudo"):
        (tmp_path / tool).chmod(0o755)
    for target in ("hosts", "hosts-remove"):
        # -n: print the commands only; -o: whatever the state of the virtualenv.
        result = run(["make", "-n", "-o", ".venv/.installed", target], env={"PATH": f"{tmp_path}:{os.environ['PATH']}"})
        command = [line for line in result.stdout.splitlines() if "playbooks/hosts_entry.yml" in line]
        assert len(command) == 1, result.stdout
        assert ("--ask-become-pass" in command[0]) == asks, command
