"""The collection as Galaxy sees it: metadata, the built tarball, and a round trip through
`ansible-galaxy collection install` that uses the collection without the checkout."""

import tarfile

import pytest
import yaml

from helpers import REPO_ROOT, run

NOT_CONTENT = (".venv", ".lab", "molecule", "tests", ".ci", "collections", "scripts", "images", ".git",
               "execution-environment.yml", "ansible-navigator.yml")


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    run(["ansible-galaxy", "collection", "build", "--output-path", str(out), "."])
    (path,) = out.glob("proxylab-webstack-*.tar.gz")
    return path


@pytest.fixture(scope="module")
def installed(tarball, tmp_path_factory):
    """The collection installed from its tarball into a fresh collections path, used from outside the repo."""
    home = tmp_path_factory.mktemp("galaxy")
    (home / "ansible.cfg").write_text("[defaults]\n")
    env = {
        "ANSIBLE_CONFIG": str(home / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(home / "collections"),
    }
    run(["ansible-galaxy", "collection", "install", "--offline", "-p", str(home / "collections"), str(tarball)],
        env=env, cwd=home)
    return home, env


def test_galaxy_metadata_names_the_collection():
    meta = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())
    assert (meta["namespace"], meta["name"]) == ("proxylab", "webstack")
    runtime = yaml.safe_load((REPO_ROOT / "meta" / "runtime.yml").read_text())
    assert runtime["requires_ansible"].startswith(">=2.19")


def test_built_tarball_holds_content_only(tarball):
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    top_level = {name.split("/")[0] for name in names}
    assert not top_level & set(NOT_CONTENT), sorted(top_level & set(NOT_CONTENT))
    assert {"MANIFEST.json", "FILES.json", "README.md", "roles", "playbooks", "meta"} <= top_level
    assert "roles/node_app/meta/argument_specs.yml" in names
    assert "roles/nginx_proxy/meta/argument_specs.yml" in names
    # What ansible-builder reads from an installed collection when it builds an execution environment.
    assert {"meta/execution-environment.yml", "meta/ee-requirements.txt", "bindep.txt"} <= set(names)


@pytest.mark.parametrize(
    ("role", "variables"),
    [
        ("node_app", ("node_app_port", "node_app_mode", "node_app_user", "node_app_src")),
        ("nginx_proxy", ("nginx_proxy_domain", "nginx_proxy_lb_method", "nginx_proxy_backends", "nginx_proxy_tls")),
    ],
)
def test_installed_roles_document_their_argument_specs(installed, role, variables):
    home, env = installed
    doc = run(["ansible-doc", "-t", "role", f"proxylab.webstack.{role}"], env=env, cwd=home).stdout
    for variable in variables:
        assert variable in doc


def test_installed_site_playbook_passes_syntax_check(installed):
    home, env = installed
    for playbook in ("proxylab.webstack.site", "proxylab.webstack.failover_check", "proxylab.webstack.hosts_entry"):
        result = run(["ansible-playbook", playbook, "--syntax-check", "-i", str(REPO_ROOT / "inventories" / "example")],
                     env=env, cwd=home, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
