"""Two gunicorn instances on one PostgreSQL behave as one site (sessions, throttling, feeds).

Nothing that must be shared lives in a process: a session cookie from instance A works on
B, failed logins on A count on B, both give a feed the same ETag, and the web workers run no
scheduler (the one scheduler is a process of its own).
"""

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from config import TestConfig
from crm import create_app
from crm.auth import services as auth_services
from crm.extensions import db
from tests.conftest import vars_of
from tests.scale.http import Browser

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
PASSWORD = "two-hosts-one-database"
SECRET = "multi-host-test-secret-0123456789abcdef"  # the same on every host, as in production


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(port: int, process: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn on {port} exited: {log.read_text()[-3000:]}")
        try:
            if Browser().get(port, "/healthz").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"gunicorn on {port} did not become healthy")


def threads_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(p) for p in out.stdout.split()]


@pytest.fixture
def site(empty_database_uri, tmp_path):
    """One PostgreSQL database with a user and a public event; two gunicorns; one scheduler."""
    if not empty_database_uri.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    app = create_app({**vars_of(TestConfig), "SQLALCHEMY_DATABASE_URI": empty_database_uri})
    with app.app_context(), app.test_request_context():
        from crm.calendars.services import ensure_default_calendars
        from crm.events.models import Event

        db.create_all()
        auth_services.create_user(email="staff@example.org", password=PASSWORD, role="viewer")
        auth_services.create_user(email="victim@example.org", password=PASSWORD, role="viewer")
        ensure_default_calendars()
        start = dt.datetime.now(ZoneInfo("Europe/Oslo")).replace(microsecond=0)
        start += dt.timedelta(days=3)
        db.session.add(
            Event(
                title="Olavsfest",
                kind="cultural",
                visibility="public",
                starts_at=start,
                ends_at=start + dt.timedelta(hours=2),
            )
        )
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    env = {
        **os.environ,
        "DATABASE_URL": empty_database_uri,
        "SECRET_KEY": SECRET,
        "VERTSKAP_ENV": "development",
        "LOGIN_MAX_FAILURES": "3",
    }
    processes = {}
    try:
        for name in ("a", "b"):
            port = free_port()
            log = tmp_path / f"gunicorn-{name}.log"
            processes[name] = (
                port,
                subprocess.Popen(
                    [str(GUNICORN), "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
                     "--workers", "2", "--access-logfile", "/dev/null",
                     "--error-logfile", str(log), "wsgi:app"],
                    cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                ),
            )  # fmt: skip
        scheduler = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "crm", "scheduler"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, (port, process) in processes.items():
            wait_healthy(port, process, tmp_path / f"gunicorn-{name}.log")
        yield {"a": processes["a"], "b": processes["b"], "scheduler": scheduler}
    finally:
        for _port, process in processes.values():
            process.send_signal(signal.SIGTERM)
        if "scheduler" in locals():
            scheduler.send_signal(signal.SIGTERM)
        for process in [p for _port, p in processes.values()] + (
            [scheduler] if "scheduler" in locals() else []
        ):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_two_instances_share_sessions_throttling_and_feeds_with_one_scheduler(site):
    port_a, port_b = site["a"][0], site["b"][0]
    assert Browser().get(port_a, "/healthz").status == 200
    assert Browser().get(port_b, "/healthz").status == 200

    # A session made on A is good on B (same SECRET_KEY, user state in the database).
    browser = Browser()
    login = browser.login(port_a, "staff@example.org", PASSWORD)
    assert login.status == 302, login.text[:500]
    home_b = browser.get(port_b, "/")
    assert home_b.status == 200, home_b.headers.get("Location")
    assert "staff@example.org" in home_b.text or "Viewer" in home_b.text
    assert Browser().get(port_b, "/").status == 302  # and no cookie, no page

    # Failed logins count across instances: two on A and one on B use up the three allowed.
    attacker = Browser()
    for port in (port_a, port_a, port_b):
        assert attacker.login(port, "victim@example.org", "wrong-password-x").status == 200
    assert attacker.login(port_b, "victim@example.org", "wrong-password-x").status == 429
    assert attacker.login(port_a, "victim@example.org", PASSWORD).status == 429

    # A feed has one ETag whichever instance answers, and either answers 304 to it.
    feed_a = Browser().get(port_a, "/calendars/public.ics")
    feed_b = Browser().get(port_b, "/calendars/public.ics")
    assert feed_a.status == feed_b.status == 200
    assert "Olavsfest" in feed_a.text
    assert feed_a.headers["ETag"] == feed_b.headers["ETag"]
    assert feed_a.body == feed_b.body
    again = Browser().get(
        port_b, "/calendars/public.ics", {"If-None-Match": feed_a.headers["ETag"]}
    )
    assert again.status == 304

    # One scheduler, of its own: the web workers run none.
    assert site["scheduler"].poll() is None, "the scheduler process should keep running"
    for name in ("a", "b"):
        master = site[name][1].pid
        workers = children_of(master)
        assert len(workers) == 2, workers
        # A sync worker has exactly one thread; a scheduler inside it would add its own.
        assert [threads_of(pid) for pid in workers] == [1, 1]
