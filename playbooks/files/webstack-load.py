"""Steady load through the proxy, every request counted: a small, dependency-free load generator.

  python3 webstack-load.py --url http://127.0.0.1/ --host shop.lab --seconds 10 --clients 4
  python3 webstack-load.py --url https://127.0.0.1/ --host shop.lab --insecure --requests 3 --clients 1
  python3 webstack-load.py --url http://127.0.0.1/ --host shop.lab --seconds 60 --assets --pause 0.02

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
"""

import argparse
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


def run_client(args, deadline, results, lock):
    client = Client(args)
    path = client.url.path or "/"
    if client.url.query:
        path += "?" + client.url.query
    while time.monotonic() < deadline and not STOP.is_set() and not (args.requests and len(results["page"]) >= args.requests):
        outcome, upstream, elapsed, retried, body, *when = client.get(path)
        with lock:
            results["page"].append((outcome, upstream, elapsed, retried, *when))
        if args.assets and outcome == "200":
            for asset in dict.fromkeys(_ASSET.findall(body.decode("utf-8", "replace"))):
                outcome, upstream, elapsed, retried, _body, *when = client.get(asset, asset=True)
                with lock:
                    results["asset"].append((outcome, upstream, elapsed, retried, *when))
        if args.pause:
            STOP.wait(args.pause)


def percentile(sorted_values, fraction):
    """Nearest-rank percentile."""
    if not sorted_values:
        return 0.0
    return sorted_values[max(0, math.ceil(fraction * len(sorted_values)) - 1)]


def longest_gap(answer_times):
    """Milliseconds of the longest stretch between two consecutive answers, over every client."""
    times = sorted(answer_times)
    return max((later - earlier for earlier, later in zip(times, times[1:])), default=0.0) * 1000


def summary(results):
    statuses, upstreams, proxies = {}, {}, {}
    for outcome, upstream, _elapsed, _retried, proxy, _started, _ended in results:
        statuses[outcome] = statuses.get(outcome, 0) + 1
        if outcome == "200":
            upstreams[upstream] = upstreams.get(upstream, 0) + 1
            proxies[proxy] = proxies.get(proxy, 0) + 1
    latencies = sorted(result[2] for result in results)
    failures = [result[5:7] for result in results if result[0] != "200"]
    return {
        "requests": len(results),
        "ok": statuses.get("200", 0),
        "failed": len(results) - statuses.get("200", 0),
        "statuses": statuses,
        "upstreams": upstreams,
        "retried_after_keepalive_close": sum(1 for result in results if result[3]),
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "max_ms": round(latencies[-1], 1) if latencies else 0.0,
        # Requests that waited for a timeout somewhere (a hung server): a count, whatever the request rate.
        "over_1s": sum(1 for latency in latencies if latency > 1000),
        "proxies": proxies,
        # The time without service while a floating address moves, and whether failures stayed inside it.
        "longest_gap_ms": round(longest_gap(result[6] for result in results if result[0] == "200"), 1),
        "failed_window_ms": round((max(end for _start, end in failures) - min(start for start, _end in failures)) * 1000, 1)
        if failures else 0.0,
    }


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
    args = parser.parse_args()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: STOP.set())
    results, lock = {"page": [], "asset": []}, threading.Lock()
    deadline = time.monotonic() + args.seconds
    threads = [threading.Thread(target=run_client, args=(args, deadline, results, lock)) for _client in range(args.clients)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        for thread in threads:
            thread.join(0.2)

    report = summary(results["page"])
    if args.assets:
        report["assets"] = summary(results["asset"])
    print(json.dumps(report, sort_keys=True))


if __name__ == "__main__":
    main()
