"""Bad input is refused before any change, with a message naming the variable."""

import json

import pytest
from conftest import PROXIES, SCENARIO_DIR
from helpers import docker_sh, molecule_playbook

PLAYBOOK = SCENARIO_DIR.parent.parent / "playbooks" / "site.yml"


@pytest.mark.parametrize(("extra", "message"), [
    ({"proxy_ha_vip": "10.213.47.11"}, "proxy_ha_vip: 10.213.47.11 is the address of proxy-ha-deb13"),
    ({"proxy_ha_vip": "192.0.2.200"}, "proxy_ha_vip: 192.0.2.200 is not a host address of 10.213.47.0/24"),
    ({"proxy_ha_router_id": 300, "proxy_ha_advert_int": 0.005},
     "proxy_ha_router_id: 300 must be a whole number from 1 to 255"),
])
def test_bad_input_is_refused_naming_the_variable_before_any_change(extra, message):
    before = {proxy: docker_sh(proxy, "sha1sum /etc/keepalived/keepalived.conf").stdout for proxy in PROXIES}
    result = molecule_playbook(PLAYBOOK, "--tags", "proxy_ha", "-e", json.dumps(extra), timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    # Folded as ansible-playbook folds long messages on a narrow terminal.
    assert message in " ".join(output.split()), output[-3000:]
    assert "Install keepalived" not in output
    after = {proxy: docker_sh(proxy, "sha1sum /etc/keepalived/keepalived.conf").stdout for proxy in PROXIES}
    assert after == before
