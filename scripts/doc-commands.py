#!/usr/bin/env python3
"""Run the lab commands of a page (its ```sh blocks, in order) on the running lab, and log what each
printed: how the walkthrough (docs/assignment.md) is checked against a real lab before a release.

  scripts/doc-commands.py                        # docs/assignment.md on the default lab
  LAB_PREFIX=viz-lab LAB_NET=10.213.61 LAB_HTTP_PORT=8182 scripts/doc-commands.py docs/assignment.md
  scripts/doc-commands.py --step 4.4 --step 4.5  # only the commands of these steps

The page is written for the default lab (containers webstack-lab-*, 127.0.0.1:8080, the network
10.213.48.0/24); a lab with other settings gets the commands rewritten to its LAB_PREFIX, LAB_NET and
LAB_HTTP_PORT. Each command runs in bash from the repository's directory; its output and exit status
go to .cache/doc-commands/<page>.log and, shortened, to the terminal. Some commands show a failure on
purpose (a connection refused by a stopped app): the log shows each status, for a reader to judge.
Commands in ```console blocks are typed by hand on a VM and are not run.
"""

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"^```sh\n(.*?)^```$", re.M | re.S)
HEADING = re.compile(r"^#+ (.*)$", re.M)


def commands(page):
    """(heading, command) of every line of every sh block, in the page's order."""
    text = page.read_text(encoding="utf-8")
    found = []
    for block in BLOCK.finditer(text):
        headings = HEADING.findall(text[:block.start()])
        found += [(headings[-1] if headings else "", line) for line in block.group(1).splitlines() if line.strip()]
    return found


def for_this_lab(command, env):
    """The command as the lab of these settings needs it."""
    command = command.replace("webstack-lab-", f"{env.get('LAB_PREFIX', 'webstack-lab')}-")
    command = command.replace("10.213.48.", f"{env.get('LAB_NET', '10.213.48')}.")
    return re.sub(r":8080\b", f":{env.get('LAB_HTTP_PORT', '8080')}", command)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("page", nargs="?", type=Path, default=REPO_ROOT / "docs" / "assignment.md")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds one command may take")
    parser.add_argument("--lines", type=int, default=12, help="lines of each output shown on the terminal")
    parser.add_argument("--step", action="append", default=[], help="only the commands under the heading of this number")
    args = parser.parse_args()
    logs = REPO_ROOT / ".cache" / "doc-commands"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{args.page.stem}{'-' + '-'.join(args.step) if args.step else ''}.log"
    statuses = []
    with log_path.open("w", encoding="utf-8") as log:
        for heading, command in commands(args.page):
            if args.step and heading.split(" ")[0].rstrip(".") not in args.step:
                continue
            run = for_this_lab(command, os.environ)
            started = time.monotonic()
            try:
                result = subprocess.run(["bash", "-c", run], cwd=REPO_ROOT, capture_output=True, text=True,
                                        timeout=args.timeout, check=False, stdin=subprocess.DEVNULL)
                status, output = result.returncode, result.stdout + result.stderr
            except subprocess.TimeoutExpired as expired:
                status, output = "timeout", f"{expired.stdout or ''}{expired.stderr or ''}"
            took = time.monotonic() - started
            statuses.append((heading, run, status))
            log.write(f"## {heading}\n$ {run}\n{output}[exit {status}, {took:.1f} s]\n\n")
            log.flush()
            lines = output.rstrip("\n").splitlines()
            shown = lines[: args.lines] + ([f"... ({len(lines) - args.lines} more lines in {log_path})"] if len(lines) > args.lines else [])
            print(f"$ {run}\n" + "".join(f"  {line}\n" for line in shown) + f"  [exit {status}, {took:.1f} s]", flush=True)
    print(f"\n{len(statuses)} commands; the whole output: {log_path}")
    for heading, run, status in statuses:
        if status != 0:
            print(f"  exit {status}: {run}   ({heading})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
