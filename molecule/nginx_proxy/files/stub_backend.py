#!/usr/bin/env python3
"""Stub app server of the nginx_proxy scenario: usage stub_backend.py NAME PORT [POST_LOG].

It behaves like a Node.js app behind the proxy:
- GET answers 200 with an HTML page that names this server and lists the request headers it got;
- GET /status/<code> answers with that status (an app's own 4xx or 5xx);
- GET of a path ending in /slow/<seconds> answers after that many seconds;
- GET /static/<name>.js or .css answers the file, as a build's asset, naming this server and sent with
  Cache-Control: no-cache (what the proxy must override for hashed names); a name containing
  "missing" answers the HTML page instead, as a single-page app's fallback for a file it lacks, and
  one containing "large" adds about 8 KB of script (worth compressing);
- POST answers 200 and appends the request's X-Request-Id to POST_LOG, so tests can count on which
  servers a POST was executed;
- an idle keepalive connection is closed after 5 s, as Node.js does.
"""

import html
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME, PORT = sys.argv[1], int(sys.argv[2])
POST_LOG = sys.argv[3] if len(sys.argv) > 3 else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keepalive, as nginx's upstream keepalive expects
    timeout = 5  # Node.js's keepAliveTimeout
    disable_nagle_algorithm = True  # headers and body leave at once, as from Node.js

    def _answer(self, status, text):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        # Head and body in one write, as Node.js sends a small answer: a process stopped mid-answer
        # (a hung app server) leaves a half answer nobody can retry, which is not what is tested here.
        self._headers_buffer.append(b"\r\n" + body)
        self.flush_headers()

    def do_GET(self):  # noqa: N802 (name required by BaseHTTPRequestHandler)
        if self.path.startswith("/status/"):
            status = int(self.path.split("/")[2])
            self._answer(status, f"<h1>backend {NAME}</h1><p>status {status} from the app</p>\n")
            return
        if self.path.startswith("/static/") and self.path.endswith((".js", ".css")) and "missing" not in self.path:
            body = f"/* backend {NAME} {self.path} */\n".encode()
            if "large" in self.path:
                body += b"".join(b"function f%d(a,b){return a*%d+b}\n" % (i, i) for i in range(300))
            kind = "application/javascript" if self.path.endswith(".js") else "text/css"
            self.send_response(200)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-cache")
            self._headers_buffer.append(b"\r\n" + body)
            self.flush_headers()
            return
        if "/slow/" in self.path:
            time.sleep(float(self.path.rsplit("/", 1)[1]))
        headers = "".join(f"{key}: {value}\n" for key, value in self.headers.items())
        self._answer(200, (
            f"<!DOCTYPE html>\n<html><head><title>backend {NAME}</title></head><body>\n"
            f"<h1>backend {NAME}</h1>\n<pre>\n{html.escape(headers)}</pre>\n"
            f"<p>{'lorem ipsum ' * 40}</p>\n</body></html>\n"
        ))

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if POST_LOG:
            with open(POST_LOG, "a", encoding="utf-8") as log:
                log.write(f"{self.headers.get('X-Request-Id', '-')}\n")
        self._answer(200, f"<h1>backend {NAME}</h1><p>posted</p>\n")

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
