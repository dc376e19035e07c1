#!/usr/bin/env python3
"""Run a playbook while steady load goes through the lab's proxy, then draw the run as a report.

  scripts/under-load.py --url http://127.0.0.1:8080/ --inventory inventories/lab --name deploy \\
      --new-release "" -- ansible-playbook site.yml -i inventories/lab          # `make deploy-demo`
  scripts/under-load.py --url http://127.0.0.1:8080/ --inventory inventories/lab --name rollback \\
      -- ansible-playbook playbooks/rollback.yml -i inventories/lab           # `make rollback UNDER_LOAD=1`

Clients on this machine (playbooks/files/webstack-load.py, browser-like: each page, then the assets
it names) load the site from two seconds before the command until two seconds after it; every
request is recorded. The command runs with Ansible's log (ANSIBLE_LOG_PATH) beside the record, and
its rolling deploy's steps (playbooks/tasks/rolling_switch.yml: each app server taken out of
rotation, switched, put back) become the report's bands. The report is
<report-dir>/<name>-<date>-<time>.html (playbooks/files/webstack-report.py), its record and
run.json in the directory of the same name.

--new-release DIR deploys DIR as the new release (-e node_app_src=DIR); --new-release "" makes one
from the local source the lab deploys (node_app_src in the inventory): a copy with a file
deploy-demo.txt naming the run, so it is a release of its own with the same dependencies.
The exit status is the command's, or 1 when a request failed.
"""

import argparse
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LOAD = REPO_ROOT / "playbooks" / "files" / "webstack-load.py"
REPORT = REPO_ROOT / "playbooks" / "files" / "webstack-report.py"
# The tasks of playbooks/tasks/rolling_switch.yml whose results mark a server's switch.
OUT_TASK = "Take the server out of rotation at every proxy"
BACK_TASK = "Put the server back into rotation at every proxy"
_LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) p=\d+ u=\S+ n=\S+ \w+\| (.*)$")
_TASK = re.compile(r"^TASK \[(.*)\] \**$")
_RESULT = re.compile(r"^(changed|ok): \[([^\]\s]+)")


def log(message):
    print(f"under-load: {message}", file=sys.stderr, flush=True)


def ansible_json(args):
    """The JSON an ad-hoc ansible command prints for its first host (-o: one line per host)."""
    result = subprocess.run(["ansible", *args, "-o"], capture_output=True, text=True, check=False, cwd=REPO_ROOT,
                            env={**os.environ, "ANSIBLE_NOCOLOR": "1"})
    match = re.search(r"=> (\{.*\})\s*$", result.stdout, re.M)
    if result.returncode != 0 or not match:
        raise SystemExit(f"under-load: ansible {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return json.loads(match.group(1))


def upstreams(inventories):
    """The proxy's upstream description (nginx_proxy writes it): the site's domain, each server's address and host."""
    reply = ansible_json(["proxy[0]", *inventories, "-m", "ansible.builtin.slurp",
                          "-a", "src=/etc/nginx/nginx-proxy/upstreams.json", "--become"])
    return json.loads(base64.b64decode(reply["content"]))


def lab_source(inventories):
    """node_app_src of the first app server, as the inventory sets it (make lab records it)."""
    result = subprocess.run(["ansible-inventory", *inventories, "--host", first_app(inventories)], capture_output=True,
                            text=True, check=True, cwd=REPO_ROOT)
    return json.loads(result.stdout).get("node_app_src")


def first_app(inventories):
    result = subprocess.run(["ansible-inventory", *inventories, "--list"], capture_output=True, text=True, check=True,
                            cwd=REPO_ROOT)
    return json.loads(result.stdout)["app"]["hosts"][0]


def new_release(source, dest, run):
    """A copy of source without what node_app leaves out anyway, with one file naming the run."""
    source = Path(source)
    if not (source / "package.json").is_file():
        raise SystemExit(f"under-load: {source} is not a Node.js app (no package.json)")
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(source, dest, symlinks=True,
                    ignore=lambda folder, names: [n for n in names if Path(folder) == source and n in ("node_modules", "build", ".git")])
    (dest / "deploy-demo.txt").write_text(f"{run}: a release made by make deploy-demo, so that something changes.\n")
    return dest


def switch_marks(log_path):
    """The switch of each app server, from Ansible's log: out of rotation to back in (one band per server)."""
    marks, task, out = [], None, {}
    if not log_path.exists():
        return marks
    for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        match = _LOG_LINE.match(line)
        if not match:
            continue
        at = time.mktime(time.strptime(match.group(1), "%Y-%m-%d %H:%M:%S")) + int(match.group(2)) / 1000
        message = match.group(3)
        if task_match := _TASK.match(message):
            task = task_match.group(1)
        elif (result := _RESULT.match(message)) and result.group(1) == "changed":
            host = result.group(2)
            if task == OUT_TASK:
                out[host] = at
            elif task == BACK_TASK and host in out:
                marks.append({"start": out.pop(host), "end": at, "kind": "deploy",
                              "label": f"batch {len(marks) + 1}: {host} out of rotation, switched to the release, back"})
    return marks


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--url", required=True, help="the site as this machine reaches it (the lab: http://127.0.0.1:8080/)")
    parser.add_argument("--inventory", action="append", required=True)
    parser.add_argument("--name", required=True, help="what runs (deploy, rollback): the report's name begins with it")
    parser.add_argument("--report-dir", type=Path, default=REPO_ROOT / ".cache" / "reports")
    parser.add_argument("--new-release", metavar="DIR", help='deploy DIR as a new release ("": one made from the lab\'s source)')
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--pause", type=float, default=0.01, help="seconds each client waits between pages")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run under load")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given (put it after --)")
    inventories = [arg for path in args.inventory for arg in ("-i", path)]

    run = f"{args.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir = args.report_dir.resolve() / run
    run_dir.mkdir(parents=True, exist_ok=True)
    data = upstreams(inventories)
    domain = data["upstreams"][0]["domain"]
    servers = [server for upstream in data["upstreams"] for server in upstream["servers"] if "inventory_host" in server]
    names = {server["address"]: server["inventory_host"] for server in servers}
    if args.new_release is not None:
        source = args.new_release or lab_source(inventories)
        if not source:
            raise SystemExit("under-load: the lab deploys from git, not from a local directory: give one with "
                             "DEMO_SRC=<dir> (make deploy-demo) or --new-release <dir>")
        release = new_release(source, run_dir / "release", run) if not args.new_release else Path(source).resolve()
        command += ["-e", f"node_app_src={release}"]
        log(f"the new release: {release}")

    record = run_dir / "load.tsv.gz"
    load = subprocess.Popen([sys.executable, str(LOAD), "--url", args.url, "--host", domain, "--assets", "--insecure",
                             "--clients", str(args.clients), "--pause", str(args.pause), "--seconds", "7200",
                             "--record", str(record)], stdout=subprocess.PIPE, text=True)
    log(f"{args.clients} clients load {args.url} (Host: {domain}); recording every request in {record}")
    time.sleep(2)
    started = time.time()
    log(f"running: {' '.join(command)}")
    status = subprocess.run(command, check=False, cwd=REPO_ROOT,
                            env={**os.environ, "ANSIBLE_LOG_PATH": str(run_dir / "ansible.log")}).returncode
    finished = time.time()
    time.sleep(2)
    load.send_signal(signal.SIGTERM)
    summary = json.loads(load.communicate(timeout=60)[0])

    marks = [{"start": started, "end": finished, "kind": "run", "label": f"{' '.join(command[:2])} runs"}]
    marks += switch_marks(run_dir / "ansible.log")
    described = {
        "title": f"{args.name.capitalize()} under load: {run}",
        "run": run,
        "notes": [f"Written by scripts/under-load.py: {' '.join(command)} ran while {args.clients} clients on this machine "
                  f"loaded {args.url} (Host: {domain}) like browsers (each page, then the assets it names), from two seconds "
                  "before until two seconds after it. A blue band is one app server's switch: from when every proxy took it "
                  "out of rotation to when they put it back (Ansible's log, beside the record)."],
        "sections": [{
            "title": f"The site while {' '.join(command[:2])} runs",
            "stack_by": "upstream",
            "names": names,
            "series": [server["inventory_host"] for server in servers],
            "columns": "app",
            "states": [{"name": f"{args.name}: {' '.join(command[:2])}", "record": record.name, "summary": summary}],
            "marks": marks,
        }],
    }
    (run_dir / "run.json").write_text(json.dumps(described, indent=2) + "\n", encoding="utf-8")
    report = args.report_dir.resolve() / f"{run}.html"
    subprocess.run([sys.executable, str(REPORT), str(run_dir / "run.json"), str(report)], check=True, stdout=subprocess.DEVNULL)
    failed = summary["failed"] + summary.get("assets", {}).get("failed", 0)
    log(f"{summary['ok']} of {summary['requests']} pages and {summary.get('assets', {}).get('ok', 0)} of "
        f"{summary.get('assets', {}).get('requests', 0)} assets answered; {failed} failed")
    log(f"the report of this run: {report}")
    if status == 0 and failed:
        log(f"{failed} requests failed while the command ran: see the report")
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
