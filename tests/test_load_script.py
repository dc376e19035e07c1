"""playbooks/files/webstack-load.py against a small single-page-app server on loopback: it counts
an asset that no longer exists as failed, whether the server answers 404 or falls back to the page
(what PM2's static server does for unknown paths in single-page-app mode); with --record it writes
every request it counted, and its memory does not grow with the number of requests."""

import gzip
import http.server
import importlib.util
import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

LOAD_SCRIPT = Path(__file__).resolve().parents[1] / "playbooks" / "files" / "webstack-load.py"
PAGE = (b'<!doctype html><html><head><script defer src="/static/js/main.kept.js"></script>'
        b'<link href="/static/css/main.gone.css" rel="stylesheet"></head><body></body></html>')


def spa_server(missing_asset_status, page_delay=0.0, failing_pages=0):
    """A single-page app on loopback; its first `failing_pages` pages answer 503, every page after
    `page_delay` seconds, and it names itself in X-Proxy as a proxy would."""
    pages = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 (the name http.server calls)
            if self.path == "/":
                time.sleep(page_delay)
                pages.append(self.path)
            if self.path == "/" and len(pages) <= failing_pages:
                status, kind, body = 503, "text/html", b"busy"
            elif self.path == "/static/js/main.kept.js":
                status, kind, body = 200, "application/javascript", b"document.title += '!';"
            elif self.path.startswith("/static/") and missing_asset_status == 404:
                status, kind, body = 404, "text/html", b"404 Not Found"
            else:
                status, kind, body = 200, "text/html", PAGE
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Proxy", "proxy-a")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run_load(server, *args):
    try:
        result = subprocess.run(
            [sys.executable, str(LOAD_SCRIPT), "--url", f"http://127.0.0.1:{server.server_port}/", "--host", "spa.test",
             "--clients", "1", "--seconds", "20", *args],
            capture_output=True, text=True, timeout=60, check=True)
    finally:
        server.shutdown()
    return json.loads(result.stdout)


def test_answers_slower_than_a_second_are_counted():
    report = run_load(spa_server(404, page_delay=1.1), "--requests", "2")
    assert (report["requests"], report["failed"], report["over_1s"]) == (2, 0, 2), report
    report = run_load(spa_server(404), "--requests", "2")
    assert (report["requests"], report["over_1s"]) == (2, 0), report


def test_the_longest_time_without_an_answer_and_the_window_of_failures_are_measured():
    report = run_load(spa_server(404, page_delay=0.3, failing_pages=3), "--requests", "5")
    assert (report["requests"], report["failed"], report["proxies"]) == (5, 3, {"proxy-a": 2}), report
    # Three failed pages of 0.3 s each, then the first answer: 1.2 s without one is not a gap between
    # answers; between the two answers, 0.3 s.
    assert 250 <= report["longest_gap_ms"] < 1000, report
    assert 850 <= report["failed_window_ms"] < 1500, report
    report = run_load(spa_server(404, page_delay=1.1), "--requests", "2")
    assert 1050 <= report["longest_gap_ms"] < 2500 and report["failed_window_ms"] == 0, report


@pytest.mark.parametrize(("missing_asset_status", "counted_as"), [(404, "404"), (200, "200 text/html")])
def test_an_asset_the_page_names_but_the_server_lacks_counts_as_failed(missing_asset_status, counted_as):
    report = run_load(spa_server(missing_asset_status), "--assets", "--requests", "5")
    assert report["requests"] == 5 and report["failed"] == 0, report
    assert report["assets"]["requests"] == 10, report["assets"]
    assert report["assets"]["statuses"] == {"200": 5, counted_as: 5}, report["assets"]
    assert report["assets"]["failed"] == 5, report["assets"]


def test_the_record_holds_every_request_the_report_counts(tmp_path):
    record = tmp_path / "run.tsv.gz"
    report = run_load(spa_server(404, failing_pages=2), "--assets", "--requests", "6", "--record", str(record))
    with gzip.open(record, "rt") as lines:
        header = json.loads(lines.readline())
        rows = [line.rstrip("\n").split("\t") for line in lines]
    assert header["format"] == "webstack-load-record" and header["version"] == 1 and header["host"] == "spa.test"
    assert abs(header["started"] - time.time()) < 60
    pages = [row for row in rows if row[2] == "p"]
    assets = [row for row in rows if row[2] == "a"]
    assert len(pages) == report["requests"] == 6 and len(assets) == report["assets"]["requests"] == 8, rows
    assert sorted(row[3] for row in pages) == ["200"] * 4 + ["503"] * 2
    assert {row[3] for row in assets} == {"200", "404"} and {row[5] for row in pages} == {"proxy-a"}
    # Times from the start, in milliseconds, in the order the requests ended.
    ends = [float(row[0]) + float(row[1]) for row in rows]
    assert ends == sorted(ends) and 0 <= float(rows[0][0]) < 5000, rows


def test_memory_does_not_grow_with_the_number_of_requests_and_percentiles_stay_exact_to_the_shown_digit():
    spec = importlib.util.spec_from_file_location("webstack_load", LOAD_SCRIPT)
    load = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(load)
    tally, rng, latencies = load.Tally(), random.Random(7), []
    for number in range(300_000):
        latency = rng.lognormvariate(0.3, 1.2) if number % 1000 else rng.uniform(1000, 30000)
        latencies.append(latency)
        tally.add("200", "10.0.0.21:3000", latency, False, "-", number / 5000, number / 5000 + latency / 1000)
    # 0.1 ms steps below 1 s, 1 ms steps below 10 s, three digits above: some 20,000 values at most.
    assert len(tally.latencies) < 20_000, len(tally.latencies)
    exact = sorted(latencies)
    summary = tally.summary()
    for key, fraction in (("p50_ms", 0.5), ("p99_ms", 0.99)):
        assert abs(summary[key] - round(exact[int(fraction * len(exact)) - 1], 1)) <= 0.1, (key, summary[key])
    assert summary["max_ms"] == round(exact[-1], 1) and summary["requests"] == 300_000
