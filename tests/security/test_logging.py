"""Feed tokens never reach the logs: the werkzeug, app and gunicorn loggers redact them."""

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from config import BASE_DIR
from crm.security import RedactSecretsFilter, redact

TOKEN = "s3cr3t-feed-token-AbCdEf0123456789"


@pytest.mark.parametrize(
    "line, expected",
    [
        (f"GET /feeds/{TOKEN}.ics HTTP/1.1", "GET /feeds/[redacted].ics HTTP/1.1"),
        (f"GET /feeds/{TOKEN} HTTP/1.1", "GET /feeds/[redacted] HTTP/1.1"),
        (f"GET /api/x?token={TOKEN}&a=1", "GET /api/x?token=[redacted]&a=1"),
        ("GET /calendars/public.ics HTTP/1.1", "GET /calendars/public.ics HTTP/1.1"),
    ],
)
def test_redact_removes_tokens(line, expected):
    assert redact(line) == expected


def test_werkzeug_access_log_is_redacted(app, caplog):
    logger = logging.getLogger("werkzeug")
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logger.info('%s - - [%s] "%s" %s -', "127.0.0.1", "now", f"GET /feeds/{TOKEN}.ics", 200)
    assert TOKEN not in caplog.text
    assert "/feeds/[redacted].ics" in caplog.text


def test_app_error_log_is_redacted(app, caplog):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def explode(token):
        raise RuntimeError("boom")

    app.add_url_rule("/feeds-test/<token>", "explode_feed", explode)
    with caplog.at_level(logging.ERROR):
        app.logger.error("Exception on %s [%s]", f"/feeds/{TOKEN}.ics", "GET")
    assert TOKEN not in caplog.text


def test_filter_leaves_unformattable_records_alone():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d", ("not a number",), None)
    assert RedactSecretsFilter().filter(record) is True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gunicorn_access_log_never_shows_a_feed_token(tmp_path, _schema):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _schema,
        "VERTSKAP_ENV": "development",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
    }
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(150):
                try:
                    urllib.request.urlopen(f"{url}/accessibility", timeout=10).close()  # noqa: S310
                    break
                except OSError:  # not listening yet
                    time.sleep(0.1)
            for path in (f"/feeds/{TOKEN}.ics", f"/accessibility?token={TOKEN}"):
                try:
                    urllib.request.urlopen(url + path, timeout=10).close()  # noqa: S310
                except urllib.error.HTTPError as error:
                    error.close()
            time.sleep(0.3)
        finally:
            server.terminate()
            server.wait(timeout=10)
    text = log.read_text()
    assert "/feeds/[redacted].ics" in text
    assert "token=[redacted]" in text
    assert TOKEN not in text
