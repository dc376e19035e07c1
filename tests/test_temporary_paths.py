"""No file at a predictable path in a directory every user may write to (/tmp, /var/tmp, /dev/shm),
anywhere in the repository: the collection, its playbooks, scripts, scenarios and tests.

Another local user can create such a path first, as a file, a link or a directory (a directory
holding __main__.py is run by `python3 <path>`), and what root or the deploying user then writes or
runs there is theirs. Temporary files come from mktemp or Python's tempfile (random names, created
exclusively), or live in a directory of the user's own. Found by reading every file git tracks."""

import re
import subprocess

from helpers import REPO_ROOT

# A name directly under a world-writable directory, written as a literal path (not $dir/tmp/..., not
# a mktemp template with XXXXXX).
_FIXED_PATH = re.compile(r"(?<![\w$}.-])(?:/tmp|/var/tmp|/dev/shm)/(?![^\s\"'`]*X{6})[\w.{}-]+")
# Calls that pick a temporary name without creating the file (a race another user can win).
_UNSAFE_CALL = re.compile(r"\btempfile\.mktemp\(|\bmktemp\s+(?:-\w*\s+)*-u\b|\bmktemp\s+--dry-run\b")
# History of the project, not code or documentation of how it works now.
NOT_READ = ("CHANGELOG.rst", "changelogs/", "tests/fixtures/")

# Paths that are not the host's: (file, path) and why.
NOT_THE_HOSTS = {
    ("scripts/build-images.sh", "/tmp/customize.sh"): "the /tmp of the image being built, run with chroot inside a "
                                                      "root file system that mktemp -d made for root alone",
    ("execution-environment.yml", "/tmp/collections"): "the /tmp of the execution environment's image while it is "
                                                       "built (a layer of its own, removed in the same step)",
}

def findings():
    """(file, line number, what) for every predictable temporary path and unsafe call."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True).stdout.split(b"\0")
    found = []
    for name in (f.decode() for f in files if f):
        if name.startswith(NOT_READ) or name == "tests/test_temporary_paths.py":
            continue
        path = REPO_ROOT / name
        if not path.is_file() or path.is_symlink():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            found += [(name, number, match.group(0)) for match in _FIXED_PATH.finditer(line)]
            found += [(name, number, match.group(0)) for match in _UNSAFE_CALL.finditer(line)]
    return found


def not_the_hosts(finding):
    name, _number, what = finding
    return (name, what) in NOT_THE_HOSTS


def test_the_scan_finds_what_it_looks_for(tmp_path):
    lines = [
        'dest: /tmp/webstack-load.py',
        'curl -D /tmp/headers http://x/',
        'docker cp a "$name:/var/tmp/load.py"',
        "open('/dev/shm/cache', 'w')",
        'work=$(mktemp -d "/tmp/proxylab-rootfs.XXXXXX")',
        'cp x "$rootfs/tmp/customize.sh"',
        'name = tempfile.mktemp()',
        'lock=$(mktemp -u)',
    ]
    hits = [m.group(0) for line in lines for m in list(_FIXED_PATH.finditer(line)) + list(_UNSAFE_CALL.finditer(line))]
    assert hits == ["/tmp/webstack-load.py", "/tmp/headers", "/var/tmp/load.py", "/dev/shm/cache", "tempfile.mktemp(",
                    "mktemp -u"]


def test_no_file_at_a_predictable_temporary_path():
    assert [finding for finding in findings() if not not_the_hosts(finding)] == []
