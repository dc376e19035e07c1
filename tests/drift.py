"""Drift: what happens to hosts between two runs, made by hand, and how to tell that a run put it back.

A drift is a change an operator, a package upgrade or an attacker could make to what a role manages
(a file's content, owner or mode, a link, a unit file, a drop-in, a unit's enabled or active state,
a firewall table in the kernel, a user and its groups, a package, an enabled nginx site, the local
facts). Each drift knows how to make itself on a host (shell, as root) and how to check, after a
run, that the host is as the role leaves it again. The molecule scenarios apply them (default:
the whole stack; proxy_ha: the proxies) and `site.yml` must put every one back in one plain run.

A host is reached through `sh(script)`, which runs a shell script as root there and returns the
CompletedProcess (tests/helpers.py docker_sh)."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Drift:
    """name: what was done; kind: what of the role's it touches; make: a shell script (root);
    state: a shell script whose output must be the same before the drift and after the repair."""

    name: str
    kind: str
    make: str
    state: str
    before: str = field(default="", init=False)


def _stat(*paths):
    quoted = " ".join(shlex.quote(path) for path in paths)
    return f"for p in {quoted}; do stat -c '%n %F %U:%G %a' \"$p\"; readlink \"$p\" || true; done 2>&1"


def _file(*paths):
    quoted = " ".join(shlex.quote(path) for path in paths)
    return _stat(*paths) + f"; sha1sum {quoted} 2>&1"


def _unit(unit):
    return (f"systemctl is-enabled {unit}; systemctl is-active {unit}; "
            f"systemctl show -p DropInPaths,ExecStart,UMask,User {unit} | sed 's/ ; start_time=.*//'")


def app_drifts(app):
    """Drifts of an app server; app: its local facts (ansible_local.node_app) and, as `table`, the name
    of its nftables table."""
    user, name, root = app["user"], app["name"], app["dir"]
    home = app["pm2_home"].rsplit("/", 1)[0]
    unit = app["service"]
    live = f"{root}/releases/{app['release']}"
    firewall = f"node-app-firewall-{name}.service"
    npm = "/usr/local/lib/node_app"
    as_user = f"runuser -u {user} -- env HOME={home} PM2_HOME={home}/.pm2"
    return [
        Drift("the app's nftables table deleted", "loaded nftables rules",
              f"nft delete table inet {app['table']}",
              f"nft list table inet {app['table']}"),
        Drift("a rule of the app's table changed in the kernel", "loaded nftables rules",
              f"nft add rule inet {app['table']} input tcp dport 9 accept",
              f"nft list table inet {app['table']} | grep -c 'dport 9' || true"),
        Drift("the PM2 unit disabled", "enabled/active state",
              f"systemctl disable --quiet {unit}", _unit(unit)),
        Drift("UMask edited in the PM2 unit", "unit files",
              f"sed -i 's/^UMask=0077/UMask=0022/' /etc/systemd/system/{unit} && systemctl daemon-reload",
              _file(f"/etc/systemd/system/{unit}") + "; " + _unit(unit)),
        Drift("a drop-in that runs the PM2 unit without its umask", "drop-ins",
              f"mkdir -p /etc/systemd/system/{unit}.d && printf '[Service]\\nUMask=0022\\n'"
              f" > /etc/systemd/system/{unit}.d/override.conf && systemctl daemon-reload",
              f"ls -d /etc/systemd/system/{unit}.d 2>&1; " + _unit(unit)),
        Drift("the link current removed", "links", f"rm {root}/current", _stat(f"{root}/current")),
        Drift("the live release directory made world-writable", "release trees", f"chmod 0777 {live}", _stat(live)),
        Drift("node_app_dir made group-writable", "file owner/mode", f"chmod 0775 {root}", _stat(root)),
        Drift("/etc/ansible/facts.d made world-writable", "local facts", "chmod 0777 /etc/ansible/facts.d",
              _stat("/etc/ansible/facts.d")),
        Drift("the local facts of node_app edited", "local facts",
              "echo '{\"port\": 1}' > /etc/ansible/facts.d/node_app.fact", _file("/etc/ansible/facts.d/node_app.fact")),
        Drift("the installed npm tree made world-writable", "the npm tree", f"chmod -R o+w {npm}",
              f"find {npm} -perm -o+w | head -3; find {npm} -maxdepth 1 | sort"),
        Drift("a file of PM2's installed tree made world-writable", "installed trees",
              "chmod o+w /usr/local/lib/node_modules/pm2/package.json",
              _stat("/usr/local/lib/node_modules/pm2/package.json")),
        Drift("node-app-run edited", "file content", "echo 'echo hijacked' >> /usr/local/bin/node-app-run",
              _file("/usr/local/bin/node-app-run")),
        Drift("the package acl removed", "packages", "DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq acl >/dev/null",
              "dpkg-query -W -f '${Package} ${db:Status-Status}\\n' acl 2>&1"),
        Drift("the firewall's rules file edited to let everyone in", "file content",
              f"sed -i 's/reject with tcp reset/accept/' /etc/node_app/{name}.nft", _file(f"/etc/node_app/{name}.nft")),
        Drift("the firewall's unit disabled", "enabled/active state",
              f"systemctl disable --quiet {firewall}", _unit(firewall)),
        Drift("the app user's home made readable by all", "file owner/mode", f"chmod 0755 {home}", _stat(home)),
        Drift("the app user added to the group adm", "users and group membership", f"usermod -aG adm {user}",
              f"id {user}"),
        Drift("the app user given a login shell", "users and group membership", f"usermod -s /bin/bash {user}",
              f"getent passwd {user} | cut -d: -f7"),
        Drift("root's bookkeeping directory opened", "file owner/mode", "chmod 0755 /var/lib/node_app",
              _stat("/var/lib/node_app")),
        Drift("the app stopped under PM2", "enabled/active state", f"{as_user} pm2 stop {name} >/dev/null",
              f"curl -s -o /dev/null -w '%{{http_code}}' --max-time 5 http://127.0.0.1:{app['port']}{app['health_path']}"),
    ]


def proxy_drifts(facts):
    """Drifts of a proxy; facts: its local facts (ansible_local.nginx_proxy)."""
    site = f"/etc/nginx/sites-available/nginx-proxy-{facts['domains'][0]}.conf"
    health = "nginx-proxy-health.service"
    upstream = "/etc/nginx/conf.d/nginx-proxy-upstream.conf"
    return [
        Drift("the health checker stopped and disabled", "enabled/active state",
              f"systemctl disable --now --quiet {health}", _unit(health)),
        # Created again as a system user, maybe with another uid: its name, groups, home, shell and the
        # directory it writes its marks to must be as before.
        Drift("the health checker's user deleted", "users and group membership",
              "userdel nginx-proxy-health", "id -nG nginx-proxy-health 2>&1; getent passwd nginx-proxy-health | cut -d: -f1,6,7; "
              "stat -c '%U %a' /var/lib/nginx-proxy-rotation/out/health"),
        Drift("a drop-in that replaces the health checker's ExecStart", "drop-ins",
              f"mkdir -p /etc/systemd/system/{health}.d && printf '[Service]\\nExecStart=\\nExecStart=/bin/sleep infinity\\n'"
              f" > /etc/systemd/system/{health}.d/override.conf && systemctl daemon-reload",
              f"ls -d /etc/systemd/system/{health}.d 2>&1; " + _unit(health)),
        Drift("the health checker's sudoers rule widened", "sudoers",
              "echo 'nginx-proxy-health ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/nginx-proxy-health",
              _file("/etc/sudoers.d/nginx-proxy-health")),
        Drift("Debian's default site enabled again", "enabled nginx sites",
              "ln -sf ../sites-available/default /etc/nginx/sites-enabled/default", "ls -1 /etc/nginx/sites-enabled"),
        Drift("a site of someone else's enabled", "enabled nginx sites",
              "printf 'server {\\n    listen 8081;\\n    return 200 other;\\n}\\n' > /etc/nginx/sites-available/other.conf"
              " && ln -sf ../sites-available/other.conf /etc/nginx/sites-enabled/other.conf",
              "ls -1 /etc/nginx/sites-enabled"),
        Drift("the site's file edited", "file content", f"echo '# edited by hand' >> {site}", _file(site)),
        Drift("nginx.conf made world-writable", "file owner/mode", "chmod 0666 /etc/nginx/nginx.conf",
              _file("/etc/nginx/nginx.conf")),
        # The health checker rewrites the upstream blocks as servers come and go: what must hold is that
        # they are what the rotation tool renders from the servers in rotation.
        Drift("the upstream blocks edited by hand", "file content",
              f"sed -i 's/max_fails=[0-9]*/max_fails=1000/' {upstream}",
              f"grep -c max_fails=1000 {upstream}; nginx-proxy-rotation render --check --conf-dir /etc/nginx; "
              + _stat(upstream)),
        Drift("the rotation tool edited", "file content", "echo '# edited' >> /usr/local/sbin/nginx-proxy-rotation",
              _file("/usr/local/sbin/nginx-proxy-rotation")),
        Drift("the local facts of nginx_proxy edited", "local facts",
              "echo '{}' > /etc/ansible/facts.d/nginx_proxy.fact", _file("/etc/ansible/facts.d/nginx_proxy.fact")),
        Drift("/etc/ansible/facts.d made world-writable", "local facts", "chmod 0777 /etc/ansible/facts.d",
              _stat("/etc/ansible/facts.d")),
        Drift("nginx stopped and disabled", "enabled/active state", "systemctl disable --now --quiet nginx",
              _unit("nginx.service")),
    ]


def make(drifts, sh: Callable[[str], object]):
    """Record each drift's state, then make it (in order)."""
    for drift in drifts:
        drift.before = sh(drift.state).stdout
    for drift in drifts:
        done = sh(drift.make)
        assert done.returncode == 0, (drift.name, done.stdout, done.stderr)


def not_repaired(drifts, sh: Callable[[str], object]):
    """The drifts whose state is not what it was before them, with what it is now."""
    left = []
    for drift in drifts:
        now = sh(drift.state).stdout
        if now != drift.before:
            left.append({"drift": drift.name, "kind": drift.kind, "before": drift.before, "now": now})
    return left


def summary(hosts):
    """{host: [drift names]} as JSON, for a report."""
    return json.dumps({host: [drift.name for drift in drifts] for host, drifts in hosts.items()}, indent=1)
