#!/usr/bin/env python3
"""Stub app server of the nginx_proxy scenario: usage stub_backend.py NAME PORT.

Every GET is answered with 200 and an HTML page that names this server and lists the request
headers it received, so tests can see which backend answered and what the proxy sent.
"""

import html
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME, PORT = sys.argv[1], int(sys.argv[2])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keepalive, as nginx's upstream keepalive expects

    def do_GET(self):  # noqa: N802 (name required by BaseHTTPRequestHandler)
        headers = "".join(f"{key}: {value}\n" for key, value in self.headers.items())
        body = (
            f"<!DOCTYPE html>\n<html><head><title>backend {NAME}</title></head><body>\n"
            f"<h1>backend {NAME}</h1>\n<pre>\n{html.escape(headers)}</pre>\n"
            f"<p>{'lorem ipsum ' * 40}</p>\n</body></html>\n"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
