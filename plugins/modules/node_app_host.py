#!/usr/bin/python
# Copyright: proxylab.webstack maintainers
# MIT License (see galaxy.yml), or at your choice GNU General Public License v3.0+ (see
# https://www.gnu.org/licenses/gpl-3.0.txt), the license of the ansible-core module API this uses
# SPDX-License-Identifier: MIT OR GPL-3.0-or-later
"""Module: what the node_app role's checks read on a host, in one round trip."""

from __future__ import annotations

DOCUMENTATION = r"""
module: node_app_host
author: proxylab.webstack maintainers (@proxylab)
version_added: "0.2.0"
short_description: Read what the node_app role checks on a host before it changes anything
description:
  - Reads, in one step and without changing anything, what the checks of the C(proxylab.webstack.node_app)
    role need; the role's tasks decide with it.
  - The app's directory and every directory above it; the app's user (its account, groups, what sudo
    allows it, whether node_app created it); the bookkeeping of the releases and the release
    directories on disk.
options:
  paths:
    description:
      - The directories above the app's directory, outermost first, then the app's directory. The
        directories above are looked at through links; the app's directory itself is not.
    type: list
    elements: path
    required: true
  user:
    description: The app's user.
    type: str
    required: true
  user_marker:
    description: The record node_app leaves when it created the user.
    type: path
    required: true
  old_facts:
    description: The local facts of an earlier version of node_app, which name the user it created.
    type: path
    required: true
  state_file:
    description: The bookkeeping of the releases.
    type: path
    required: true
  releases_dir:
    description: The directory holding one directory per release.
    type: path
    required: true
"""

EXAMPLES = r"""
- name: Read what the checks need
  proxylab.webstack.node_app_host:
    paths: [/, /opt, /opt/app]
    user: app
    user_marker: /var/lib/node_app/users/app
    old_facts: /etc/ansible/facts.d/node_app.fact
    state_file: /var/lib/node_app/app/state.json
    releases_dir: /opt/app/releases
  register: host
"""

RETURN = r"""
paths:
  description:
    - One entry per path of O(paths), in order, with C(path) and C(exists), and for an existing one
      C(isdir), C(islnk), C(uid), C(gid), C(pw_name), C(dev), C(mode) (octal, as a string), C(wgrp), C(woth).
  type: list
  elements: dict
  returned: always
user:
  description:
    - The user's account as C(ansible.builtin.getent) gives it (password, uid, gid, comment, home,
      shell), or null when there is no such user.
  type: list
  elements: str
  returned: always
groups:
  description: The names of the user's groups, separated by spaces (empty without the user).
  type: str
  returned: always
sudo:
  description: Exit status and output of C(sudo -n -l -U <user>) (without the user, C(rc) 1; without sudo, 127).
  type: dict
  returned: always
user_marker:
  description: Whether O(user_marker) exists.
  type: bool
  returned: always
old_facts:
  description: The content of O(old_facts), or null.
  type: str
  returned: always
state:
  description: The content of O(state_file), or null.
  type: str
  returned: always
releases_dir:
  description: O(releases_dir) itself, not through a link, described as each entry of RV(paths).
  type: dict
  returned: always
releases:
  description: The names of the directories in O(releases_dir) (not links, not hidden), sorted.
  type: list
  elements: str
  returned: always
"""

import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule


def describe(path, follow):
    try:
        info = os.stat(path) if follow else os.lstat(path)
    except OSError:
        return {"path": path, "exists": False}
    try:
        owner = pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        owner = str(info.st_uid)
    return {
        "path": path,
        "exists": True,
        "isdir": stat.S_ISDIR(info.st_mode),
        "islnk": stat.S_ISLNK(info.st_mode),
        "uid": info.st_uid,
        "gid": info.st_gid,
        "pw_name": owner,
        "dev": info.st_dev,
        "mode": f"{stat.S_IMODE(info.st_mode):04o}",
        "wgrp": bool(info.st_mode & stat.S_IWGRP),
        "woth": bool(info.st_mode & stat.S_IWOTH),
    }


def read_text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def main():
    module = AnsibleModule(
        argument_spec={
            "paths": {"type": "list", "elements": "path", "required": True},
            "user": {"type": "str", "required": True},
            "user_marker": {"type": "path", "required": True},
            "old_facts": {"type": "path", "required": True},
            "state_file": {"type": "path", "required": True},
            "releases_dir": {"type": "path", "required": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    paths = params["paths"]
    described = [describe(path, follow=True) for path in paths[:-1]] + [describe(paths[-1], follow=False)]

    name = params["user"]
    try:
        account = pwd.getpwnam(name)
    except KeyError:
        account = None
    user, groups, sudo = None, "", {"rc": 1, "stdout": ""}
    if account is not None:
        user = ["x", str(account.pw_uid), str(account.pw_gid), account.pw_gecos, account.pw_dir, account.pw_shell]
        _rc, out, _err = module.run_command(["id", "-nG", name], check_rc=True)
        groups = out.strip()
        sudo_bin = module.get_bin_path("sudo")
        if sudo_bin:
            rc, out, _err = module.run_command([sudo_bin, "-n", "-l", "-U", name], environ_update={"LC_ALL": "C"})
            sudo = {"rc": rc, "stdout": out}
        else:
            sudo = {"rc": 127, "stdout": ""}

    try:
        releases = sorted(entry.name for entry in os.scandir(params["releases_dir"])
                          if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."))
    except OSError:
        releases = []

    module.exit_json(
        changed=False,
        paths=described,
        user=user,
        groups=groups,
        sudo=sudo,
        user_marker=os.path.exists(params["user_marker"]),
        old_facts=read_text(params["old_facts"]),
        state=read_text(params["state_file"]),
        releases_dir=describe(params["releases_dir"], follow=False),
        releases=releases,
    )


if __name__ == "__main__":
    main()
