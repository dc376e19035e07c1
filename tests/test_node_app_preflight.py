"""Bad input to node_app fails before any change, with a message naming the variable."""

import re

import pytest

from helpers import ansible_playbook, run

PLAYBOOK = """\
- name: Run node_app
  hosts: all
  roles:
    - role: proxylab.webstack.node_app
"""

BAD_INPUT = [
    # (extra vars, what the failure message must say)
    ({"node_app_port": 70000}, "node_app_port must be a TCP port between 1 and 65535, got 70000"),
    ({"node_app_port": 0}, "node_app_port must be a TCP port between 1 and 65535, got 0"),
    # Choices and types are checked by meta/argument_specs.yml, before the first task.
    ({"node_app_mode": "dev"}, "value of node_app_mode must be one of: start, static, got: dev"),
    ({"node_app_port": "http"}, "node_app_port"),
    ({"node_app_user": "root"}, "node_app_user must be an unprivileged user name matching ^[a-z0-9][a-z0-9_.-]*$ and not root, got 'root'"),
    ({"node_app_user": "Deploy Bot"}, "node_app_user must be an unprivileged user name"),
    # Existing accounts that can act as root: by a sudo rule, by group sudo, by uid 0.
    ({"node_app_user": "deploy"}, "node_app_user 'deploy' is an existing account that can act as root (uid 1000, groups deploy, allowed commands by sudo)"),
    ({"node_app_user": "sudoer"}, "node_app_user 'sudoer' is an existing account that can act as root"),
    ({"node_app_user": "toor"}, "node_app_user 'toor' is an existing account that can act as root (uid 0"),
    # A system account of something else.
    ({"node_app_user": "www-data"}, "node_app_user 'www-data' is an existing system account (uid 33) that node_app did not create"),
    ({"node_app_user": "nobody"}, "node_app_user 'nobody' is an existing system account (uid 65534) that node_app did not create"),
    ({"node_app_name": "../etc"}, "node_app_name must match ^[a-z0-9][a-z0-9_.-]*$ and must not be 'all' or a number"),
    # PM2 reads these as every process, or a process id.
    ({"node_app_name": "all"}, "node_app_name must match ^[a-z0-9][a-z0-9_.-]*$ and must not be 'all' or a number (PM2 reads those as every process or a process id), got 'all'"),
    ({"node_app_name": "42"}, "must not be 'all' or a number (PM2 reads those as every process or a process id), got '42'"),
    ({"node_app_instances": 2}, "node_app_instances must be at least 1, and exactly 1 when node_app_mode is start"),
    ({"node_app_keep_releases": 1}, "node_app_keep_releases must be at least 2 (the live release and the one before it, to roll back to), got 1"),
    ({"node_app_dir": "/"}, "node_app_dir must be an absolute path of the app's own directory: not / nor a directory directly under / (such as /srv)"),
    ({"node_app_dir": "/srv"}, "node_app_dir must be an absolute path of the app's own directory: not / nor a directory directly under / (such as /srv), and not a system directory or inside one"),
    ({"node_app_dir": "/usr/local"}, "not a system directory or inside one (/bin, /boot, /dev, /etc, /lib, /lib32, /lib64, /libx32, /proc, /root, /run, /sbin, /sys, /tmp, /usr, /var/cache, /var/lib,"),
    ({"node_app_dir": "/etc/nginx"}, "got '/etc/nginx'"),
    ({"node_app_dir": "/var/lib/dumbflix"}, "got '/var/lib/dumbflix'"),
    ({"node_app_dir": "/lib64/app"}, "got '/lib64/app'"),
    # Inside a directory that another user can change (or swap for a link).
    ({"node_app_dir": "/home/deploy/app"}, "node_app_dir /home/deploy/app must be a directory of its own"),
    ({"node_app_dir": "/home/deploy/app"}, "inside directories that only root can write to; on this host: / root 0755, /home root 0755, /home/deploy deploy 07"),
    ({"node_app_src": "/nonexistent/app"}, "node_app_src must be empty or an absolute directory on the controller"),
    # PORT comes from node_app_port (the proxy uses it too); values are never shown, only names.
    ({"node_app_env": {"PORT": "3"}}, "node_app_env must not set PORT (the app's port is node_app_port, which the proxy uses too)"),
    ({"node_app_env": {"API-KEY": "s3cr3t-value"}}, "its names must match ^[A-Za-z_][A-Za-z0-9_]*$; got the names API-KEY"),
    # The firewall's extra sources are addresses or networks; a name would not resolve in nft anyway.
    ({"node_app_firewall_allowed_sources": ["192.0.2.10", "monitor.lab"]}, "node_app_firewall_allowed_sources must list IPv4 or IPv6 addresses or networks (CIDR), got monitor.lab"),
    ({"node_app_firewall_allowed_sources": ["10.0.0.0/33"]}, "node_app_firewall_allowed_sources must list IPv4 or IPv6 addresses or networks (CIDR), got 10.0.0.0/33"),
    # npm's release tarball is checked against a checksum the role knows, or one given with the version.
    ({"node_app_npm_source": "nodesource"}, "value of node_app_npm_source must be one of: registry, distro, got: nodesource"),
    ({"node_app_npm_version": "11.6.2"}, "node_app_npm_version must be a version such as 10.9.9 (got '11.6.2'), and node_app_npm_checksum the sha512:<128 hex digits> or sha256:<64 hex digits> of its tarball (got ''); the role knows the checksum of 10.9.9 only"),
    ({"node_app_npm_version": "latest"}, "node_app_npm_version must be a version such as 10.9.9 (got 'latest')"),
    ({"node_app_npm_checksum": "md5:0123456789abcdef0123456789abcdef"}, "(got 'md5:0123456789abcdef0123456789abcdef')"),
    ({"node_app_release": "v1"}, "node_app_release must be empty, 'previous' or a release id of 12 hex digits"),
    ({"node_app_release": "previous"}, "node_app_release 'previous' (release '') names no release: there is no earlier release on this host."),
    ({"node_app_release": "0123456789ab"}, "node_app_release '0123456789ab' is not a release on this host. Releases on this host, oldest first: none"),
]


def host_state(host):
    """What the role would change: packages, users, directories, systemd units, global npm modules."""
    script = (
        "dpkg-query -W -f '${Package} ${Status}\\n' nodejs npm git acl 2>&1;"
        "getent passwd nodeapp || echo no-user;"
        "ls -d /srv/* /home/* /usr/local/lib/node_modules/* /etc/systemd/system/pm2-* /etc/systemd/system/node-app-* /var/lib/node_app /etc/node_app 2>&1;"
        "ls -A /root"
    )
    return run(["docker", "exec", host, "sh", "-c", script], check=False).stdout


@pytest.fixture(scope="module")
def pristine(scratch_host):
    # Accounts that must be refused as node_app_user: one in group sudo, one with uid 0.
    run(["docker", "exec", scratch_host, "sh", "-c",
         "useradd -m -G sudo sudoer && useradd -o -u 0 -g 0 -M -d /root -s /usr/sbin/nologin toor"])
    state = host_state(scratch_host)
    # The base image has none of what node_app installs: the comparison below can see a change.
    assert "no-user" in state and "/usr/local/lib/node_modules/*" in state
    assert not re.search(r"^nodejs install ok installed", state, re.M)
    return state


@pytest.mark.parametrize("extra_vars, message", BAD_INPUT, ids=lambda v: str(v) if isinstance(v, dict) else "")
def test_bad_input_fails_with_its_message_and_changes_nothing(scratch_host, pristine, tmp_path, extra_vars, message):
    result = ansible_playbook(PLAYBOOK, scratch_host, extra_vars, tmp_path=tmp_path)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0, output
    assert message in output, output
    assert re.search(r"changed=0 .*failed=1", output), output
    assert host_state(scratch_host) == pristine
    # A value of node_app_env is never shown, even when the play fails on it.
    assert "s3cr3t-value" not in output
