"""Steady load through the proxy, every request counted: a small, dependency-free load generator.

  python3 webstack-load.py --url http://127.0.0.1/ --host shop.lab --seconds 10 --clients 4
  python3 webstack-load.py --url https://127.0.0.1/ --host shop.lab --insecure --requests 3 --clients 1
  python3 webstack-load.py --url http://127.0.0.1/ --host shop.lab --seconds 60 --assets --pause 0.02
  python3 webstack-load.py --url http://127.0.0.1/ --host shop.lab --seconds 10 --record run.tsv.gz

Each client keeps one HTTP/1.1 connection open (as a browser does) and sends GET requests one after
the other for the given time (or until SIGTERM); a failed connection is opened again, and a request
that a reused connection lost before any answer is sent once more, as browsers do. With --assets a
client behaves like a browser loading a single-page app: after each page it fetches the assets the
page names (/static/...), so an asset the page names but no server has any more counts as failed:
a 404, or the page itself in its place (a single-page app's fallback answers unknown paths with
index.html and 200; a browser refuses that HTML as a script or a style sheet), counted as the
status "200 text/html". It prints one JSON object: the number of requests, the statuses, the
failures (any answer other than 200, and transport errors), which upstream server answered (the
X-Upstream header, when the proxy sends it), which proxy answered (X-Proxy), the latency
percentiles in milliseconds, the longest time without an answered request (the gap a user sees
while a floating address moves to another proxy) and the time from the first failed request to the
end of the last one; with --assets, the same for the assets.

With --record FILE, every request is also written to FILE as it ends (gzip-compressed text, so a
minute of load at thousands of requests a second stays a few megabytes, and memory stays bounded:
the report above is tallied as the requests end, without keeping them). Its first line is a JSON
object: {"format": "webstack-load-record", "version": 1, "started": <Unix time of the start>, "url",
"host", "clients", "assets"}. Every other line is one request, its fields separated by tabs:

  start     milliseconds from "started" to the moment the request was sent (monotonic clock)
  latency   milliseconds until its answer, or its failure
  kind      p (a page) or a (an asset the page names)
  outcome   the status ("200", "503", "200 text/html"), or the transport error (ConnectionRefusedError)
  upstream  the app server that answered (X-Upstream), "-" when none is named
  proxy     the proxy that answered (X-Proxy), "-" when none is named
  retried   1 when the request was sent again after a keep-alive connection closed under it, else 0

playbooks/files/webstack-report.py draws a run's records as a timeline.
"""

import argparse
import gzip
import http.client
import json
import math
import re
import signal
import socket
import ssl
import threading
import time
import urllib.parse

# SIGTERM or SIGINT ends the load early; the report covers what was sent until then.
STOP = threading.Event()
# Assets a page names, as Create React App writes them into index.html.
_ASSET = re.compile(r'(?:src|href)="(/static/[^"?#]+)"')
# Closed by the server before it answered: on a connection that already carried a request, this is
# the keepalive race every HTTP client meets (nginx closes idle connections when it reloads), and
# browsers send the request again on a new connection (RFC 9112, 9.3.1). So do we, and count it.
_CLOSED_BEFORE_ANSWER = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class Client:
    def __init__(self, args):
        self.args = args
        self.url = urllib.parse.urlsplit(args.url)
        self.connection = None
        self.reused = False

    def _connect(self):
        args, url = self.args, self.url
        if url.scheme == "https":
            context = ssl.create_default_context()
            if args.insecure:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            # The TLS server name is the site's (as a browser sends it), the TCP connection goes to the
            # URL's address: a proxy refuses handshakes for names it does not serve.
            connection = http.client.HTTPSConnection(args.host, url.port or 443, timeout=args.timeout, context=context)
            address = url.hostname
            connection._create_connection = (  # noqa: SLF001 (http.client's hook for the socket)
                lambda target, timeout, source: socket.create_connection((address, target[1]), timeout, source))
            return connection
        return http.client.HTTPConnection(url.hostname, url.port or 80, timeout=args.timeout)

    def get(self, path, asset=False):
        """(outcome, upstream, milliseconds, retried, body, proxy, started, ended) of one GET; started and
        ended on the monotonic clock."""
        started, retried = time.monotonic(), False
        while True:
            if self.connection is None:
                self.connection, self.reused = self._connect(), False
            try:
                self.connection.request("GET", path, headers={"Host": self.args.host, "User-Agent": "webstack-load"})
                response = self.connection.getresponse()
                body = response.read()
                self.reused = True
                if response.getheader("Connection", "").lower() == "close":
                    self._drop()
                upstream = (response.getheader("X-Upstream") or "-").split(", ")[-1]
                proxy = response.getheader("X-Proxy") or "-"
                outcome = str(response.status)
                if asset and outcome == "200" and response.getheader("Content-Type", "").startswith("text/html"):
                    outcome = "200 text/html"
                ended = time.monotonic()
                return outcome, upstream, (ended - started) * 1000, retried, body, proxy, started, ended
            except Exception as error:  # noqa: BLE001 (every transport error is a failed request)
                reused = self.reused
                self._drop()
                if reused and not retried and isinstance(error, _CLOSED_BEFORE_ANSWER):
                    retried = True
                    continue
                ended = time.monotonic()
                return type(error).__name__, "-", (ended - started) * 1000, retried, b"", "-", started, ended

    def _drop(self):
        if self.connection is not None:
            self.connection.close()
        self.connection, self.reused = None, False


class Tally:
    """The report of one kind of request (pages, or assets), tallied as requests end: counts, and
    latencies rounded to the precision the report shows (0.1 ms below 1 s, 1 ms below 10 s, three
    digits above), so memory does not grow with the number of requests."""

    def __init__(self):
        self.requests = 0
        self.statuses, self.upstreams, self.proxies = {}, {}, {}
        self.retried = 0
        self.latencies = {}
        self.max_ms = 0.0
        self.over_1s = 0
        self.last_answer = None
        self.longest_gap = 0.0
        self.failed_from = self.failed_until = None

    def add(self, outcome, upstream, elapsed, retried, proxy, started, ended):
        self.requests += 1
        self.statuses[outcome] = self.statuses.get(outcome, 0) + 1
        self.retried += bool(retried)
        key = round(elapsed, 1) if elapsed < 1000 else round(elapsed) if elapsed < 10000 else float(f"{elapsed:.3g}")
        self.latencies[key] = self.latencies.get(key, 0) + 1
        self.max_ms = max(self.max_ms, elapsed)
        # Requests that waited for a timeout somewhere (a hung server): a count, whatever the request rate.
        self.over_1s += elapsed > 1000
        if outcome == "200":
            self.upstreams[upstream] = self.upstreams.get(upstream, 0) + 1
            self.proxies[proxy] = self.proxies.get(proxy, 0) + 1
            # Answers end in about the order they are tallied (under one lock): the longest stretch
            # between one answer and the next, over every client.
            if self.last_answer is not None and ended > self.last_answer:
                self.longest_gap = max(self.longest_gap, ended - self.last_answer)
            if self.last_answer is None or ended > self.last_answer:
                self.last_answer = ended
        else:
            self.failed_from = started if self.failed_from is None else min(self.failed_from, started)
            self.failed_until = ended if self.failed_until is None else max(self.failed_until, ended)

    def percentile(self, fraction):
        """Nearest-rank percentile of the rounded latencies."""
        rank, seen = max(1, math.ceil(fraction * self.requests)), 0
        for latency in sorted(self.latencies):
            seen += self.latencies[latency]
            if seen >= rank:
                return latency
        return 0.0

    def summary(self):
        ok = self.statuses.get("200", 0)
        return {
            "requests": self.requests,
            "ok": ok,
            "failed": self.requests - ok,
            "statuses": self.statuses,
            "upstreams": self.upstreams,
            "retried_after_keepalive_close": self.retried,
            "p50_ms": round(self.percentile(0.50), 1),
            "p99_ms": round(self.percentile(0.99), 1),
            "max_ms": round(self.max_ms, 1),
            "over_1s": self.over_1s,
            "proxies": self.proxies,
            # The time without service while a floating address moves, and whether failures stayed inside it.
            "longest_gap_ms": round(self.longest_gap * 1000, 1),
            "failed_window_ms": round((self.failed_until - self.failed_from) * 1000, 1) if self.failed_from is not None else 0.0,
        }


class Run:
    """What every client reports to: the tallies, and the record file when there is one."""

    def __init__(self, record=None):
        self.tallies = {"page": Tally(), "asset": Tally()}
        self.lock = threading.Lock()
        self.record = record
        self.started = time.monotonic()
        self.started_unix = time.time()

    def add(self, kind, outcome, upstream, elapsed, retried, proxy, started, ended):
        with self.lock:
            self.tallies[kind].add(outcome, upstream, elapsed, retried, proxy, started, ended)
            if self.record is not None:
                self.record.write(f"{(started - self.started) * 1000:.1f}\t{elapsed:.1f}\t{kind[0]}\t{outcome}\t"
                                  f"{upstream}\t{proxy}\t{int(retried)}\n")


def run_client(args, deadline, run):
    client = Client(args)
    path = client.url.path or "/"
    if client.url.query:
        path += "?" + client.url.query
    while time.monotonic() < deadline and not STOP.is_set() and not (args.requests and run.tallies["page"].requests >= args.requests):
        outcome, upstream, elapsed, retried, body, proxy, *when = client.get(path)
        run.add("page", outcome, upstream, elapsed, retried, proxy, *when)
        if args.assets and outcome == "200":
            for asset in dict.fromkeys(_ASSET.findall(body.decode("utf-8", "replace"))):
                outcome, upstream, elapsed, retried, _body, proxy, *when = client.get(asset, asset=True)
                run.add("asset", outcome, upstream, elapsed, retried, proxy, *when)
        if args.pause:
            STOP.wait(args.pause)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--host", required=True, help="the Host header (the site's domain)")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=0, help="stop after about this many pages (0: no limit)")
    parser.add_argument("--assets", action="store_true", help="fetch the /static/ assets each page names")
    parser.add_argument("--pause", type=float, default=0, help="seconds each client waits between pages (steady, not maximal, load)")
    parser.add_argument("--timeout", type=float, default=10, help="seconds a client waits for an answer")
    parser.add_argument("--insecure", action="store_true", help="do not check the TLS certificate")
    parser.add_argument("--record", metavar="FILE", help="write every request to FILE (gzip-compressed lines, see above)")
    args = parser.parse_args()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: STOP.set())
    # Level 6: most of gzip's saving on these repetitive lines for a fraction of level 9's time.
    record = gzip.open(args.record, "wt", encoding="utf-8", compresslevel=6) if args.record else None
    run = Run(record)
    if record is not None:
        header = {"format": "webstack-load-record", "version": 1, "started": round(run.started_unix, 4), "url": args.url,
                  "host": args.host, "clients": args.clients, "assets": args.assets}
        record.write(json.dumps(header, sort_keys=True) + "\n")
    deadline = time.monotonic() + args.seconds
    threads = [threading.Thread(target=run_client, args=(args, deadline, run)) for _client in range(args.clients)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        for thread in threads:
            thread.join(0.2)
    if record is not None:
        record.close()

    report = run.tallies["page"].summary()
    if args.assets:
        report["assets"] = run.tallies["asset"].summary()
    print(json.dumps(report, sort_keys=True))


if __name__ == "__main__":
    main()
