"""bench/pages.py's load of users who pause between clicks, against a real local server."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.pages import pausing_users


class Handler(BaseHTTPRequestHandler):
    """200 for /ok (with the Cookie header it was sent echoed), 404 for anything else."""

    seen_cookies: list[str] = []

    def do_GET(self):
        Handler.seen_cookies.append(self.headers.get("Cookie", ""))
        body = b"ok"
        self.send_response(200 if self.path == "/ok" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server_port():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_pausing_users_measure_each_request_and_send_the_headers(server_port):
    Handler.seen_cookies.clear()
    figures = pausing_users(server_port, "/ok", {"Cookie": "session=abc"}, 4, 1, 100)
    # Four users pausing 50-150 ms over one second: some 20-40 requests, none failed.
    assert 12 <= figures["requests"] <= 60
    assert figures["errors"] == 0
    assert 0 < figures["p50"] <= figures["p95"] <= figures["p99"]
    assert figures["rps"] == pytest.approx(figures["requests"] / figures["seconds"])
    assert set(Handler.seen_cookies) == {"session=abc"}


def test_pausing_users_count_error_statuses(server_port):
    figures = pausing_users(server_port, "/missing", {}, 2, 1, 100)
    assert figures["requests"] > 0
    assert figures["errors"] == figures["requests"]
