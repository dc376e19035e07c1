"""Unit tests of the node_app plugins: the source archive lookup and the filters."""

import gzip
import hashlib
import os
import sys
import tarfile

import pytest

from helpers import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "plugins" / "lookup"))
sys.path.insert(0, str(REPO_ROOT / "plugins" / "filter"))
sys.path.insert(0, str(REPO_ROOT / "collections"))  # the filters import the collection's plugin_utils

import node_app as filters  # noqa: E402
import node_app_archive as archive  # noqa: E402
from ansible.errors import AnsibleFilterError, AnsibleLookupError  # noqa: E402

EXCLUDE = r"(^|/)(node_modules|\.git)(/|$)|^build(/|$)"


def make_tree(root, files, mtime=None):
    """files: {relative path: content or ('link', target) or ('exec', content)}."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, tuple) and content[0] == "link":
            os.symlink(content[1], path)
            continue
        executable = isinstance(content, tuple) and content[0] == "exec"
        path.write_text(content[1] if executable else content)
        path.chmod(0o755 if executable else 0o640)
        if mtime is not None:
            os.utime(path, (mtime, mtime))
    return root


APP = {
    "package.json": '{"name": "app", "version": "1.0.0"}\n',
    "src/index.js": "console.log('hi');\n",
    "bin/run": ("exec", "#!/bin/sh\necho run\n"),
    "public/logo": ("link", "../src/index.js"),
    "node_modules/x/index.js": "module.exports = 1;\n",
    "src/node_modules/y.js": "nested, left out too\n",
    ".git/HEAD": "ref: refs/heads/master\n",
    "build/index.html": "<html></html>\n",
    "src/build/kept.txt": "only the top-level build/ is left out\n",
}


def members(path):
    with tarfile.open(path, "r:gz") as tar:
        return {m.name: m for m in tar.getmembers()}


def test_archive_holds_the_tree_without_excluded_paths(tmp_path):
    src = make_tree(tmp_path / "app", APP)
    result = archive.pack(str(src), exclude=EXCLUDE, cache_dir=str(tmp_path / "cache"))
    found = members(result["path"])
    assert sorted(found) == [
        "bin", "bin/run", "package.json", "public", "public/logo",
        "src", "src/build", "src/build/kept.txt", "src/index.js",
    ]
    assert result["entries"] == len(found)
    assert found["bin/run"].mode == 0o755 and found["src/index.js"].mode == 0o644
    assert found["public/logo"].issym() and found["public/logo"].linkname == "../src/index.js"
    assert all(m.uid == 0 and m.gid == 0 and m.uname == "" and m.mtime == archive.FIXED_MTIME for m in found.values())
    with tarfile.open(result["path"], "r:gz") as tar:
        assert tar.extractfile("src/index.js").read() == b"console.log('hi');\n"


def test_same_tree_same_bytes_and_id_whatever_the_times_and_modes(tmp_path):
    one = make_tree(tmp_path / "one", APP, mtime=1_000_000_000)
    two = make_tree(tmp_path / "two", APP, mtime=1_700_000_000)
    (two / "package.json").chmod(0o600)  # not executable either: same archive
    a = archive.pack(str(one), exclude=EXCLUDE, cache_dir=str(tmp_path / "cache-a"))
    b = archive.pack(str(two), exclude=EXCLUDE, cache_dir=str(tmp_path / "cache-b"))
    assert a["id"] == b["id"] and a["checksum"] == b["checksum"]
    data = open(a["path"], "rb").read()
    assert data == open(b["path"], "rb").read()
    # gzip header: no file name, modification time 0.
    assert data[3] & 0x08 == 0 and data[4:8] == b"\0\0\0\0"
    # The id is the start of the SHA-256 of the uncompressed tar stream.
    assert a["checksum"] == hashlib.sha256(gzip.decompress(data)).hexdigest()
    assert a["id"] == a["checksum"][:12] and len(a["id"]) == 12


def test_a_changed_file_or_mode_changes_the_id(tmp_path):
    src = make_tree(tmp_path / "app", APP)
    cache = str(tmp_path / "cache")
    first = archive.pack(str(src), exclude=EXCLUDE, cache_dir=cache)
    (src / "src" / "index.js").write_text("console.log('bye');\n")
    second = archive.pack(str(src), exclude=EXCLUDE, cache_dir=cache)
    (src / "src" / "index.js").chmod(0o755)
    third = archive.pack(str(src), exclude=EXCLUDE, cache_dir=cache)
    assert len({first["id"], second["id"], third["id"]}) == 3
    # Excluded paths do not count.
    (src / "node_modules" / "x" / "index.js").write_text("changed\n")
    assert archive.pack(str(src), exclude=EXCLUDE, cache_dir=cache)["id"] == third["id"]


def test_archive_is_cached_by_id_and_the_cache_is_pruned(tmp_path):
    src = make_tree(tmp_path / "app", APP)
    cache = tmp_path / "cache"
    first = archive.pack(str(src), exclude=EXCLUDE, cache_dir=str(cache), keep=2)
    inode = os.stat(first["path"]).st_ino
    again = archive.pack(str(src), exclude=EXCLUDE, cache_dir=str(cache), keep=2)
    assert again == first and os.stat(first["path"]).st_ino == inode  # reused, not written again
    ids = [first["id"]]
    for n in range(3):
        (src / "n.txt").write_text(str(n))
        ids.append(archive.pack(str(src), exclude=EXCLUDE, cache_dir=str(cache), keep=2)["id"])
    assert sorted(os.listdir(cache)) == sorted(f"{i}.tar.gz" for i in ids[-2:])


def test_archive_of_a_missing_directory_is_an_error(tmp_path):
    with pytest.raises(AnsibleLookupError, match="is not a directory"):
        archive.pack(str(tmp_path / "missing"), cache_dir=str(tmp_path / "cache"))


LOCK = '{"name": "app", "version": "%s", "lockfileVersion": 3, "packages": {"": {"name": "app", "version": "%s", "dependencies": {"ms": "2.1.3"}}, "node_modules/ms": {"version": "2.1.3"}}}'
PKG = '{"name": "app", "version": "%s", "scripts": {"start": "node %s", "postinstall": "echo hi"}, "dependencies": {"ms": "2.1.3"}}'


def test_deps_stamp_ignores_the_apps_own_version_and_run_scripts():
    one = filters.node_app_deps_stamp(PKG % ("1.0.0", "a.js"), LOCK % ("1.0.0", "1.0.0"), "v18.20.4")
    two = filters.node_app_deps_stamp(PKG % ("2.0.0", "b.js"), LOCK % ("2.0.0", "2.0.0"), "v18.20.4\n")
    assert one == two and len(one) == 16


@pytest.mark.parametrize(
    "package, lock, node",
    [
        (PKG.replace('"ms": "2.1.3"', '"ms": "2.1.2"') % ("1.0.0", "a.js"), LOCK % ("1.0.0", "1.0.0"), "v18.20.4"),
        (PKG % ("1.0.0", "a.js"), (LOCK % ("1.0.0", "1.0.0")).replace('"version": "2.1.3"', '"version": "2.1.2"'), "v18.20.4"),
        (PKG % ("1.0.0", "a.js"), LOCK % ("1.0.0", "1.0.0"), "v20.19.2"),
        (PKG % ("1.0.0", "a.js"), "", "v18.20.4"),
        ((PKG % ("1.0.0", "a.js")).replace("echo hi", "echo bye"), LOCK % ("1.0.0", "1.0.0"), "v18.20.4"),
    ],
    ids=["dependency", "lockfile", "node", "no-lockfile", "install-script"],
)
def test_deps_stamp_changes_with_what_npm_installs(package, lock, node):
    base = filters.node_app_deps_stamp(PKG % ("1.0.0", "a.js"), LOCK % ("1.0.0", "1.0.0"), "v18.20.4")
    assert filters.node_app_deps_stamp(package, lock, node) != base


def test_deps_stamp_refuses_broken_json():
    with pytest.raises(AnsibleFilterError, match="package.json is not valid JSON"):
        filters.node_app_deps_stamp("{", "", "v18")
    with pytest.raises(AnsibleFilterError, match="the lockfile is not valid JSON"):
        filters.node_app_deps_stamp("{}", "[", "v18")


def test_parents_and_path_under():
    assert filters.node_app_parents("/srv/app") == ["/", "/srv"]
    assert filters.node_app_parents("/srv/a/b/") == ["/", "/srv", "/srv/a"]
    assert filters.node_app_parents("/") == []
    with pytest.raises(AnsibleFilterError):
        filters.node_app_parents("srv/app")
    forbidden = ["/etc", "/usr", "/var/lib"]
    assert filters.node_app_path_under("/usr/local", forbidden) == "/usr"
    assert filters.node_app_path_under("/etc", forbidden) == "/etc"
    assert filters.node_app_path_under("/var/lib/app/../x", forbidden) == "/var/lib"
    assert filters.node_app_path_under("/usrx/app", forbidden) == ""
    assert filters.node_app_path_under("/srv/etc", forbidden) == ""


def test_bad_sources_are_what_is_not_an_address_or_network():
    good = ["192.0.2.10", "198.51.100.0/24", "198.51.100.7/24", "2001:db8::1", "2001:db8::/64"]
    assert filters.node_app_bad_sources(good) == []
    assert filters.node_app_bad_sources(["192.0.2.10", "proxy.lab", "10.0.0.0/33", "", "::1/129"]) == [
        "proxy.lab", "10.0.0.0/33", "", "::1/129"]
    assert filters.node_app_bad_sources([]) == []
