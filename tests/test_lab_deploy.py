"""scripts/lab-deploy.sh (the deploy step of `make lab`) records what it deploys in the lab's
inventory, so that the plain `ansible-playbook site.yml -i inventories/lab` (which is all it runs)
deploys the same again. Run on a copy of the script and the inventory, with ansible-playbook and
docker replaced by stubs: nothing is deployed, the real ansible-inventory reads the result."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO_ROOT, tool

ANSIBLE_INVENTORY = tool("ansible-inventory")


@pytest.fixture()
def lab_copy(tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "scripts", root / "scripts")
    shutil.copytree(REPO_ROOT / "inventories" / "lab", root / "inventories" / "lab",
                    ignore=shutil.ignore_patterns("deployed.yml"))
    shutil.copytree(REPO_ROOT / "inventories" / "lab-ha", root / "inventories" / "lab-ha")
    shutil.copytree(REPO_ROOT / "tests" / "fixtures" / "hello-app", root / "tests" / "fixtures" / "hello-app",
                    ignore=shutil.ignore_patterns("node_modules", "build"))
    stubs = tmp_path / "bin"
    stubs.mkdir()
    # ansible-playbook records its arguments; docker fails, as on a machine that cannot reach GitHub.
    (stubs / "ansible-playbook").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/playbook-calls\n')
    (stubs / "docker").write_text("#!/bin/sh\nexit 1\n")
    for stub in stubs.iterdir():
        stub.chmod(0o755)
    return root, stubs, tmp_path / "playbook-calls"


def lab_deploy(root, stubs, **env):
    environment = {**os.environ, "PATH": f"{stubs}:{Path(sys.executable).parent}:{os.environ['PATH']}", **env}
    return subprocess.run(["bash", str(root / "scripts" / "lab-deploy.sh")], env=environment,
                          capture_output=True, text=True, timeout=60, check=False)


def inventory_vars(root, host, *more):
    sources = [arg for name in ("lab", *more) for arg in ("-i", str(root / "inventories" / name))]
    result = subprocess.run([str(ANSIBLE_INVENTORY), *sources, "--host", host],
                            capture_output=True, text=True, timeout=60, check=True)
    return json.loads(result.stdout)


def test_a_local_checkout_mode_and_domain_are_recorded_and_the_plain_command_runs(lab_copy):
    root, stubs, calls = lab_copy
    source = root / "tests" / "fixtures" / "hello-app"
    result = lab_deploy(root, stubs, APP_SRC=str(source), APP_MODE="static", LAB_DOMAIN="shop.lab")
    assert result.returncode == 0, result.stderr
    assert calls.read_text().split("\n")[0] == "site.yml -i inventories/lab"
    for host in ("webstack-lab-app1", "webstack-lab-proxy"):
        found = inventory_vars(root, host)
        assert found["node_app_src"] == str(source) and found["node_app_mode"] == "static", found
        assert found["nginx_proxy_domain"] == "shop.lab", found
    assert "http://shop.lab:8080/" in result.stdout


def test_offline_the_demo_app_is_recorded_with_its_banner(lab_copy):
    root, stubs, _ = lab_copy
    result = lab_deploy(root, stubs, APP_SRC="", APP_MODE="", LAB_DOMAIN="")
    assert result.returncode == 0, result.stderr
    found = inventory_vars(root, "webstack-lab-app2")
    assert found["node_app_src"] == str(root / "tests" / "fixtures" / "hello-app"), found
    assert "could not be reached" in found["node_app_env"]["APP_BANNER"], found
    assert found["nginx_proxy_domain"] == "dumbflix.lab" and "node_app_mode" not in found, found


def test_two_proxies_deploy_with_the_lab_ha_inventory_and_share_the_recorded_choice(lab_copy):
    root, stubs, calls = lab_copy
    source = root / "tests" / "fixtures" / "hello-app"
    result = lab_deploy(root, stubs, APP_SRC=str(source), LAB_PROXIES="2")
    assert result.returncode == 0, result.stderr
    assert calls.read_text().split("\n")[0] == "site.yml -i inventories/lab -i inventories/lab-ha"
    second = inventory_vars(root, "webstack-lab-proxy2", "lab-ha")
    assert second["node_app_src"] == str(source) and second["ansible_user"] == "deploy", second
    first = inventory_vars(root, "webstack-lab-proxy", "lab-ha")
    assert first["proxy_ha_vip"] == second["proxy_ha_vip"], (first, second)
    assert "floating address" in result.stdout
