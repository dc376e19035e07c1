#!/usr/bin/env python3
"""`make bench`: what the web stack costs, as ratios measured in one run on fresh lab-like containers.

It starts one proxy and two app containers (systemd, Debian 12, reached with Ansible's docker
connection as `deploy` + sudo, like the molecule scenarios, with pipelining as the lab has over
SSH), deploys the fixture app tests/fixtures/hello-app in static mode with the plain
`ansible-playbook site.yml`, and measures, in this order:

- a fresh converge, then the floor every playbook pays on these hosts: a play that gathers facts
  and pings them all (the median of 3 runs);
- requests/s and p99 latency through the proxy against straight to one app server, for the page
  and for a hashed static asset, with wrk run inside the proxy container (then the RSS of the
  app and of its PM2 daemon on that app server);
- the idempotent re-run (changed=0 on every host, from the PLAY RECAP) against the floor (the
  median of 3 runs: a re-run lasts a few seconds, and one run on a busy machine can be off by 15%);
- 4 more app containers, converged (not timed), and the re-run with 6 app hosts (the median of 3)
  against the one with 2 just before;
- one app server redeployed with node_app_mode=start: its requests/s direct and its memory.

It prints a table and whether each goal is met; --markdown PATH also writes the table as markdown
(the README's "Benchmarks" section shows one).

--proxy-settings measures the proxy's tuning instead: after the converge, nginx_proxy is applied
again with one setting changed at a time (PROXY_SETTINGS: the access log's buffer, how and at which
level gzip compresses, the upstream keep-alive pool, the worker processes), and wrk loads the page,
the app's small hashed asset and a large one (a real minified bundle of about 230 KB) through the
proxy each time, asking for gzip as browsers do. Every figure is printed against the defaults,
measured first and again last (the gap between the two is the run's noise).

Every container and the network it creates are named webstack-bench-* and removed at the end, and
at the start (leftovers of a run cut short). The logs of every ansible-playbook run are kept in
.cache/bench/logs/.

Python 3.11 standard library only; ansible-playbook comes from PATH (the Makefile puts .venv/bin
first).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PREFIX = "webstack-bench"
LABEL = f"org.proxylab.bench={PREFIX}"
NETWORK = PREFIX
IMAGE = os.environ.get("PROXYLAB_IMAGE_DEBIAN12", "proxylab/debian:12")
WORK = REPO_ROOT / ".cache" / "bench"
DOMAIN = "bench.lab"
APP_SRC = REPO_ROOT / "tests" / "fixtures" / "hello-app"
APP_PORT = 3000
# As tests/conftest.py SYSTEMD_RUN_ARGS: systemd without --privileged; NET_ADMIN for node_app's firewall.
SYSTEMD_RUN_ARGS = [
    "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN", "--security-opt", "seccomp=unconfined",
    "--security-opt", "apparmor=unconfined", "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs", "/run", "--tmpfs", "/run/lock",
]

# The goals the figures are compared with (issue 10).
GOAL_RERUN_VS_FLOOR = 3.0
GOAL_SIX_VS_TWO = 1.5
GOAL_PAGE_PROXY_VS_DIRECT = 0.5
GOAL_ASSET_PROXY_VS_DIRECT = 1.0


# ---------------------------------------------------------------------------------------------
# Parsing helpers (tests/test_bench.py)

RECAP_LINE = re.compile(r"^(?P<host>\S+)\s*:\s*(?P<counts>(?:\w+=\d+\s*)+)$")


def parse_recap(output: str) -> dict[str, dict[str, int]]:
    """The PLAY RECAP of ansible-playbook's output: {host: {"ok": n, "changed": n, ...}}."""
    recap: dict[str, dict[str, int]] = {}
    in_recap = False
    for line in output.splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap = True
            recap = {}  # only the last recap counts
            continue
        if not in_recap:
            continue
        match = RECAP_LINE.match(line.strip())
        if match:
            counts = dict(pair.split("=") for pair in match.group("counts").split())
            recap[match.group("host")] = {name: int(value) for name, value in counts.items()}
        elif line.strip():
            in_recap = False
    return recap


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _duration_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> dict:
    """wrk --latency output: requests/s, the latency percentiles (ms), requests, errors."""
    result: dict = {"percentiles_ms": {}, "non_2xx_3xx": 0, "socket_errors": 0}
    for line in output.splitlines():
        line = line.strip()
        if match := re.match(r"Requests/sec:\s+([\d.]+)", line):
            result["rps"] = float(match.group(1))
        elif match := re.match(r"(\d+(?:\.\d+)?)%\s+([\d.]+(?:us|ms|s|m))$", line):
            result["percentiles_ms"][float(match.group(1))] = _duration_ms(match.group(2))
        elif match := re.match(r"(\d+) requests in ([\d.]+\w+)", line):
            result["requests"] = int(match.group(1))
        elif match := re.match(r"Non-2xx or 3xx responses:\s+(\d+)", line):
            result["non_2xx_3xx"] = int(match.group(1))
        elif match := re.match(r"Socket errors:\s+(.*)", line):
            result["socket_errors"] = sum(int(n) for n in re.findall(r"\d+", match.group(1)))
    if "rps" not in result or 99.0 not in result["percentiles_ms"]:
        raise ValueError(f"no Requests/sec or 99% latency in wrk's output:\n{output}")
    result["p99_ms"] = result["percentiles_ms"][99.0]
    return result


def parse_rss(ps_output: str) -> dict[str, int]:
    """`ps -o rss=,args=` of the app's user: KiB of the PM2 daemon and of everything else (the app)."""
    daemon = app = 0
    for line in ps_output.splitlines():
        parts = line.strip().split(None, 1)
        if not parts or not parts[0].isdigit():
            continue
        rss, args = int(parts[0]), parts[1] if len(parts) > 1 else ""
        if "God Daemon" in args:
            daemon += rss
        elif args.startswith("ps "):
            continue
        else:
            app += rss
    return {"app_kib": app, "daemon_kib": daemon}


def hashed_asset(page: str) -> str:
    """The first hashed bundle a built page names (/static/js/main.<hash>.js)."""
    match = re.search(r'(?:src|href)="(/static/[^"]+\.[0-9a-f]{8,}\.(?:js|css))"', page)
    if not match:
        raise ValueError("the page names no hashed asset under /static/")
    return match.group(1)


# ---------------------------------------------------------------------------------------------
# Running things


def log(message: str) -> None:
    print(f"bench [{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(args, *, check=True, timeout=600) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def docker_exec(container, *command, check=True, timeout=600):
    return run(["docker", "exec", container, *command], check=check, timeout=timeout)


def cleanup() -> None:
    ids = run(["docker", "ps", "-aq", "--filter", f"label={LABEL}"], check=False).stdout.split()
    if ids:
        run(["docker", "rm", "-f", *ids], check=False, timeout=120)
    if run(["docker", "network", "inspect", NETWORK], check=False).returncode == 0:
        run(["docker", "network", "rm", NETWORK], check=False)


def start_hosts(names) -> None:
    if run(["docker", "network", "inspect", NETWORK], check=False).returncode != 0:
        run(["docker", "network", "create", "--label", LABEL, NETWORK])
    for name in names:
        container = f"{PREFIX}-{name}"
        run(["docker", "run", "-d", "--name", container, "--hostname", name, "--network", NETWORK,
             "--label", LABEL, *SYSTEMD_RUN_ARGS, IMAGE])
    for name in names:
        container = f"{PREFIX}-{name}"
        deadline = time.monotonic() + 90
        while True:
            state = docker_exec(container, "systemctl", "is-system-running", check=False).stdout.strip()
            if state in ("running", "degraded"):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"systemd did not come up in {container} (state: {state or 'none'})")
            time.sleep(1)


def container_ip(container) -> str:
    return run(["docker", "inspect", "--format",
                f'{{{{ (index .NetworkSettings.Networks "{NETWORK}").IPAddress }}}}', container]).stdout.strip()


def write_inventory(apps: int) -> Path:
    """The bench inventory: groups app and proxy, the docker connection as deploy + sudo."""
    inventory = {
        "all": {
            "vars": {
                "ansible_connection": "community.docker.docker",
                "ansible_user": "deploy",
                "ansible_become": True,
                "ansible_python_interpreter": "/usr/bin/python3",
            },
            "children": {
                "app": {
                    "hosts": {f"{PREFIX}-app{i}": {} for i in range(1, apps + 1)},
                    "vars": {"node_app_src": str(APP_SRC), "node_app_mode": "static"},
                },
                "proxy": {"hosts": {f"{PREFIX}-proxy": {}}, "vars": {"nginx_proxy_domain": DOMAIN}},
            },
        }
    }
    path = WORK / "inventory.yml"  # JSON is YAML: the yaml inventory plugin reads it
    path.write_text(json.dumps(inventory, indent=2) + "\n")
    return path


def ansible_env() -> dict:
    env = dict(os.environ)
    env.setdefault("ANSIBLE_CONFIG", str(REPO_ROOT / "ansible.cfg"))
    env["ANSIBLE_NOCOLOR"] = "1"
    env.pop("ANSIBLE_FORCE_COLOR", None)
    return env


def timed_playbook(name, playbook, inventory, *extra, timeout=3600) -> tuple[float, dict, str]:
    """Run ansible-playbook, keep its log under .cache/bench/logs/<name>.log; seconds, recap, output."""
    args = ["ansible-playbook", str(playbook), "-i", str(inventory), *extra]
    start = time.monotonic()
    result = subprocess.run(args, cwd=REPO_ROOT, env=ansible_env(), capture_output=True, text=True,
                            timeout=timeout, check=False)
    seconds = time.monotonic() - start
    output = result.stdout + ("\n--- stderr\n" + result.stderr if result.stderr.strip() else "")
    (WORK / "logs" / f"{name}.log").write_text(output)
    if result.returncode != 0:
        tail = "\n".join(output.splitlines()[-40:])
        raise RuntimeError(f"ansible-playbook ({name}) exited {result.returncode}; log: "
                           f"{WORK / 'logs' / (name + '.log')}\n{tail}")
    return seconds, parse_recap(result.stdout), result.stdout


FLOOR_PLAYBOOK = """---
# The floor any playbook pays on these hosts: start ansible-playbook, gather facts, run one module.
- name: Floor
  hosts: all
  gather_facts: true
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""


def measure_floor(inventory, runs, label) -> float:
    book = WORK / "floor.yml"
    book.write_text(FLOOR_PLAYBOOK)
    times = [timed_playbook(f"floor-{label}-{i}", book, inventory)[0] for i in range(1, runs + 1)]
    floor = statistics.median(times)
    log(f"floor ({label}): {' '.join(f'{t:.1f}' for t in times)} s, median {floor:.1f} s")
    return floor


def changed_total(recap) -> int:
    return sum(counts.get("changed", 0) for counts in recap.values())


def recap_text(recap) -> str:
    return ", ".join(f"{host.removeprefix(PREFIX + '-')} ok={c.get('ok', 0)} changed={c.get('changed', 0)}"
                     for host, c in sorted(recap.items()))


def header_args(headers) -> list[str]:
    """-H NAME: VALUE for each header, as curl and wrk take them."""
    return [arg for header in headers for arg in ("-H", header)]


def wrk(container, url, host_header, args, headers=()) -> dict:
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--timeout", "5s",
               "--latency", "-H", f"Host: {host_header}", *header_args(headers), url]
    result = docker_exec(container, *command, timeout=args.duration + 60)
    return parse_wrk(result.stdout)


def wrk_text(result: dict) -> str:
    bad = result["non_2xx_3xx"] + result["socket_errors"]
    return (f"{result['rps']:.0f} requests/s, p99 {result['p99_ms']:.1f} ms"
            + (f", {bad} errors or answers other than 2xx/3xx" if bad else ""))


def rss(container) -> dict[str, int]:
    return parse_rss(docker_exec(container, "ps", "-u", "nodeapp", "-o", "rss=,args=").stdout)


def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    commit = run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"], check=False).stdout.strip() or "unknown"
    dirty = run(["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"], check=False).stdout.strip()
    core = re.search(r"core ([\w.]+)", run(["ansible-playbook", "--version"], check=False).stdout)
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": cpu,
        "ram": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit + ("+dirty" if dirty else ""),
        "ansible": f"ansible-core {core.group(1) if core else 'unknown'}",
    }


# ---------------------------------------------------------------------------------------------
# The report


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def build_rows(r: dict) -> list[tuple[str, str, str, str]]:
    """(measure, value, ratio, goal) rows of the table, from the results of a run; a run cut short
    gives the rows of what it measured."""
    mib = lambda kib: f"{kib / 1024:.0f} MiB"  # noqa: E731
    has = lambda *keys: all(key in r for key in keys)  # noqa: E731
    rows = []
    if has("floor"):
        rows.append(("floor: facts + ping, 1 proxy + 2 apps", f"{r['floor']:.1f} s", "1x", ""))
    if has("floor", "converge"):
        rows.append(("fresh converge (site.yml)", f"{r['converge']:.1f} s", f"{r['converge'] / r['floor']:.3g}x floor", ""))
    if has("floor", "rerun"):
        ok = r["rerun"] / r["floor"] <= GOAL_RERUN_VS_FLOOR and r["rerun_changed"] == 0
        rows.append((f"idempotent re-run (changed={r['rerun_changed']})", f"{r['rerun']:.1f} s",
                     f"{r['rerun'] / r['floor']:.3g}x floor", f"<= {GOAL_RERUN_VS_FLOOR:g}x, changed=0: {verdict(ok)}"))
    if has("rerun", "rerun6"):
        ratio = r["rerun6"] / r["rerun"]
        rows.append((f"re-run, {r['apps']} app hosts against 2 (changed={r['rerun6_changed']})",
                     f"{r['rerun6']:.1f} s vs {r['rerun']:.1f} s", f"{ratio:.3g}x",
                     f"<= {GOAL_SIX_VS_TWO:g}x: {verdict(ratio <= GOAL_SIX_VS_TWO)}"))
    for kind, label, goal in (("page", "page /", GOAL_PAGE_PROXY_VS_DIRECT),
                              ("asset", "hashed asset", GOAL_ASSET_PROXY_VS_DIRECT)):
        if not has(f"{kind}_proxy", f"{kind}_direct"):
            continue
        proxy, direct = r[f"{kind}_proxy"], r[f"{kind}_direct"]
        rows.append((f"{label}: requests/s, proxy vs one app direct", f"{proxy['rps']:.0f} vs {direct['rps']:.0f}",
                     f"{proxy['rps'] / direct['rps']:.3g}x",
                     f">= {goal:g}x: {verdict(proxy['rps'] / direct['rps'] >= goal)}"))
        rows.append((f"{label}: p99, proxy vs one app direct", f"{proxy['p99_ms']:.1f} ms vs {direct['p99_ms']:.1f} ms",
                     f"{proxy['p99_ms'] / direct['p99_ms']:.3g}x", ""))
    if has("page_direct_start", "page_direct"):
        start, static = r["page_direct_start"], r["page_direct"]
        rows.append(("page /: requests/s direct, start mode against static", f"{start['rps']:.0f} vs {static['rps']:.0f}",
                     f"{start['rps'] / static['rps']:.3g}x", ""))
    for mode in ("static", "start"):
        if has(f"mem_{mode}"):
            mem = r[f"mem_{mode}"]
            rows.append((f"memory, {mode} mode: app / PM2 daemon (RSS)",
                         f"{mib(mem['app_kib'])} / {mib(mem['daemon_kib'])}", "", ""))
    if has("mem_static", "mem_start"):
        rows.append(("memory of the app, start mode against static", "",
                     f"{r['mem_start']['app_kib'] / r['mem_static']['app_kib']:.3g}x", ""))
    return rows


HEADER = ("measure", "value", "ratio", "goal")
SETTINGS_HEADER = ("nginx_proxy setting", "page /", "small hashed asset", "large hashed asset", "errors")
SETTINGS_KINDS = ("page", "asset", "large_asset")


def text_table(rows, header=HEADER) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(header)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    return "\n".join(lines)


def markdown_table(rows, info: dict, args, header=HEADER) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    lines.append("")
    lines.append(f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM; {info['date']}; "
                 f"commit {info['commit']}; {info['ansible']}; app: tests/fixtures/hello-app on Node.js "
                 f"{info['node']} (Debian 12); wrk {args.threads} threads, {args.connections} connections, "
                 f"{args.duration} s per figure, run inside the proxy container. Ansible's docker connection"
                 f"{' without' if args.no_pipelining else ' with'} pipelining."
                 + (f" Requests ask for gzip ({BROWSER_HEADERS[0]}); each ratio is against the first row's."
                    if header == SETTINGS_HEADER else ""))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------


SITE = REPO_ROOT / "site.yml"
PROXY = f"{PREFIX}-proxy"
APP1 = f"{PREFIX}-app1"


def phase_converge(r: dict, args) -> Path:
    """Fresh containers, the fresh converge, then the floor of the same hosts."""
    log("starting 1 proxy + 2 app containers (fresh, from " + IMAGE + ")")
    start_hosts(["proxy", "app1", "app2"])
    inventory = write_inventory(apps=2)

    log("fresh converge: ansible-playbook site.yml (timed)")
    r["converge"], recap, _ = timed_playbook("converge", SITE, inventory)
    log(f"fresh converge: {r['converge']:.1f} s ({recap_text(recap)})")

    r["floor"] = measure_floor(inventory, args.floor_runs, "2apps")
    return inventory


# Ports spelled out: the images have no /etc/services, so wrk cannot resolve "http".
THROUGH = "http://127.0.0.1:80"


def install_wrk_and_find_asset() -> str:
    """wrk in the proxy container; the path of a hashed asset the page names, checked on app1."""
    log("installing wrk in the proxy container")
    docker_exec(PROXY, "sh", "-c", "apt-get install -y -qq wrk >/dev/null 2>&1 || "
                "(apt-get update -qq && apt-get install -y -qq wrk >/dev/null)", timeout=600)
    direct = f"http://{container_ip(APP1)}:{APP_PORT}"
    page = docker_exec(PROXY, "curl", "-sSf", "--max-time", "10", "-H", f"Host: {DOMAIN}", f"{THROUGH}/").stdout
    asset = hashed_asset(page)
    kind = docker_exec(PROXY, "curl", "-sSf", "--max-time", "10", "-o", "/dev/null", "-w", "%{content_type}",
                       f"{direct}{asset}").stdout
    if "javascript" not in kind and "css" not in kind:
        raise RuntimeError(f"{asset} is answered as {kind!r}, not as the asset itself")
    log(f"hashed asset: {asset} ({kind})")
    return asset


def warm_cache(asset: str) -> None:
    """A request through the proxy, with and without the browser's headers, puts both copies of the
    asset in its cache, as a site's first visitors do: the load then measures the cache, not the burst
    of requests waiting for its first fill."""
    for headers in ((), BROWSER_HEADERS):
        docker_exec(PROXY, "curl", "-sSf", "--max-time", "10", "-o", "/dev/null", "-H", f"Host: {DOMAIN}",
                    *header_args(headers), f"{THROUGH}{asset}")


def phase_http(r: dict, args) -> None:
    """wrk inside the proxy container: through nginx, and straight to app1, for the page and an asset."""
    asset = install_wrk_and_find_asset()
    warm_cache(asset)
    direct = f"http://{container_ip(APP1)}:{APP_PORT}"
    for name, url in (("page_proxy", f"{THROUGH}/"), ("page_direct", f"{direct}/"),
                      ("asset_proxy", f"{THROUGH}{asset}"), ("asset_direct", f"{direct}{asset}")):
        r[name] = wrk(PROXY, url, DOMAIN, args)
        log(f"wrk {name.replace('_', ' ')}: {wrk_text(r[name])}")
    r["mem_static"] = rss(APP1)
    log(f"memory, static mode (app1, after the load): app {r['mem_static']['app_kib']} KiB, "
        f"PM2 daemon {r['mem_static']['daemon_kib']} KiB")


def timed_reruns(name, inventory, runs) -> tuple[float, int]:
    """The median time of `runs` re-runs of site.yml, and the most any of them changed."""
    times, changed = [], 0
    for i in range(1, runs + 1):
        seconds, recap, _ = timed_playbook(f"{name}-{i}", SITE, inventory)
        times.append(seconds)
        changed = max(changed, changed_total(recap))
        log(f"{name} {i}: {seconds:.1f} s; PLAY RECAP: {recap_text(recap)}")
    median = statistics.median(times)
    log(f"{name}: {' '.join(f'{t:.1f}' for t in times)} s, median {median:.1f} s")
    return median, changed


def phase_scale(r: dict, args, inventory: Path) -> Path:
    """The idempotent re-run with 2 app hosts, then 4 more converged (not timed), the re-run with 6."""
    log("idempotent re-run: ansible-playbook site.yml (timed)")
    r["rerun"], r["rerun_changed"] = timed_reruns("rerun", inventory, args.rerun_runs)

    apps = r["apps"] = 2 + args.extra_apps
    log(f"starting {args.extra_apps} more app containers and converging all {apps} (not timed)")
    start_hosts([f"app{i}" for i in range(3, apps + 1)])
    inventory = write_inventory(apps=apps)
    seconds, recap, _ = timed_playbook(f"converge-{apps}apps", SITE, inventory)
    log(f"converge with {apps} app hosts: {seconds:.1f} s ({recap_text(recap)})")

    log(f"re-run with {apps} app hosts (timed)")
    r["rerun6"], r["rerun6_changed"] = timed_reruns(f"rerun-{apps}apps", inventory, args.rerun_runs)
    return inventory


def phase_start_mode(r: dict, args, inventory: Path) -> None:
    """app1 redeployed in start mode (`npm start` under PM2), loaded directly, its memory read."""
    log("redeploying app1 in start mode (npm start under PM2; not timed)")
    timed_playbook("start-mode", SITE, inventory, "--limit", f"{APP1},{PROXY}", "-e", "node_app_mode=start")
    direct = f"http://{container_ip(APP1)}:{APP_PORT}"
    r["page_direct_start"] = wrk(PROXY, f"{direct}/", DOMAIN, args)
    log(f"wrk page direct, start mode: {wrk_text(r['page_direct_start'])}")
    r["mem_start"] = rss(APP1)
    log(f"memory, start mode (app1, after the load): app {r['mem_start']['app_kib']} KiB, "
        f"PM2 daemon {r['mem_start']['daemon_kib']} KiB")


# (label, nginx_proxy variables) measured by --proxy-settings, each against the defaults.
PROXY_SETTINGS = [
    ("defaults", {}),
    ("access log written per request (buffer off)", {"nginx_proxy_access_log_buffer": ""}),
    ("assets compressed on every answer (compress once off), gzip level 5",
     {"nginx_proxy_asset_compress_once": False}),
    ("assets compressed on every answer (compress once off), gzip level 1",
     {"nginx_proxy_asset_compress_once": False, "nginx_proxy_gzip_comp_level": 1}),
    ("gzip level 1 (pages)", {"nginx_proxy_gzip_comp_level": 1}),
    ("gzip level 9 (pages)", {"nginx_proxy_gzip_comp_level": 9}),
    ("gzip off", {"nginx_proxy_gzip": False}),
    ("upstream keep-alive off (0 idle connections)", {"nginx_proxy_upstream_keepalive": 0}),
    ("upstream keep-alive 64 idle connections", {"nginx_proxy_upstream_keepalive": 64}),
    ("upstream keep-alive 100 requests per connection", {"nginx_proxy_upstream_keepalive_requests": 100}),
    ("upstream keep-alive 10000 requests per connection", {"nginx_proxy_upstream_keepalive_requests": 10000}),
    ("1 worker process", {"nginx_proxy_worker_processes": "1"}),
    ("defaults, again", {}),
]
# What a browser sends: the proxy compresses what it may.
BROWSER_HEADERS = ("Accept-Encoding: gzip, deflate, br",)

PROXY_PLAYBOOK = """---
# nginx_proxy alone, with the settings of --proxy-settings (extra variables); the app servers'
# addresses come from their facts.
- name: Read the app servers' addresses
  hosts: app
  gather_facts: true
  gather_subset: [network]
  tasks: []

- name: Apply nginx_proxy
  hosts: proxy
  gather_facts: true
  roles:
    - role: proxylab.webstack.nginx_proxy
"""


LARGE_ASSET = "/static/js/bundle.5f3c2a1b9d8e7f60.js"
# A real minified bundle of a real app's size: the largest *.min.js among the app servers' global
# node modules (PM2's), about 230 KB, as an app's main bundle is.
LARGE_ASSET_SCRIPT = f"""
src=$(find /usr/local/lib/node_modules -name '*.min.js' -size +100k -printf '%s %p\\n' | sort -n | tail -n 1 | cut -d' ' -f2)
[ -n "$src" ] || {{ echo 'no minified bundle of 100 KB or more under /usr/local/lib/node_modules' >&2; exit 3; }}
install -o nodeapp -g nodeapp -m 0644 "$src" "$(readlink -f /srv/dumbflix-frontend/current)/build{LARGE_ASSET}"
stat -c %s "$src"
"""


def add_large_asset(apps: int) -> int:
    """LARGE_ASSET on every app server's live build; its size in bytes."""
    sizes = {docker_exec(f"{PREFIX}-app{i}", "sh", "-c", LARGE_ASSET_SCRIPT).stdout.strip() for i in range(1, apps + 1)}
    size = int(sizes.pop())
    log(f"large asset: {LARGE_ASSET}, {size} bytes, on {apps} app servers")
    return size


def phase_proxy_settings(r: dict, args, inventory: Path) -> None:
    """nginx_proxy applied with one setting changed at a time; the page, a small hashed asset and a
    large one loaded each time."""
    asset = install_wrk_and_find_asset()
    r["large_asset_bytes"] = add_large_asset(apps=2)
    book = WORK / "proxy-settings.yml"
    book.write_text(PROXY_PLAYBOOK)
    results = r["proxy_settings"] = []
    for index, (label, settings) in enumerate(PROXY_SETTINGS):
        extra = WORK / "proxy-settings.json"
        extra.write_text(json.dumps(settings))
        timed_playbook(f"proxy-settings-{index}", book, inventory, "-e", f"@{extra}")
        # Every setting starts from an empty cache, filled again: copies made under the setting before
        # (compressed or not) would otherwise answer.
        docker_exec(PROXY, "sh", "-c", "systemctl stop nginx && rm -rf /var/cache/nginx-proxy/assets/* "
                    "&& systemctl start nginx")
        warm_cache(asset)
        warm_cache(LARGE_ASSET)
        row = {"label": label, "settings": settings}
        for kind, path in (("page", "/"), ("asset", asset), ("large_asset", LARGE_ASSET)):
            row[kind] = wrk(PROXY, f"{THROUGH}{path}", DOMAIN, args, BROWSER_HEADERS)
        log(f"{label}: page {wrk_text(row['page'])}; asset {wrk_text(row['asset'])}; "
            f"large asset {wrk_text(row['large_asset'])}")
        results.append(row)


def build_settings_rows(r: dict) -> list[tuple[str, str, str, str, str]]:
    """(setting, page, hashed asset, large asset, errors) rows, requests/s as a ratio to the first row's."""
    rows = []
    results = r.get("proxy_settings", [])
    if not results:
        return rows
    base = results[0]
    for row in results:
        cells = []
        for kind in SETTINGS_KINDS:
            figure, first = row[kind], base[kind]
            cells.append(f"{figure['rps']:.0f} req/s ({figure['rps'] / first['rps']:.2f}x), p99 {figure['p99_ms']:.1f} ms")
        errors = sum(row[k]["non_2xx_3xx"] + row[k]["socket_errors"] for k in SETTINGS_KINDS)
        rows.append((row["label"], *cells, str(errors)))
    return rows


def report(r: dict, args, started: float) -> None:
    info = machine()
    info["node"] = docker_exec(APP1, "node", "--version").stdout.strip()
    r["load_end"] = Path("/proc/loadavg").read_text().split()[:3]
    r["seconds"] = round(time.monotonic() - started)
    settings = {name: getattr(args, name) for name in ("threads", "connections", "duration", "no_pipelining")}
    (WORK / ("results-proxy-settings.json" if args.proxy_settings else "results.json")).write_text(json.dumps({"results": r, "machine": info, "settings": settings},
                                                  indent=2, default=str) + "\n")
    print_report(r, info, args)


def print_report(r: dict, info: dict, args) -> None:
    header = SETTINGS_HEADER if "proxy_settings" in r else HEADER
    rows = build_settings_rows(r) if "proxy_settings" in r else build_rows(r)
    print()
    print(text_table(rows, header))
    print()
    print(f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM; {info['date']}; commit {info['commit']}")
    if "load_end" in r:
        print(f"Load average at the start: {' '.join(r['load_start'])}, at the end: {' '.join(r['load_end'])}")
    if "seconds" in r:
        print(f"Total time: {r['seconds']} s; logs in {WORK / 'logs'}")
    if args.markdown:
        text = markdown_table(rows, info, args, header)
        if args.markdown == "-":
            print(text)
        else:
            Path(args.markdown).write_text(text)
            print(f"\nMarkdown table written to {args.markdown}:\n\n{text}")


def bench(args, r: dict) -> int:
    for tool in ("docker", "ansible-playbook"):
        if not shutil.which(tool):
            print(f"bench: {tool} is not on PATH (run `make bench`, which puts .venv/bin first)", file=sys.stderr)
            return 2
    shutil.rmtree(WORK / "logs", ignore_errors=True)
    (WORK / "logs").mkdir(parents=True)
    started = time.monotonic()
    r["load_start"] = Path("/proc/loadavg").read_text().split()[:3]
    log(f"load average of the machine: {' '.join(r['load_start'])}")
    log("removing leftovers of an earlier run")
    cleanup()
    inventory = phase_converge(r, args)
    if args.proxy_settings:
        phase_proxy_settings(r, args, inventory)
        report(r, args, started)
        return 0
    # The load first, so the idempotent re-run (2 app hosts) comes right before the 6-host one.
    phase_http(r, args)
    inventory = phase_scale(r, args, inventory)
    phase_start_mode(r, args, inventory)
    report(r, args, started)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--markdown", metavar="PATH", help="also write the table as markdown to PATH ('-': print it)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk run (default: 10)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default: 2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default: 32)")
    parser.add_argument("--floor-runs", type=int, default=3, help="floor runs, the median counts (default: 3)")
    parser.add_argument("--rerun-runs", type=int, default=3,
                        help="runs of each idempotent re-run, the median counts (default: 3)")
    parser.add_argument("--extra-apps", type=int, default=4, help="app hosts added for the re-run (default: 4)")
    parser.add_argument("--no-pipelining", action="store_true",
                        help="run Ansible without pipelining (the docker connection's default)")
    parser.add_argument("--report", metavar="JSON",
                        help="measure nothing: print the table (and --markdown) of a run's results.json again")
    parser.add_argument("--keep", action="store_true", help="leave the containers running at the end")
    parser.add_argument("--proxy-settings", action="store_true",
                        help="measure the proxy's settings (PROXY_SETTINGS) one at a time against the defaults, "
                             "instead of the table of goals")
    args = parser.parse_args(argv)
    if args.report:
        saved = json.loads(Path(args.report).read_text())
        for name, value in saved.get("settings", {}).items():
            setattr(args, name, value)
        print_report(saved["results"], saved["machine"], args)
        return 0
    # The lab pipelines over SSH (ansible.cfg, [ssh_connection]); the docker connection reads only the
    # global setting, and without it every task costs several more `docker exec` calls.
    os.environ["ANSIBLE_PIPELINING"] = "false" if args.no_pipelining else "true"

    def interrupted(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    results: dict = {}
    try:
        return bench(args, results)
    except (RuntimeError, ValueError, subprocess.TimeoutExpired, KeyboardInterrupt) as error:
        print(f"bench: {type(error).__name__}: {error}", file=sys.stderr)
        header = SETTINGS_HEADER if "proxy_settings" in results else HEADER
        rows = build_settings_rows(results) if "proxy_settings" in results else build_rows(results)
        if rows:
            print(f"\nWhat was measured before the run stopped (no table is written):\n\n{text_table(rows, header)}\n")
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the clean-up runs to its end
        if args.keep:
            log(f"--keep: leaving the {PREFIX}-* containers and network")
        else:
            log(f"removing the {PREFIX}-* containers and network")
            cleanup()


if __name__ == "__main__":
    sys.exit(main())
