"""playbooks/hosts_entry.yml against a copy of a hosts file on the controller."""

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
