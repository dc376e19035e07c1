"""The collection as Galaxy sees it: metadata and the built tarball's contents."""

import tarfile

import yaml

from conftest import REPO_ROOT, run

NOT_CONTENT = (".venv", ".lab", "molecule", "tests", ".ci", "collections", "scripts", "images", ".git")


def test_galaxy_metadata_names_the_collection():
    meta = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())
    assert (meta["namespace"], meta["name"]) == ("proxylab", "webstack")
    runtime = yaml.safe_load((REPO_ROOT / "meta" / "runtime.yml").read_text())
    assert runtime["requires_ansible"].startswith(">=2.19")


def test_built_tarball_holds_content_only(tmp_path):
    run(["ansible-galaxy", "collection", "build", "--output-path", str(tmp_path), "."])
    (tarball,) = tmp_path.glob("proxylab-webstack-*.tar.gz")
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    top_level = {name.split("/")[0] for name in names}
    assert not top_level & set(NOT_CONTENT), sorted(top_level & set(NOT_CONTENT))
    assert {"MANIFEST.json", "FILES.json", "README.md", "roles", "playbooks", "meta"} <= top_level
