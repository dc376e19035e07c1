# Copyright: proxylab.webstack maintainers
# MIT License (see galaxy.yml), or at your choice GNU General Public License v3.0+ (see
# https://www.gnu.org/licenses/gpl-3.0.txt), the license of the ansible-core plugin API this uses
# SPDX-License-Identifier: MIT OR GPL-3.0-or-later
"""Lookup plugin: the SHA-256 of the files below directories of the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
name: tree_checksum
author: proxylab.webstack maintainers (@proxylab)
version_added: "0.2.0"
short_description: The SHA-256 of every file below one or more directories of the controller
description:
  - One checksum over the relative path and the content of every regular file below the given
    directories, in sorted order; any added, removed, renamed or edited file changes it.
  - The roles of proxylab.webstack add the checksum of their own files to the digest of a run's
    inputs, so a new version of a role is never mistaken for a re-run with nothing to do.
options:
  _terms:
    description: Directories of the controller.
    required: true
"""

EXAMPLES = r"""
- name: Show the checksum of this role's files
  ansible.builtin.debug:
    msg: "{{ lookup('proxylab.webstack.tree_checksum', role_path) }}"
"""

RETURN = r"""
_raw:
  description: One checksum, a string of 64 hexadecimal digits, for all the directories together.
  type: list
  elements: str
"""

import hashlib
import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase


def tree_checksum(directories) -> str:
    digest = hashlib.sha256()
    for top in directories:
        if not os.path.isdir(top):
            raise AnsibleLookupError(f"tree_checksum: {top} is not a directory")
        for root, dirs, files in os.walk(top):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                if not os.path.isfile(path):
                    continue
                digest.update(os.path.relpath(path, top).encode() + b"\0")
                with open(path, "rb") as handle:
                    digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return [tree_checksum([str(term) for term in terms])]
