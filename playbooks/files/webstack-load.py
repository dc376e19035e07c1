#!/usr/bin/env python3
"""Steady load through the proxy, every request counted: a small, dependency-free load generator.

  webstack-load.py --url http://127.0.0.1/ --host shop.lab --seconds 10 --clients 4
  webstack-load.py --url https://127.0.0.1/ --host shop.lab --insecure --requests 3 --clients 1

Each client keeps one HTTP/1.1 connection open (as a browser does) and sends GET requests one after
the other for the given time; a failed connection is opened again, and a request that a reused
connection lost before any answer is sent once more, as browsers do. It prints one JSON object: the
number of requests, the statuses, the failures (any answer other than 200, and transport errors),
which upstream server answered (the X-Upstream header, when the proxy sends it) and the latency
percentiles in milliseconds.
"""

import argparse
import http.client
import json
import math
import socket
import ssl
import threading
import time
import urllib.parse


def connect(args, url):
    if url.scheme == "https":
        context = ssl.create_default_context()
        if args.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        # The TLS server name is the site's (as a browser sends it), the TCP connection goes to the URL's
        # address: a proxy refuses handshakes for names it does not serve.
        connection = http.client.HTTPSConnection(args.host, url.port or 443, timeout=args.timeout, context=context)
        address = url.hostname
        connection._create_connection = (  # noqa: SLF001 (http.client's documented hook for the socket)
            lambda target, timeout, source: socket.create_connection((address, target[1]), timeout, source))
        return connection
    return http.client.HTTPConnection(url.hostname, url.port or 80, timeout=args.timeout)


# Closed by the server before it answered: on a connection that already carried a request, this is
# the keepalive race every HTTP client meets (nginx closes idle connections when it reloads), and
# browsers send the request again on a new connection (RFC 9112, 9.3.1). So do we, and count it.
_CLOSED_BEFORE_ANSWER = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def client(args, deadline, results, lock):
    url = urllib.parse.urlsplit(args.url)
    path = url.path or "/"
    if url.query:
        path += "?" + url.query
    connection, reused = None, False
    while time.monotonic() < deadline and not (args.requests and len(results) >= args.requests):
        started = time.monotonic()
        retried = False
        while True:
            if connection is None:
                connection, reused = connect(args, url), False
            try:
                connection.request("GET", path, headers={"Host": args.host, "User-Agent": "webstack-load"})
                response = connection.getresponse()
                response.read()
                outcome = str(response.status)
                upstream = (response.getheader("X-Upstream") or "-").split(", ")[-1]
                reused = True
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
                    connection = None
            except Exception as error:  # noqa: BLE001 (every transport error is a failed request)
                connection.close()
                connection = None
                if reused and not retried and isinstance(error, _CLOSED_BEFORE_ANSWER):
                    retried = True
                    continue
                outcome, upstream = type(error).__name__, "-"
            break
        elapsed = (time.monotonic() - started) * 1000
        with lock:
            results.append((outcome, upstream, elapsed, retried))


def percentile(sorted_values, fraction):
    """Nearest-rank percentile."""
    if not sorted_values:
        return 0.0
    return sorted_values[max(0, math.ceil(fraction * len(sorted_values)) - 1)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--host", required=True, help="the Host header (the site's domain)")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=0, help="stop after about this many requests (0: no limit)")
    parser.add_argument("--timeout", type=float, default=10, help="seconds a client waits for an answer")
    parser.add_argument("--insecure", action="store_true", help="do not check the TLS certificate")
    args = parser.parse_args()

    results, lock = [], threading.Lock()
    deadline = time.monotonic() + args.seconds
    threads = [threading.Thread(target=client, args=(args, deadline, results, lock)) for _ in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses, upstreams = {}, {}
    for outcome, upstream, _, _ in results:
        statuses[outcome] = statuses.get(outcome, 0) + 1
        if outcome == "200":
            upstreams[upstream] = upstreams.get(upstream, 0) + 1
    latencies = sorted(elapsed for _, _, elapsed, _ in results)
    print(json.dumps({
        "requests": len(results),
        "ok": statuses.get("200", 0),
        "failed": len(results) - statuses.get("200", 0),
        "statuses": statuses,
        "upstreams": upstreams,
        "retried_after_keepalive_close": sum(1 for *_, retried in results if retried),
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "max_ms": round(latencies[-1], 1) if latencies else 0.0,
    }, sort_keys=True))


if __name__ == "__main__":
    main()
