# Copyright: proxylab.webstack maintainers
# MIT License (see galaxy.yml), or at your choice GNU General Public License v3.0+ (see
# https://www.gnu.org/licenses/gpl-3.0.txt), the license of the ansible-core module API this uses
# SPDX-License-Identifier: MIT OR GPL-3.0-or-later
"""What a complete run of a role left on a host, and whether the host is still so: the record and
the check behind the converged module, shared with node_app_host (which checks in the same round
trip as its other reads). Standard library only: node_app_host also runs it without Ansible's
module wrapper (plugins/action/node_app_host.py).

The check says what differs twice: as sentences for people (``reasons``) and as keys for the roles
(``stale``), which pick the repair from them: ``record``, ``inputs``, ``path:<path>``,
``tree:<path>``, ``package:<name>``, ``unit:<name>``, ``nft:<family> <name>``, ``user:<name>``,
``command:<argv joined by spaces>``."""

from __future__ import annotations

import fnmatch
import grp
import hashlib
import json
import os
import pwd
import shutil
import stat
import subprocess
import tempfile

# Where commands are looked for beyond PATH: a module run through sudo or `python -I -S` may have a
# PATH without the sbin directories, where nft lives.
SBIN = ["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"]

NFT_FAMILIES = ("ip", "ip6", "inet", "arp", "bridge", "netdev")

# UnitFileState values that mean a unit comes back at boot as the roles left it: enabled, static (no
# [Install] section: started by what needs it) and alias (a name of an enabled unit). Not accepted:
# enabled-runtime and linked-runtime (gone at the next boot), indirect (the unit itself starts at no
# boot, only units it names in Also= or other instances of its template do), disabled, masked,
# linked, generated and transient (made at boot or at run time, not by the roles), bad, and empty
# (no unit file).
UNIT_FILE_STATES = ("enabled", "static", "alias")

# systemd's unit search path for the system manager (`systemctl show -p UnitPath` of systemd 252,
# Debian 12): where a drop-in of a unit may lie. A drop-in in a directory systemd did not see at its last
# reload shows in neither DropInPaths nor NeedDaemonReload, so owned units are also looked up here.
UNIT_PATH = ("/etc/systemd/system.control", "/run/systemd/system.control", "/run/systemd/transient",
             "/run/systemd/generator.early", "/etc/systemd/system", "/etc/systemd/system.attached",
             "/run/systemd/system", "/run/systemd/system.attached", "/run/systemd/generator",
             "/usr/local/lib/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system",
             "/run/systemd/generator.late")

# The properties of `systemctl show` the check reads.
UNIT_PROPERTIES = ("Id", "Names", "LoadState", "ActiveState", "UnitFileState", "NeedDaemonReload", "DropInPaths",
                   "FragmentPath")


def find_command(name):
    """The path of a command, on PATH or in the usual system directories; None when there is none."""
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(SBIN))


def run(argv, timeout=60):
    """Exit status and output of a command, in the C locale (the output is parsed); 127 when it cannot
    start, 124 when it takes longer than timeout seconds."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, errors="replace", check=False,
                              env=dict(os.environ, LC_ALL="C"), timeout=timeout)
    except OSError as error:
        return 127, "", str(error)
    except subprocess.TimeoutExpired:
        return 124, "", f"{argv[0]} did not answer within {timeout} s"
    return done.returncode, done.stdout, done.stderr


def matches(path, patterns):
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns)


# Watched paths: content, owner, mode ----------------------------------------------------------------

def describe(path):
    """One line of the snapshot for path: type, owner, group, mode, and content or target."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return "absent"
    head = f"{info.st_uid}:{info.st_gid}:{stat.S_IMODE(info.st_mode):04o}"
    if stat.S_ISLNK(info.st_mode):
        return f"link {head} -> {os.readlink(path)}"
    if stat.S_ISDIR(info.st_mode):
        return f"dir {head}"
    if stat.S_ISREG(info.st_mode):
        digest = hashlib.sha1()
        try:
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 16), b""):
                    digest.update(block)
        except FileNotFoundError:
            return "absent"
        return f"file {head} {digest.hexdigest()}"
    return f"other {head}"


def snapshot_paths(watch, exclude):
    patterns = [os.path.normpath(p) for p in exclude]
    result = {}

    def visit(path):
        result[path] = describe(path)
        if result[path].startswith("dir "):
            for name in sorted(os.listdir(path)):
                below = os.path.join(path, name)
                if not matches(below, patterns):
                    visit(below)

    for path in watch:
        visit(os.path.normpath(path))
    return result


# Trees: metadata only, one digest each ----------------------------------------------------------------

def tree_digest(root, patterns):
    """The SHA-256 of the relative path, type, owner, group and mode of every entry of the tree at root
    (and size and mtime of each file, target of each link), from lstat alone; "absent" without root."""
    try:
        info = os.lstat(root)
    except FileNotFoundError:
        return "absent"
    digest = hashlib.sha256()

    def add(relative, info, full):
        mode = info.st_mode
        if stat.S_ISREG(mode):
            line = f"file {info.st_uid} {info.st_gid} {stat.S_IMODE(mode):o} {info.st_size} {info.st_mtime_ns}"
        elif stat.S_ISDIR(mode):
            line = f"dir {info.st_uid} {info.st_gid} {stat.S_IMODE(mode):o}"
        elif stat.S_ISLNK(mode):
            line = f"link {info.st_uid} {info.st_gid} {stat.S_IMODE(mode):o} "
            try:
                line += os.readlink(full)
            except FileNotFoundError:
                return False
        else:
            line = f"other {stat.S_IFMT(mode):o} {info.st_uid} {info.st_gid} {stat.S_IMODE(mode):o}"
        # Names are bytes on disk: surrogate escapes travel as the bytes they stand for.
        digest.update(os.fsencode(relative) + b"\0" + os.fsencode(line) + b"\n")
        return stat.S_ISDIR(mode)

    # Depth first, names sorted, without recursion: an npm tree nests deeper than Python's stack.
    pending = [(root, ".")] if add(".", info, root) else []
    while pending:
        directory, relative = pending.pop()
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except FileNotFoundError:
            continue
        except OSError as error:
            digest.update(os.fsencode(relative) + f"\0unreadable {error.errno}\n".encode())
            continue
        below = []
        for entry in entries:
            if patterns and matches(entry.path, patterns):
                continue
            try:
                entry_info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            entry_relative = entry.name if relative == "." else f"{relative}/{entry.name}"
            if add(entry_relative, entry_info, entry.path):
                below.append((entry.path, entry_relative))
        pending.extend(reversed(below))
    return digest.hexdigest()


def inside(tree, patterns):
    """The patterns that leave out part of a tree. A pattern that matches everything below its root (such
    as /usr/local/lib/app/npm-*/*, which keeps the walk of the watched directory above out of a tree
    that is checked on its own) would leave the tree's digest blind: it does not apply there."""
    anything_below = os.path.join(tree, "\0")
    return [pattern for pattern in patterns if not fnmatch.fnmatchcase(anything_below, pattern)]


def snapshot_trees(trees, exclude):
    patterns = [os.path.normpath(p) for p in exclude]
    return {os.path.normpath(tree): tree_digest(os.path.normpath(tree), inside(os.path.normpath(tree), patterns))
            for tree in trees}


# Packages, nftables tables, users -----------------------------------------------------------------------

def package_versions(packages):
    if not packages:
        return {}
    versions = {name: "not installed" for name in packages}
    _rc, out, _err = run([find_command("dpkg-query") or "dpkg-query", "-W", "-f",
                          "${Package} ${db:Status-Status} ${Version}\n", *packages])
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] in versions and parts[1] == "installed":
            versions[parts[0]] = parts[2]
    return versions


def nft_table_digests(tables):
    """"family name" -> the SHA-256 of the table as nft lists it without counters and quotas (-s, which
    change with the traffic), or "absent"."""
    result = {}
    nft = find_command("nft") if tables else None
    for table in tables:
        key = " ".join(table.split())
        if nft is None:
            result[key] = "absent"
            continue
        rc, out, _err = run([nft, "-s", "list", "table", *key.split()])
        result[key] = hashlib.sha256(out.encode("utf-8", "surrogateescape")).hexdigest() if rc == 0 else "absent"
    return result


def user_accounts(users):
    """name -> uid, gid, home, shell and the sorted names of the supplementary groups, or "absent"."""
    result = {}
    for name in users:
        try:
            account = pwd.getpwnam(name)
        except KeyError:
            result[name] = "absent"
            continue
        names = set()
        for gid in os.getgrouplist(name, account.pw_gid):
            if gid == account.pw_gid:
                continue
            try:
                names.add(grp.getgrgid(gid).gr_name)
            except KeyError:
                names.add(str(gid))
        result[name] = {"uid": account.pw_uid, "gid": account.pw_gid, "home": account.pw_dir,
                        "shell": account.pw_shell, "groups": sorted(names)}
    return result


def snapshot(watch=(), exclude=(), trees=(), packages=(), nft_tables=(), users=()):
    """What the record keeps of the host now."""
    return {"paths": snapshot_paths(watch, exclude), "trees": snapshot_trees(trees, exclude),
            "packages": package_versions(packages), "nft_tables": nft_table_digests(nft_tables),
            "users": user_accounts(users)}


# The record ---------------------------------------------------------------------------------------------

def read_record(path):
    """The record at path; None when there is none or it is not one (a truncated or foreign file)."""
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def make_record(digest, data, snap):
    return {"digest": digest, "data": data, **snap}


def write_record(path, digest, data, snap):
    """Write the record unless it holds the same already; whether it was written. Readable by root only,
    replaced in one step: a reader sees the old record or the new one, never a part."""
    record = make_record(digest, data, snap)
    if read_record(path) == record:
        return False
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    # mkstemp: a name nobody can guess or plant beforehand, created 0600.
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(record, stream, indent=1, sort_keys=True)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    # The rename itself survives a crash only once the directory is on disk.
    folder = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    return True


# The check ------------------------------------------------------------------------------------------------

def describe_user(value):
    if not isinstance(value, dict):
        return str(value)
    return (f"uid {value.get('uid')}, gid {value.get('gid')}, home {value.get('home')}, shell {value.get('shell')}, "
            f"groups {','.join(value.get('groups', [])) or 'none'}")


def presence(value):
    return value if value in ("absent", "not watched") else "present"


def differences(recorded, now):
    """Reasons and stale keys for every recorded value that is not as now."""
    found = []
    for kind in ("paths", "trees", "packages", "nft_tables", "users"):
        old, new = recorded.get(kind, {}), now[kind]
        for name in sorted(set(old) | set(new)):
            before, after = old.get(name, "not watched"), new.get(name, "not watched")
            if before == after:
                continue
            if kind == "paths":
                found.append((f"path:{name}", f"{name} changed: {before} -> {after}"))
            elif kind == "trees":
                if {before, after} & {"absent", "not watched"}:
                    text = f"the tree {name} changed: {presence(before)} -> {presence(after)}"
                else:
                    text = f"the files below {name} changed (owner, mode, size or time)"
                found.append((f"tree:{name}", text))
            elif kind == "packages":
                found.append((f"package:{name}", f"the package {name} changed: {before} -> {after}"))
            elif kind == "nft_tables":
                if after == "absent":
                    text = f"the nftables table {name} is not loaded"
                elif before in ("absent", "not watched"):
                    text = f"the nftables table {name} was {before} in the recorded run"
                else:
                    text = f"the nftables table {name} is not as loaded by the recorded run"
                found.append((f"nft:{name}", text))
            else:
                found.append((f"user:{name}",
                              f"the user {name} changed: {describe_user(before)} -> {describe_user(after)}"))
    return found


def unit_blocks(text):
    """The `systemctl show` output as one dict per unit, in the order asked."""
    blocks, current = [], {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
            current = {}
            continue
        key, _sep, value = line.partition("=")
        current[key] = value
    if current:
        blocks.append(current)
    return blocks


def own_drop_in_dirs(block, name):
    """The names of the drop-in directories that change only this unit: <name>.d for each of its names
    (aliases too) and, for an instance, its template's."""
    names = {name, block.get("Id", "")} | set(block.get("Names", "").replace('"', "").split())
    dirs = set()
    for unit in filter(None, names):
        if "." not in unit:
            unit += ".service"
        dirs.add(f"{unit}.d")
        prefix, at, rest = unit.partition("@")
        instance, _dot, suffix = rest.rpartition(".")
        if at and instance:
            dirs.add(f"{prefix}@.{suffix}.d")
    return dirs


def own_drop_ins(block, name):
    """The drop-ins of this unit's own, loaded (DropInPaths) or on disk, each file once."""
    own = own_drop_in_dirs(block, name)
    loaded = [path for path in block.get("DropInPaths", "").split() if os.path.basename(os.path.dirname(path)) in own]
    on_disk = []
    for base in UNIT_PATH:
        for directory in sorted(own):
            try:
                names = os.listdir(os.path.join(base, directory))
            except OSError:
                continue
            on_disk += [os.path.join(base, directory, file) for file in sorted(names) if file.endswith(".conf")]
    found, seen = [], set()
    for path in loaded + on_disk:
        # /lib and /usr/lib are one directory on a merged-/usr system.
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            found.append(path)
    return found


def unit_problems(units):
    """Reasons and stale keys for units that are not active, not enabled at boot, waiting for a
    daemon-reload or, when owned, changed by a drop-in of their own; one systemctl call for all."""
    wanted = [unit if isinstance(unit, dict) else {"name": unit} for unit in units]
    if not wanted:
        return []
    systemctl = find_command("systemctl") or "systemctl"
    rc, out, err = run([systemctl, "show", "-p", ",".join(UNIT_PROPERTIES), "--", *[unit["name"] for unit in wanted]])
    blocks = unit_blocks(out)
    if len(blocks) != len(wanted):
        cause = (err.strip().splitlines() or [f"exit status {rc}"])[0]
        return [(f"unit:{unit['name']}", f"{unit['name']} could not be read from systemd: {cause}") for unit in wanted]
    found = []
    for unit, block in zip(wanted, blocks):
        name, key = unit["name"], f"unit:{unit['name']}"
        if block.get("LoadState") == "not-found":
            found.append((key, f"{name} does not exist"))
            continue
        if block.get("LoadState") != "loaded":
            found.append((key, f"{name} is not loaded ({block.get('LoadState') or 'unknown'})"))
        if block.get("ActiveState") != "active":
            found.append((key, f"{name} is {block.get('ActiveState') or 'unknown'}, not active"))
        if block.get("UnitFileState") not in UNIT_FILE_STATES:
            found.append((key, f"{name} is {block.get('UnitFileState') or 'without a unit file'} at boot, not enabled"))
        if block.get("NeedDaemonReload") != "no":
            found.append((key, f"{name} changed on disk since systemd loaded it (no daemon-reload since)"))
        if unit.get("owned", True):
            drop_ins = own_drop_ins(block, name)
            if drop_ins:
                found.append((key, f"{name} is changed by drop-ins the role did not write: {', '.join(drop_ins)}"))
    return found


def command_problems(commands):
    found = []
    for command in commands:
        line = " ".join(command["argv"])
        key = f"command:{line}"
        try:
            done = subprocess.run(command["argv"], capture_output=True, text=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            found.append((key, f"{line}: {error}"))
            continue
        if done.returncode != 0:
            found.append((key, f"{line} exited {done.returncode}"))
        elif command.get("stdout") is not None and done.stdout.strip() != command["stdout"]:
            found.append((key, f"{line} printed {done.stdout.strip()[:200]!r}"))
    return found


def input_problems(units=(), nft_tables=(), users=()):
    """Messages about values the check cannot use, each naming its option."""
    problems = []
    for unit in units:
        name = unit.get("name") if isinstance(unit, dict) else unit
        if not isinstance(name, str) or not name or name != name.strip() or len(name.split()) != 1:
            problems.append(f"units: {name!r} is not a unit name (one word, such as nginx.service)")
    for table in nft_tables:
        words = table.split() if isinstance(table, str) else []
        if len(words) != 2 or words[0] not in NFT_FAMILIES:
            problems.append(f"nft_tables: {table!r} is not '<family> <name>' with a family of {', '.join(NFT_FAMILIES)}")
    for name in users:
        if not isinstance(name, str) or not name or len(name.split()) != 1 or name != name.strip():
            problems.append(f"users: {name!r} is not a user name")
    return problems


def check(path, digest, *, watch=(), exclude=(), trees=(), packages=(), units=(), nft_tables=(), users=(),
          commands=()):
    """Whether the host is as the recorded run left it: current, the reasons it is not and their stale
    keys (in the same order, each key once), the recorded digest and data. Units and commands are
    checked live; everything else is compared with the record."""
    recorded = read_record(path)
    if recorded is None:
        return {"current": False, "reasons": [f"no record of a complete run at {path}"], "stale": ["record"],
                "digest": "", "data": {}}
    found = []
    if recorded.get("digest") != digest:
        found.append(("inputs", "the inputs of this run differ from those of the recorded run"))
    found += differences(recorded, snapshot(watch, exclude, trees, packages, nft_tables, users))
    found += unit_problems(units)
    found += command_problems(commands)
    return {"current": not found, "reasons": [reason for _key, reason in found],
            "stale": list(dict.fromkeys(key for key, _reason in found)), "digest": recorded.get("digest", ""),
            "data": recorded.get("data", {})}
