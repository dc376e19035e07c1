"""scripts/lab-forwarder.py, the two-proxy lab's relay from 127.0.0.1 to the floating address, on
loopback: it relays requests both ways, and a client sees a connection the target refuses closed."""

import http.client
import http.server
import socket
import subprocess
import sys
import threading
import time

from helpers import REPO_ROOT, wait_until

FORWARDER = REPO_ROOT / "scripts" / "lab-forwarder.py"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_requests_are_relayed_and_a_refused_target_closes_the_client_connection():
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 (the name http.server calls)
            body = f"host {self.headers['Host']}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    listen, refused = free_port(), free_port()
    forwarder = subprocess.Popen([sys.executable, str(FORWARDER), f"{listen}=127.0.0.1:{server.server_port}",
                                  f"{refused}=127.0.0.1:{free_port()}"], stdout=subprocess.DEVNULL)
    try:
        wait_until(lambda: _listening(listen), timeout=10)
        connection = http.client.HTTPConnection("127.0.0.1", listen, timeout=5)
        for _ in range(3):  # one kept-alive connection, as a browser uses it
            connection.request("GET", "/", headers={"Host": "dumbflix.lab"})
            response = connection.getresponse()
            assert (response.status, response.read()) == (200, b"host dumbflix.lab")
        connection.close()
        with socket.create_connection(("127.0.0.1", refused), timeout=5) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            started = time.monotonic()
            assert client.recv(100) == b""
            assert time.monotonic() - started < 5
    finally:
        forwarder.terminate()
        forwarder.wait(timeout=10)
        server.shutdown()


def _listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False
