"""bench/pages.py's load of users who pause between clicks, against a real local server."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.pages import pausing_users


class Handler(BaseHTTPRequestHandler):
    """200 for /ok, 404 for anything else, a body cut short for /short; records each request's
    client port and Cookie header."""

    ports: list[int] = []
    cookies: list[str] = []

    def do_GET(self):
        Handler.ports.append(self.client_address[1])
        Handler.cookies.append(self.headers.get("Cookie", ""))
        body = b"ok"
        self.send_response(200 if self.path in ("/ok", "/short") else 404)
        self.send_header("Content-Length", "10" if self.path == "/short" else str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server_port():
    Handler.ports.clear()
    Handler.cookies.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_pausing_users_click_on_new_connections_until_the_time_is_up(server_port):
    figures = pausing_users(server_port, "/ok", {"Cookie": "session=abc"}, 4, 1, 100)
    # Four users pausing 50-150 ms over one second: some 20-40 requests, none failed.
    assert 12 <= figures["requests"] <= 60
    assert figures["errors"] == 0
    assert figures["p50"] > 0
    # A connection of its own for each request (none kept alive through a pause).
    assert len(set(Handler.ports)) == len(Handler.ports) == figures["requests"]
    assert set(Handler.cookies) == {"session=abc"}


def test_pausing_users_start_no_pause_that_ends_past_the_time(server_port):
    # Every pause (1-3 s) would end past the one second: nobody clicks, and nobody waits.
    # Sleeping first and looking at the clock after would take a second at least.
    figures = pausing_users(server_port, "/ok", {}, 3, 1, 2000)
    assert figures["requests"] == 0
    assert figures["seconds"] < 1.0


def test_pausing_users_count_error_statuses_and_cut_responses(server_port):
    missing = pausing_users(server_port, "/missing", {}, 2, 1, 100)
    assert missing["requests"] > 0
    assert missing["errors"] == missing["requests"]
    short = pausing_users(server_port, "/short", {}, 2, 1, 100)
    assert short["errors"] > 0
    assert short["requests"] == 0
    assert short["p95"] is None


def test_pausing_users_against_nobody_count_errors_without_failing():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nobody listens there
    figures = pausing_users(port, "/ok", {}, 2, 1, 100)
    assert figures["requests"] == 0
    assert figures["errors"] > 0
    assert figures["p50"] is None
