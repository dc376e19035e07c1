"""The execution environment (execution-environment.yml, `make ee`, ansible-navigator.yml) as AWX and
ansible-navigator users get it: what ansible-builder is given carries no private key, not even a lab key
lying in the checkout; the image holds the collection and the versions the project tests; and a playbook
of the collection, run from the image by ansible-navigator with the repository's settings, deploys the
web stack on two fresh Debian 12 hosts over SSH, then changes nothing on a second run.

The image is built here (scripts/ee.sh build, tagged <PROXYLAB_TEST_PREFIX>-ee:<version>, so two
checkouts testing at once do not share it); docker's layer cache makes later builds short."""

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from helpers import REPO_ROOT, container_address, docker_sh, recap, run, start_systemd_container, tool, wait_for

VERSION = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())["version"]
PREFIX = os.environ.get("PROXYLAB_TEST_PREFIX", "webstack-pytest")
IMAGE = f"{PREFIX}-ee:{VERSION}"
# A private key as it is stored (PEM or OpenSSH): the header, then lines of base64. Code that only names
# the header (cryptography's, community.crypto's) does not match.
PRIVATE_KEY = re.compile(rb"-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----\r?\n[A-Za-z0-9+/=]{40,}")


def private_keys_in(root):
    """Files under root, and members of the tarballs there, that hold a private key."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        if path.name.endswith(".tar.gz"):
            with tarfile.open(path) as archive:
                for member in archive.getmembers():
                    if member.isfile() and PRIVATE_KEY.search(archive.extractfile(member).read()):
                        found.append(f"{path}:{member.name}")
        elif PRIVATE_KEY.search(path.read_bytes()):
            found.append(str(path))
    return found


def test_the_navigator_settings_run_the_image_make_ee_tags():
    settings = yaml.safe_load((REPO_ROOT / "ansible-navigator.yml").read_text())["ansible-navigator"]
    assert settings["execution-environment"]["image"] == f"proxylab-webstack-ee:{VERSION}"


def test_the_build_context_holds_no_private_key_even_with_a_lab_key_in_the_checkout(tmp_path):
    # A copy of the checkout (what git tracks or would track) with a lab made in it: its key in .lab/
    # and the lab's recorded deployment.
    checkout = tmp_path / "checkout"
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]).stdout
    for name in filter(None, listed.split("\0")):
        source = REPO_ROOT / name
        if source.is_symlink() or source.is_file():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, checkout / name, follow_symlinks=False)
    (checkout / ".lab").mkdir()
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "proxylab-lab", "-f", str(checkout / ".lab" / "id_ed25519")])
    (checkout / "inventories/lab/group_vars/lab/deployed.yml").write_text("---\nnode_app_src: /somewhere\n")
    # The scan finds the key where it is.
    assert private_keys_in(checkout / ".lab") == [str(checkout / ".lab" / "id_ed25519")]

    result = run(["bash", str(checkout / "scripts" / "ee.sh"), "create"],
                 env={"VENV_BIN": str(Path(sys.executable).parent)}, cwd=checkout, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    context = checkout / ".cache" / "ee" / "context"
    dockerfile = (context / "Dockerfile").read_text()
    assert 'ARG EE_BASE_IMAGE="proxylab/debian:12"' in dockerfile
    (tarball,) = (context / "_build" / "collections").glob("proxylab-webstack-*.tar.gz")
    assert tarball.name == f"proxylab-webstack-{VERSION}.tar.gz"
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert "meta/execution-environment.yml" in names and "bindep.txt" in names
    assert not [name for name in names if name.split("/")[0] == ".lab" or name.startswith("inventories/lab/")], names
    assert private_keys_in(context) == []


@pytest.fixture(scope="module")
def ee_image():
    result = run(["bash", str(REPO_ROOT / "scripts" / "ee.sh"), "build"], env={"EE_TAG": IMAGE}, timeout=1800,
                 check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return IMAGE


def in_image(image, script, user=None):
    return run(["docker", "run", "--rm", *(["--user", user] if user else []), image, "bash", "-c", script],
               check=False, timeout=300)


def test_the_image_holds_the_collection_and_the_tested_versions(ee_image):
    result = in_image(ee_image, "ansible-galaxy collection list --format json")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    installed = {name: info["version"] for path in json.loads(result.stdout).values() for name, info in path.items()}
    assert installed["proxylab.webstack"] == VERSION
    # The collections it depends on: those of the `ansible` bundle the project's virtualenv tests with.
    bundle = json.loads(run([tool("ansible-galaxy"), "collection", "list", "--format", "json"]).stdout)
    tested = {name: info["version"] for path in bundle.values() for name, info in path.items()}
    for name in yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())["dependencies"]:
        assert installed[name] == tested[name], name
    # No warning of its Python libraries in front of every command's output (images/ee-constraints.txt).
    version = in_image(ee_image, "ansible --version")
    assert version.returncode == 0 and version.stderr == "", version.stderr


# Run in the image: print each file that holds one of the lines given on stdin (the lab's key, anywhere),
# or a private key file (text files only: libraries such as GnuTLS carry the public test keys of their
# self-tests).
IMAGE_SCAN = r"""
import os, re, sys
needles = [line.encode() for line in sys.stdin.read().split()]
key = re.compile(rb"-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----\r?\n[A-Za-z0-9+/=]{40,}")
for top in sorted(set(os.listdir("/")) - {"proc", "sys", "dev"}):
    for root, dirs, files in os.walk("/" + top):
        for name in files:
            path = os.path.join(root, name)
            if os.path.isfile(path) and not os.path.islink(path) and os.path.getsize(path) < 50_000_000:
                with open(path, "rb") as handle:
                    data = handle.read()
                if any(needle in data for needle in needles) or (b"\0" not in data[:8192] and key.search(data)):
                    print(path)
"""


def test_the_image_holds_no_private_key_and_its_user_cannot_become_root(ee_image, tmp_path):
    # The lab's key, when this checkout has a lab: the lines of its body.
    lab_key = REPO_ROOT / ".lab" / "id_ed25519"
    needles = [line for line in lab_key.read_text().splitlines() if "-----" not in line] if lab_key.exists() else []
    # A key mounted into the container for the scan to find: the only file it may report.
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "planted")])
    scan = run(["docker", "run", "--rm", "-i", "--user", "0", "-v", f"{tmp_path / 'planted'}:/planted/key:ro",
                ee_image, "python3", "-c", IMAGE_SCAN], input_text="\n".join(needles), check=False, timeout=300)
    assert scan.returncode == 0 and scan.stdout.split() == ["/planted/key"], scan.stdout + scan.stderr
    sudo = in_image(ee_image, "id -un; sudo -n true")
    assert sudo.stdout.strip() == "deploy" and sudo.returncode != 0, sudo.stdout + sudo.stderr


@pytest.fixture(scope="module")
def stack_hosts(tmp_path_factory):
    """An app server and a proxy, fresh Debian 12 'VMs' that answer SSH as deploy with a key of their own."""
    keys = tmp_path_factory.mktemp("keys")
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / "id_ed25519")])
    hosts = {}
    try:
        for role in ("app", "proxy"):
            name = start_systemd_container(f"{PREFIX}-ee-{role}")
            docker_sh(name, "install -d -m 0700 -o deploy -g deploy ~deploy/.ssh && cat > ~deploy/.ssh/authorized_keys"
                            " && chown deploy:deploy ~deploy/.ssh/authorized_keys",
                      stdin=(keys / "id_ed25519.pub").read_text())
            hosts[role] = (name, container_address(name))
        for name, address in hosts.values():
            ssh = ["ssh", "-n", "-i", str(keys / "id_ed25519"), "-o", "BatchMode=yes", "-o", "ConnectTimeout=2",
                   "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", f"deploy@{address}", "true"]
            assert wait_for(lambda: subprocess.run(ssh, capture_output=True, timeout=30).returncode == 0, timeout=60), name
        yield hosts, keys / "id_ed25519"
    finally:
        for role in ("app", "proxy"):
            run(["docker", "rm", "-f", f"{PREFIX}-ee-{role}"], check=False)


def navigator_run(workdir, image):
    """ansible-navigator run, with the repository's settings and the test's image, from workdir: the
    directory ansible-navigator mounts into the container, with the playbook, inventory, key and app."""
    return run([tool("ansible-navigator"), "run", "site.yml", "-i", "inventory.yml", "--mode", "stdout",
                "--execution-environment-image", image],
               env={"ANSIBLE_NAVIGATOR_CONFIG": str(REPO_ROOT / "ansible-navigator.yml"),
                    "ANSIBLE_CONFIG": str(workdir / "ansible.cfg")},
               cwd=workdir, check=False, timeout=1800)


def test_navigator_deploys_the_stack_from_the_image_and_a_second_run_changes_nothing(ee_image, stack_hosts, tmp_path):
    hosts, key = stack_hosts
    workdir = tmp_path / "project"
    workdir.mkdir()
    shutil.copy(key, workdir / "id_ed25519")
    shutil.copytree(REPO_ROOT / "tests" / "fixtures" / "hello-app", workdir / "hello-app",
                    ignore=shutil.ignore_patterns("node_modules", "build"))
    # No collections path: the collection is the image's copy, not the checkout's.
    (workdir / "ansible.cfg").write_text("[connection]\npipelining = true\n")
    (workdir / "site.yml").write_text("---\n- name: Deploy the web stack\n  ansible.builtin.import_playbook: proxylab.webstack.site\n")
    (workdir / "inventory.yml").write_text(yaml.safe_dump({"all": {
        "vars": {
            "ansible_user": "deploy",
            "ansible_become": True,
            "ansible_python_interpreter": "/usr/bin/python3",
            "ansible_ssh_private_key_file": str(workdir / "id_ed25519"),
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
            "node_app_src": str(workdir / "hello-app"),
        },
        "children": {role: {"hosts": {name: {"ansible_host": address}}} for role, (name, address) in hosts.items()},
    }}))

    first = navigator_run(workdir, ee_image)
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-2000:]
    found = recap(first.stdout)
    assert {name for name, _ in hosts.values()} <= set(found), first.stdout[-3000:]
    assert all(found[name]["failed"] == 0 and found[name]["unreachable"] == 0 for name, _ in hosts.values()), found

    proxy = hosts["proxy"][0]
    page = docker_sh(proxy, "curl -s --max-time 5 -H 'Host: dumbflix.lab' http://127.0.0.1/").stdout
    assert '<span id="version">1.0.0</span>' in page, page

    second = navigator_run(workdir, ee_image)
    assert second.returncode == 0, second.stdout[-6000:] + second.stderr[-2000:]
    found = recap(second.stdout)
    assert all(found[name]["changed"] == 0 for name, _ in hosts.values()), second.stdout[-3000:]
