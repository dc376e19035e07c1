#!/usr/bin/env python3
"""gixy-ng (an outside nginx analyzer, pinned in requirements.txt) on the proxy configuration of every
molecule scenario, rendered on the controller: no container, no nginx, so `make lint` and CI run it.

For each scenario (molecule/*/molecule.yml, with the values of .env.yml put in as molecule does), an
inventory of its hosts, groups and variables is written with the local connection, and
scripts/nginx-config-render.yml renders each proxy's configuration as the nginx_proxy role would
(the role's templates, the upstream blocks from nginx-proxy-rotation) into
.cache/nginx-configs/<scenario>/<host>/. gixy-ng then reads each one as nginx would, from nginx.conf
down through its includes, and any finding, of any severity, fails. One check is left out where the
input asks for what it reports: hsts_header on a proxy with TLS and nginx_proxy_tls_hsts false (the
role refuses HSTS with a self-signed certificate, which the nginx_proxy scenario uses); the output
says so.

Rendered rather than read from a running proxy (`nginx -T`): the scenarios' containers exist only
while a scenario runs, and a check that finds nothing to read would pass without looking. The
molecule scenarios also run gixy-ng on each proxy's live `nginx -T` (molecule/*/tests/test_gixy.py).

  scripts/nginx-gixy.py                 # every scenario (make lint)
  scripts/nginx-gixy.py nginx_proxy     # one scenario
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / ".cache" / "nginx-configs"
PLAYBOOK = REPO / "scripts" / "nginx-config-render.yml"
# The group whose hosts run nginx_proxy in every scenario (site.yml's webstack_proxy_hosts default).
PROXY_GROUP = "proxy"
# nginx of each Debian release the scenarios run (the HTTP/2 syntax depends on it).
NGINX_VERSIONS = {"12": "1.22.1", "13": "1.26.3"}
# Addresses for backend hosts that take theirs from facts on a real run (RFC 5737, documentation).
EXAMPLE_NET = "192.0.2."
_SUBSTITUTION = re.compile(r"\$\$|\$\{(\w+)(?::-([^}]*))?\}")


def molecule_text(path, values):
    """molecule.yml with ${NAME} and ${NAME:-default} put in, and $$ read as $, as molecule does."""
    def put(match):
        if match.group(0) == "$$":
            return "$"
        return str(values.get(match.group(1), match.group(2) or ""))

    return _SUBSTITUTION.sub(put, path.read_text())


def substitution_values():
    values = yaml.safe_load((REPO / ".env.yml").read_text())
    return {**os.environ, **values, "MOLECULE_PROJECT_DIRECTORY": str(REPO)}


def inventory(scenario_file, values):
    """The inventory of a scenario for a render on the controller: its hosts in their groups, its
    group_vars and host_vars, each host on the local connection."""
    config = yaml.safe_load(molecule_text(scenario_file, values))
    shared = yaml.safe_load(molecule_text(REPO / ".config" / "molecule" / "config.yml", values))
    scenario_vars = (config.get("provisioner") or {}).get("inventory") or {}
    shared_vars = shared["provisioner"].get("inventory") or {}
    groups, hosts = {}, {}
    for index, platform in enumerate(config["platforms"], start=1):
        name = platform["name"]
        release = "13" if "debian:13" in str(platform.get("image", "")) else "12"
        host = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "ansible_become": False,
            "render_nginx_version": NGINX_VERSIONS[release],
            # What the render's backend hosts say instead of facts: an address, no local facts.
            "nginx_proxy_backend_address": f"{EXAMPLE_NET}{index}",
            "ansible_local": {},
        }
        host.update((scenario_vars.get("host_vars") or {}).get(name) or {})
        host.update((shared_vars.get("host_vars") or {}).get(name) or {})
        hosts[name] = host
        for group in platform.get("groups", []):
            groups.setdefault(group, []).append(name)
    group_vars = dict(scenario_vars.get("group_vars") or {})
    all_vars = {k: v for k, v in (group_vars.pop("all", None) or {}).items() if k not in ("ansible_user", "ansible_become")}
    children = {group: {"hosts": {h: hosts[h] for h in members}, "vars": group_vars.get(group) or {}}
                for group, members in groups.items()}
    return {"all": {"vars": all_vars, "children": children}}


def render(scenario, values, out_dir):
    """Render the proxies' configurations of a scenario into out_dir/<host>/; the hosts rendered."""
    scenario_file = REPO / "molecule" / scenario / "molecule.yml"
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    inv = inventory(scenario_file, values)
    proxies = list((inv["all"]["children"].get(PROXY_GROUP) or {}).get("hosts", {}))
    if not proxies:
        return []
    inventory_file = out_dir / "inventory.yml"
    inventory_file.write_text(json.dumps(inv, indent=2))
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), str(PLAYBOOK), "-i", str(inventory_file),
         "-e", json.dumps({"render_dir": str(out_dir), "render_hosts": PROXY_GROUP})],
        cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"rendering the proxies of {scenario} failed:\n{result.stdout[-6000:]}{result.stderr[-2000:]}")
    return proxies


def skipped_checks(render_facts):
    """The gixy-ng checks that report what the input asks for, with the reason: {check: reason}."""
    if render_facts.get("tls") != "off" and not render_facts.get("hsts"):
        return {"hsts_header": "nginx_proxy_tls_hsts is false (no Strict-Transport-Security by choice)"}
    return {}


def gixy(conf_file, skips=()):
    """gixy-ng's findings on a configuration (nginx.conf and its includes): a list of dicts."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "gixy"), "--format", "json",
         *(["--skips", ",".join(sorted(skips))] if skips else []), str(conf_file)],
        capture_output=True, text=True, check=False)
    try:
        findings = json.loads(result.stdout or "[]")
    except ValueError:
        raise SystemExit(f"gixy-ng gave no report on {conf_file} (exit {result.returncode}):\n"
                         f"{result.stdout[-3000:]}{result.stderr[-3000:]}") from None
    if result.returncode not in (0, 1) or (result.returncode == 1 and not findings):
        raise SystemExit(f"gixy-ng failed on {conf_file} (exit {result.returncode}):\n{result.stderr[-3000:]}")
    return findings


def describe(finding):
    return (f"  {finding.get('severity')} {finding.get('plugin')}: {finding.get('summary')}\n"
            f"    {finding.get('path', '')}: {' '.join(str(finding.get('config', '')).split())[:300]}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", help="scenario names (default: every scenario)")
    args = parser.parse_args(argv)
    scenarios = args.scenarios or sorted(p.parent.name for p in (REPO / "molecule").glob("*/molecule.yml"))
    values = substitution_values()
    failed = checked = 0
    for scenario in scenarios:
        for host in render(scenario, values, OUT / scenario):
            checked += 1
            skips = skipped_checks(json.loads((OUT / scenario / host / "render.json").read_text()))
            findings = gixy(OUT / scenario / host / "nginx.conf", skips)
            left_out = "".join(f"; {check} not run: {reason}" for check, reason in sorted(skips.items()))
            if findings:
                failed += 1
                print(f"{scenario} {host}: {len(findings)} finding(s){left_out}")
                print("\n".join(describe(f) for f in findings))
            else:
                print(f"{scenario} {host}: no finding{left_out}")
    if not checked:
        raise SystemExit("no proxy configuration was rendered: nothing was checked")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
