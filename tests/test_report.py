"""playbooks/files/webstack-report.py, the page of a run of the load (make failover, make deploy-demo),
without a browser: the chart's figures agree with the table, the marks come from the journals, a
minute of load at full speed makes a page of a few hundred kilobytes, bad input is refused.

The stored run (tests/fixtures/report/failover-lab/) is a real `make failover` on the lab, 2 clients
with 0.1 s between requests, 6 s per state; tests/test_report_browser.py opens its page in Chromium."""

import gzip
import html.parser
import http.server
import importlib.util
import json
import random
import shutil
import subprocess
import sys
import threading

import pytest

from helpers import FIXTURES, REPO_ROOT

WRITER = REPO_ROOT / "playbooks" / "files" / "webstack-report.py"
LOAD_SCRIPT = REPO_ROOT / "playbooks" / "files" / "webstack-load.py"
STORED_RUN = FIXTURES / "report" / "failover-lab"

spec = importlib.util.spec_from_file_location("webstack_report", WRITER)
report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(report)


class Elements(html.parser.HTMLParser):
    """Every start tag of a page with its attributes, and the text of the page."""

    def __init__(self, text):
        super().__init__()
        self.tags, self.text = [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def having(self, tag, **attrs):
        return [a for t, a in self.tags if t == tag and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())]


def render(run_json, tmp_path):
    out = tmp_path / "report.html"
    result = subprocess.run([sys.executable, str(WRITER), str(run_json), str(out)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    return out


def assert_figures_agree(page, states):
    """The bars, the table of seconds and the table of states count the same requests, state by state."""
    found = Elements(page.read_text())
    for number, state in enumerate(states, start=1):
        summary = state["summary"]
        requests = summary["requests"] + summary.get("assets", {}).get("requests", 0)
        ok = summary["ok"] + summary.get("assets", {}).get("ok", 0)
        rows = found.having("tr", data_state=str(number))
        table = [row for row in rows if "data-requests" in row]
        assert sum(int(row["data-requests"]) for row in table) == requests, state["name"]
        assert sum(int(row["data-ok"]) for row in table) == ok, state["name"]
        seconds = [row for row in rows if "data-second" in row]
        assert sum(int(row["data-total"]) for row in seconds) == requests, state["name"]
        assert sum(int(row["data-failed"]) for row in seconds) == requests - ok, state["name"]
        bars = [rect for rect in found.having("rect", data_state=str(number))]
        assert sum(int(rect["data-count"]) for rect in bars) == requests, state["name"]


def test_the_chart_of_the_stored_lab_run_agrees_with_its_table(tmp_path):
    page = render(STORED_RUN / "run.json", tmp_path)
    states = json.loads((STORED_RUN / "run.json").read_text())["sections"][0]["states"]
    assert len(states) == 9
    assert_figures_agree(page, states)
    found = Elements(page.read_text())
    # One series per app server, and the failed requests (every app server down) in their own.
    assert [g["data-series"] for g in found.having("g") if "data-series" in g] == [
        "webstack-lab-app1", "webstack-lab-app2", "failed"]
    text = " ".join(found.text)
    for label in ("app1: app stopped", "app1: VM switched off", "app2: hung", "app1 out of rotation", "9 all app servers restored"):
        assert label in text, label


def serve_two_app_servers(failing):
    """A site on loopback that names one of two app servers in X-Upstream, in turn; its first
    `failing` answers are 502s from no server, as a proxy with every server down gives."""
    answers = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 (the name http.server calls)
            answers.append(1)
            status = 502 if len(answers) <= failing else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            if status == 200:
                self.send_header("X-Upstream", f"10.0.0.{21 + len(answers) % 2}:3000")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_run_of_the_load_script_is_drawn_with_every_request_it_counted(tmp_path):
    """The record webstack-load.py writes and the report it prints, as the playbook passes them on."""
    states = []
    for number, failing in enumerate((0, 40)):
        server = serve_two_app_servers(failing)
        record = tmp_path / f"app-{number:02d}.tsv.gz"
        try:
            result = subprocess.run(
                [sys.executable, str(LOAD_SCRIPT), "--url", f"http://127.0.0.1:{server.server_port}/", "--host", "shop.test",
                 "--clients", "3", "--seconds", "2.5", "--pause", "0.01", "--record", str(record)],
                capture_output=True, text=True, timeout=60, check=True)
        finally:
            server.shutdown()
        states.append({"name": f"state {number}", "record": record.name, "summary": json.loads(result.stdout)})
    names = {"10.0.0.21:3000": "app1", "10.0.0.22:3000": "app2"}
    run = {"title": "t", "sections": [{"title": "s", "names": names, "series": ["app1", "app2"], "states": states}]}
    (tmp_path / "run.json").write_text(json.dumps(run))
    page = render(tmp_path / "run.json", tmp_path)
    assert states[1]["summary"]["failed"] == 40
    assert_figures_agree(page, states)


def write_record(path, started, rows):
    with gzip.open(path, "wt") as out:
        out.write(json.dumps({"format": "webstack-load-record", "version": 1, "started": started}) + "\n")
        out.writelines(f"{start:.1f}\t{latency:.1f}\tp\t{outcome}\t{upstream}\t-\t0\n" for start, latency, outcome, upstream in rows)


def test_a_minute_of_four_clients_at_full_speed_makes_a_page_under_two_megabytes(tmp_path):
    """4,000 requests a second for 60 s (more than 4 clients get through the lab's proxy), some failed."""
    rng = random.Random(31)
    rows = [(ms / 4, rng.lognormvariate(0.5, 1), "200" if rng.random() > 0.01 else "502", f"10.0.0.{21 + ms % 2}:3000")
            for ms in range(240_000)]
    write_record(tmp_path / "load.tsv.gz", 1_800_000_000.0, rows)
    ok = sum(1 for row in rows if row[2] == "200")
    summary = {"requests": len(rows), "ok": ok, "failed": len(rows) - ok, "statuses": {"200": ok, "502": len(rows) - ok},
               "upstreams": {}, "p50_ms": 1.6, "p99_ms": 16.0, "max_ms": 300.0}
    run = {"title": "a minute", "sections": [{"title": "s", "states": [
        {"name": "deploy", "record": "load.tsv.gz", "summary": summary}]}]}
    (tmp_path / "run.json").write_text(json.dumps(run))
    page = render(tmp_path / "run.json", tmp_path)
    assert page.stat().st_size < 2_000_000, page.stat().st_size
    assert_figures_agree(page, run["sections"][0]["states"])


def journal(source, *messages, host="proxy"):
    lines = [json.dumps({"MESSAGE": text, "__REALTIME_TIMESTAMP": str(int(at * 1e6))}) for at, text in messages]
    return {"source": source, "host": host, "lines": lines}


def test_the_health_checker_and_keepalived_lines_become_marks():
    names = {"10.0.0.21:3000": "app1"}
    health = journal("nginx-proxy-health",
                     (100.0, "10.0.0.21:3000 failed 2 probes of /: out of rotation"),
                     (103.5, "10.0.0.21:3000 answers again (2 good probes): back in rotation"),
                     (110.0, "10.0.0.22:3000 failed 2 probes of /: out of rotation"))
    assert report.journal_marks(health, names) == [
        {"start": 100.0, "end": 103.5, "kind": "out", "label": "app1 out of rotation (health checks)"},
        {"start": 110.0, "end": None, "kind": "out", "label": "10.0.0.22:3000 out of rotation (health checks)"}]
    vrrp = journal("keepalived", (5.0, "(VI_1) Entering BACKUP STATE"), (9.0, "(VI_1) Entering MASTER STATE"), host="proxy2")
    assert report.journal_marks(vrrp, names) == [{"start": 9.0, "end": 9.0, "kind": "vip", "label": "floating address to proxy2"}]


def test_server_names_lose_the_prefix_they_share_in_the_chart():
    assert report.short_names(["webstack-lab-app1", "webstack-lab-app2"]) == {
        "webstack-lab-app1": "app1", "webstack-lab-app2": "app2"}
    assert report.short_names(["app1"]) == {}


def test_a_file_that_is_not_a_record_is_refused_naming_it(tmp_path):
    shutil.copytree(STORED_RUN, tmp_path / "run")
    with gzip.open(tmp_path / "run" / "app-03.tsv.gz", "wt") as out:
        out.write('{"something": "else"}\n')
    result = subprocess.run([sys.executable, str(WRITER), str(tmp_path / "run" / "run.json"), str(tmp_path / "r.html")],
                            capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "app-03.tsv.gz: not a record of webstack-load.py" in result.stderr
    assert not (tmp_path / "r.html").exists()


def test_the_page_asks_for_nothing_outside_itself(tmp_path):
    text = render(STORED_RUN / "run.json", tmp_path).read_text()
    assert "default-src 'none'" in text
    assert not any(word in text for word in ("<script", "<link", "<img", "@import", "url(http", "src="))


def test_a_proxy_named_by_its_host_name_in_x_proxy_is_shown_by_its_inventory_name():
    lines = [json.dumps({"MESSAGE": "(VI_1) Entering MASTER STATE", "__REALTIME_TIMESTAMP": "9000000", "_HOSTNAME": "proxy2"})]
    journals = [{"source": "keepalived", "host": "webstack-lab-proxy2", "lines": lines},
                {"source": "keepalived", "host": "webstack-lab-proxy", "lines": []}]
    assert report.journal_hostnames(journals) == {"proxy2": "webstack-lab-proxy2"}
