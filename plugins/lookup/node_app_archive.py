# Copyright: proxylab.webstack maintainers
# MIT License (see galaxy.yml), or at your choice GNU General Public License v3.0+ (see
# https://www.gnu.org/licenses/gpl-3.0.txt), the license of the ansible-core plugin API this uses
# SPDX-License-Identifier: MIT OR GPL-3.0-or-later
"""Lookup plugin: a deterministic archive of a directory on the controller, cached by its checksum."""

from __future__ import annotations

DOCUMENTATION = r"""
name: node_app_archive
author: proxylab.webstack maintainers (@proxylab)
version_added: "0.2.0"
short_description: Pack a directory on the controller into a deterministic, cached tar.gz
description:
  - Packs a directory of the controller into a gzip-compressed tar archive whose bytes depend only
    on the paths, contents, file types and executable bits of what it holds (names sorted, owners
    root, fixed modification times, gzip header without name or time).
  - The id of the archive is the start of the SHA-256 of the uncompressed tar stream, so the same
    tree gives the same id on every controller, for every host.
  - The archive is cached on the controller as C(<cache_dir>/<id>.tar.gz); only the newest C(keep)
    archives are kept.
  - Used by the C(proxylab.webstack.node_app) role to transfer C(node_app_src) as one file and to
    name the release it becomes.
options:
  _terms:
    description: The directory to pack (one).
    required: true
  exclude:
    description:
      - Regular expression (Python C(re.search)) on the path relative to the directory, with C(/)
        separators; matching files and directories (with everything below them) are left out.
    type: str
    default: ""
  cache_dir:
    description: Directory on the controller where archives are kept.
    type: path
    default: ~/.cache/proxylab.webstack/node_app
  keep:
    description: Number of archives kept in C(cache_dir), newest used first.
    type: int
    default: 10
  id_length:
    description: Number of hexadecimal digits of the SHA-256 used as id.
    type: int
    default: 12
"""

EXAMPLES = r"""
- name: Pack the app
  ansible.builtin.set_fact:
    archive: "{{ lookup('proxylab.webstack.node_app_archive', '/src/app', exclude='(^|/)(node_modules|\\.git)(/|$)') }}"
"""

RETURN = r"""
_raw:
  description: One dictionary per term.
  type: list
  elements: dict
  contains:
    id:
      description: The id of the archive (the first id_length hex digits of checksum).
      type: str
    checksum:
      description: SHA-256 of the uncompressed tar stream.
      type: str
    path:
      description: Path of the cached tar.gz on the controller.
      type: str
    entries:
      description: Number of entries (directories, files, links) in the archive.
      type: int
"""

import gzip
import hashlib
import io
import os
import re
import shutil
import stat
import tarfile
import tempfile

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

# Any fixed time works; this one (2000-01-01T00:00:00Z) does not make tar warn about old times.
FIXED_MTIME = 946684800


class _HashingWriter(io.RawIOBase):
    """A write-only file object that feeds what it is given to a hash and to a file."""

    def __init__(self, target, digest):
        super().__init__()
        self._target = target
        self._digest = digest

    def writable(self):
        return True

    def write(self, data):
        self._digest.update(data)
        self._target.write(data)
        return len(data)


def _entries(root, exclude):
    """(relative path, absolute path, lstat) of everything under root, sorted, without excluded paths."""
    pattern = re.compile(exclude) if exclude else None
    found = []

    def walk(rel_dir):
        abs_dir = os.path.join(root, rel_dir) if rel_dir else root
        for name in sorted(os.listdir(abs_dir)):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if pattern and pattern.search(rel):
                continue
            path = os.path.join(abs_dir, name)
            info = os.lstat(path)
            if stat.S_ISDIR(info.st_mode):
                found.append((rel, path, info))
                walk(rel)
            elif stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode):
                found.append((rel, path, info))
            # Sockets, FIFOs and devices are not part of an app's source: left out.

    walk("")
    return found


def _tarinfo(rel, path, info):
    member = tarfile.TarInfo(rel)
    member.mtime = FIXED_MTIME
    member.uid = member.gid = 0
    member.uname = member.gname = ""
    if stat.S_ISDIR(info.st_mode):
        member.type = tarfile.DIRTYPE
        member.mode = 0o755
    elif stat.S_ISLNK(info.st_mode):
        member.type = tarfile.SYMTYPE
        member.linkname = os.readlink(path)
        member.mode = 0o777
    else:
        member.type = tarfile.REGTYPE
        member.size = info.st_size
        member.mode = 0o755 if info.st_mode & 0o111 else 0o644
    return member


def pack(src, exclude="", cache_dir="~/.cache/proxylab.webstack/node_app", keep=10, id_length=12):
    """Pack src; return {id, checksum, path, entries}. Reuses the cached archive of the same id."""
    src = os.path.abspath(os.path.expanduser(src))
    if not os.path.isdir(src):
        raise AnsibleLookupError(f"node_app_archive: {src} is not a directory on the controller")
    cache_dir = os.path.abspath(os.path.expanduser(cache_dir))
    os.makedirs(cache_dir, mode=0o700, exist_ok=True)

    entries = _entries(src, exclude)
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=cache_dir, prefix=".tar-", delete=False) as raw:
        raw_path = raw.name
        try:
            writer = io.BufferedWriter(_HashingWriter(raw, digest))
            with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT, encoding="utf-8") as tar:
                for rel, path, info in entries:
                    member = _tarinfo(rel, path, info)
                    if member.isreg():
                        with open(path, "rb") as handle:
                            tar.addfile(member, handle)
                    else:
                        tar.addfile(member)
            writer.flush()
        except BaseException:
            os.unlink(raw_path)
            raise

    checksum = digest.hexdigest()
    archive_id = checksum[:id_length]
    archive = os.path.join(cache_dir, f"{archive_id}.tar.gz")
    try:
        if not os.path.exists(archive):
            with tempfile.NamedTemporaryFile(dir=cache_dir, prefix=".gz-", delete=False) as packed:
                try:
                    with open(raw_path, "rb") as plain, gzip.GzipFile(
                        filename="", mode="wb", fileobj=packed, mtime=0
                    ) as compressed:
                        shutil.copyfileobj(plain, compressed, 1 << 20)
                except BaseException:
                    os.unlink(packed.name)
                    raise
            os.chmod(packed.name, 0o600)
            # Atomic: hosts packing the same tree at the same time all end with one complete file.
            os.replace(packed.name, archive)
        os.utime(archive)
    finally:
        os.unlink(raw_path)

    _prune(cache_dir, keep, archive)
    return {"id": archive_id, "checksum": checksum, "path": archive, "entries": len(entries)}


def _prune(cache_dir, keep, current):
    """Keep the newest `keep` archives of cache_dir (never the one just used)."""
    archives = []
    for name in os.listdir(cache_dir):
        if name.endswith(".tar.gz") and not name.startswith("."):
            path = os.path.join(cache_dir, name)
            try:
                archives.append((os.stat(path).st_mtime, path))
            except FileNotFoundError:
                continue
    archives.sort(reverse=True)
    for _mtime, path in archives[max(keep, 1):]:
        if path != current:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if len(terms) != 1:
            raise AnsibleLookupError("node_app_archive takes exactly one directory")
        return [
            pack(
                str(terms[0]),
                exclude=self.get_option("exclude"),
                cache_dir=self.get_option("cache_dir"),
                keep=self.get_option("keep"),
                id_length=self.get_option("id_length"),
            )
        ]
