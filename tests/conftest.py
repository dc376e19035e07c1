"""Fixtures of the pytest suite; the helpers it shares with the molecule scenarios are in helpers.py."""

import os
import sys
from pathlib import Path

import pytest

from helpers import REPO_ROOT, install_collection_finder, run, start_systemd_container

# The checkout is the collection (collections/ansible_collections/proxylab/webstack): its plugins and
# module_utils import each other as ansible_collections.proxylab.webstack.*, and templates rendered
# in the tests find its filters, as Ansible finds them. Installed before any test module is imported.
install_collection_finder()

# The tools (ansible, molecule, ...) live next to the interpreter running pytest.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
os.environ.setdefault("ANSIBLE_CONFIG", str(REPO_ROOT / "ansible.cfg"))


@pytest.fixture(scope="session")
def repo_root():
    return REPO_ROOT


@pytest.fixture(scope="module")
def scratch_host(request):
    """A throw-away Debian 12 'VM' reached with the docker connection, as user deploy with sudo."""
    # PROXYLAB_TEST_PREFIX keeps two checkouts that test at once on one machine apart.
    prefix = os.environ.get("PROXYLAB_TEST_PREFIX", "webstack-pytest")
    name = f"{prefix}-{request.module.__name__.rsplit('.', 1)[-1].replace('_', '-')}"
    start_systemd_container(name)
    yield name
    run(["docker", "rm", "-f", name], check=False)
