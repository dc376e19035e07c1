#!/usr/bin/env python3
"""Open a page in headless Chromium and look at it: what it drew, what it logged, what it asked the
network for, and a screenshot. It speaks the DevTools protocol over a pipe (Chromium's
--remote-debugging-pipe), with Python's standard library only: no driver, no WebSocket client.

  scripts/headless.py screenshot .cache/reports/failover-X.html docs/images/failover-report.png
  scripts/headless.py screenshot REPORT.html OUT.png --dark --selector '#section-1' --width 1100

The report tests (tests/test_report_browser.py) use the same Browser class. The browser comes from
scripts/chromium.sh (`make chromium`); CHROMIUM=<path> picks another one.
"""

import argparse
import base64
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def find_chromium():
    """The browser scripts/chromium.sh finds (it installs Debian's chromium when there is none and it can)."""
    result = subprocess.run([str(REPO_ROOT / "scripts" / "chromium.sh")], capture_output=True, text=True, check=False)
    path = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    if result.returncode != 0 or not path:
        raise RuntimeError(f"no headless Chromium: {result.stderr.strip()} (run `make chromium`)")
    return path


class Page:
    """A tab: the protocol session of one target, and what it reported since it was opened."""

    def __init__(self, browser, session):
        self.browser = browser
        self.session = session
        self.console = []  # (level, text) of console calls, exceptions and log entries
        self.requests = []  # every URL the page asked for

    def send(self, method, **params):
        return self.browser.send(method, session=self.session, **params)

    def evaluate(self, expression):
        """The value of a JavaScript expression in the page (JSON-serialisable values)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path, selector=None, scale=1):
        """A PNG of the whole page, or of the element the CSS selector names."""
        if selector:
            box = self.evaluate(f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();"
                                " return {x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height}; })()")
        else:
            box = self.evaluate("({x: 0, y: 0, width: document.documentElement.scrollWidth,"
                                " height: document.documentElement.scrollHeight})")
        clip = {**{key: round(value) for key, value in box.items()}, "scale": scale}
        data = self.send("Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True)["data"]
        Path(path).write_bytes(base64.b64decode(data))
        return Path(path)


class Browser:
    """Headless Chromium driven over --remote-debugging-pipe (JSON messages ended by a NUL byte; the
    browser reads them on its fd 3 and writes on its fd 4)."""

    def __init__(self, executable=None, width=1200, height=900, timeout=30):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="headless-chromium.")
        low_r, self._to_browser = os.pipe()
        self._from_browser, low_w = os.pipe()
        # The browser's ends, moved above the low numbers first, so that putting them on 3 and 4 in the
        # child cannot overwrite one with the other.
        to_browser_r, from_browser_w = (fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in (low_r, low_w))
        os.close(low_r)
        os.close(low_w)
        args = [executable or os.environ.get("CHROMIUM") or find_chromium(), "--headless=new", "--remote-debugging-pipe",
                f"--user-data-dir={self.profile}", f"--window-size={width},{height}", "--no-first-run",
                "--no-default-browser-check", "--disable-gpu", "--disable-extensions", "--disable-sync",
                "--disable-background-networking", "--disable-component-update", "--hide-scrollbars",
                "--force-color-profile=srgb", "--font-render-hinting=none", "about:blank"]
        # Chromium's sandbox cannot start as root, nor in most CI containers; the browser only opens
        # files this checkout wrote.
        if os.geteuid() == 0 or os.environ.get("CI"):
            args.insert(1, "--no-sandbox")
        self.process = subprocess.Popen(args, pass_fds=(3, 4), stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        preexec_fn=lambda: (os.dup2(to_browser_r, 3), os.dup2(from_browser_w, 4)))
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next_id = 0
        self._replies = {}
        self._events = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._pages = {}

    def _read(self):
        buffer = b""
        while True:
            chunk = os.read(self._from_browser, 65536)
            if not chunk:
                with self._cond:
                    self._cond.notify_all()
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                with self._cond:
                    if "id" in message:
                        self._replies[message["id"]] = message
                    else:
                        self._on_event(message)
                    self._cond.notify_all()

    def _on_event(self, message):
        page = self._pages.get(message.get("sessionId"))
        method, params = message.get("method"), message.get("params", {})
        self._events.append(message)
        if page is None:
            return
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", []))
            page.console.append((params.get("type"), text))
        elif method == "Runtime.exceptionThrown":
            page.console.append(("exception", json.dumps(params.get("exceptionDetails", {}))))
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            page.console.append((entry.get("level"), entry.get("text", "")))
        elif method == "Network.requestWillBeSent":
            page.requests.append(params["request"]["url"])

    def send(self, method, session=None, **params):
        with self._cond:
            self._next_id += 1
            message_id = self._next_id
        message = {"id": message_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        with self._cond:
            while message_id not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise RuntimeError(f"Chromium did not answer {method} (exit status {self.process.poll()})")
                self._cond.wait(left)
            reply = self._replies.pop(message_id)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def wait_event(self, method, session, since=0):
        """Wait for an event of the session, among those after the first `since` ones."""
        deadline = time.monotonic() + self.timeout
        with self._cond:
            while True:
                for event in self._events[since:]:
                    if event.get("method") == method and event.get("sessionId") == session:
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"no {method} within {self.timeout} s")
                self._cond.wait(left)

    def open(self, url, dark=False, width=1200, height=900):
        """A new tab showing url once loaded, in the light or the dark colour scheme."""
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        page = Page(self, session)
        self._pages[session] = page
        for domain in ("Page", "Runtime", "Log", "Network"):
            page.send(f"{domain}.enable")
        page.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        page.send("Emulation.setEmulatedMedia", features=[{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}])
        with self._cond:
            since = len(self._events)
        page.send("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired", session, since)
        return page

    def close(self):
        try:
            self.send("Browser.close")
        except RuntimeError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    shot = sub.add_parser("screenshot", help="a PNG of a local HTML file (the whole page, or one element)")
    shot.add_argument("page", type=Path)
    shot.add_argument("png", type=Path)
    shot.add_argument("--selector", help="CSS selector of the element to capture")
    shot.add_argument("--dark", action="store_true", help="the dark colour scheme")
    shot.add_argument("--width", type=int, default=1200)
    args = parser.parse_args()
    with Browser(width=args.width) as browser:
        page = browser.open(args.page.resolve().as_uri(), dark=args.dark, width=args.width)
        page.screenshot(args.png, selector=args.selector)
        problems = [entry for entry in page.console if entry[0] in ("error", "exception", "warning")]
    for level, text in problems:
        print(f"{level}: {text}", file=sys.stderr)
    print(args.png)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
