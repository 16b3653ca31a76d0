"""One active scheduler per database: the others stand by and take over when it dies.

Real `flask crm scheduler` processes on one database (PostgreSQL: an advisory lock; SQLite: a
file lock) and a real SMTP server: one process becomes active and the other stands by, due mail
goes out once, and when the active one stops the standby takes over and sends what was queued
meanwhile.
"""

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select, text

from config import TestConfig
from crm import create_app
from crm.db import utcnow
from crm.extensions import db
from crm.reminders.models import OutboxMessage, OutboxStatus, RuleKind
from crm.reminders.scheduler import LOCK_KEY, SchedulerLock
from tests.conftest import vars_of
from tests.reminders.conftest import SmtpServer, free_port

ROOT = Path(__file__).resolve().parents[2]
ACTIVE = "this scheduler is active"
STANDING_BY = "another scheduler is active; standing by"


class Scheduler:
    """A `flask crm scheduler` process, its log in a file."""

    def __init__(self, name: str, env: dict, tmp_path: Path):
        self.name = name
        self.log = tmp_path / f"scheduler-{name}.log"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", "crm", "scheduler"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def says(self, line: str) -> bool:
        return line in self.log.read_text()

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM (after SIGCONT, in case it is frozen); SIGKILL if it does not end in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"scheduler {self.name} ignored SIGTERM") from None

    def __repr__(self) -> str:
        return f"<scheduler {self.name}: {self.log.read_text()[-2000:]}>"


def wait_for(condition, what: str, *schedulers: Scheduler, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {schedulers}")
        time.sleep(0.1)


def prepared_app(uri: str):
    """An app on `uri` with every table created (the scheduler processes share the database)."""
    app = create_app({**vars_of(TestConfig), "SQLALCHEMY_DATABASE_URI": uri})
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    return app


def queue_mail(app, *keys: str) -> None:
    """Due mail in the outbox, as the planner leaves it."""
    due = utcnow() - dt.timedelta(minutes=1)
    with app.app_context():
        for key in keys:
            db.session.add(
                OutboxMessage(
                    idempotency_key=key,
                    kind=RuleKind.FOLLOWUP_ASSIGNED,
                    recipient_email="kari@example.org",
                    recipient_name="Kari",
                    language="en",
                    subject=f"Subject {key}",
                    body_text=f"Text {key}",
                    body_html=f"<p>HTML {key}</p>",
                    due_at=due,
                    next_attempt_at=due,
                )
            )
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def sent_keys(app) -> set[str]:
    with app.app_context():
        keys = set(
            db.session.scalars(
                select(OutboxMessage.idempotency_key).where(
                    OutboxMessage.status == OutboxStatus.SENT
                )
            )
        )
        db.session.remove()
        db.engine.dispose()
    return keys


def leader_and_standby(a: Scheduler, b: Scheduler) -> tuple[Scheduler, Scheduler]:
    """Wait until one is active and the other stands by; return (active, standby)."""
    wait_for(
        lambda: (
            {a.says(ACTIVE), b.says(ACTIVE)} == {True, False}
            and (a.says(STANDING_BY) or b.says(STANDING_BY))
        ),
        "one active scheduler and one standing by",
        a,
        b,
    )
    leader, standby = (a, b) if a.says(ACTIVE) else (b, a)
    assert standby.says(STANDING_BY) and not leader.says(STANDING_BY), (a, b)
    return leader, standby


@pytest.fixture
def smtp():
    """A real SMTP server on 127.0.0.1."""
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def start(tmp_path):
    """`start(name, uri, smtp)` starts a scheduler process; every one is stopped afterwards."""
    started = []

    def start_scheduler(name: str, uri: str, smtp: SmtpServer) -> Scheduler:
        env = {
            **os.environ,
            "DATABASE_URL": uri,
            "VERTSKAP_ENV": "development",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp.port),
            "SCHEDULER_STANDBY_SECONDS": "1",
        }
        started.append(Scheduler(name, env, tmp_path))
        return started[-1]

    yield start_scheduler
    for scheduler in started:
        with contextlib.suppress(AssertionError):  # killed; the test says what went wrong
            scheduler.stop()


@pytest.fixture
def postgres_uri(empty_database_uri):
    if not empty_database_uri.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    return empty_database_uri


def check_one_active_and_takeover(uri: str, smtp: SmtpServer, start) -> None:
    """Two schedulers on `uri`: one sends the due mail once; the standby takes over."""
    app = prepared_app(uri)
    queue_mail(app, "before-1", "before-2")
    a, b = start("a", uri, smtp), start("b", uri, smtp)
    leader, standby = leader_and_standby(a, b)
    wait_for(lambda: sent_keys(app) == {"before-1", "before-2"}, "the due mail", a, b)

    # Freeze the standby while the leader stops, so the next mail is queued while no
    # scheduler is active (the leader would only look again a minute later anyway).
    standby.process.send_signal(signal.SIGSTOP)
    assert leader.stop() == 0, leader
    queue_mail(app, "after-1")
    standby.process.send_signal(signal.SIGCONT)
    wait_for(lambda: standby.says(ACTIVE), "the standby to take over", standby, timeout=5)
    wait_for(lambda: "after-1" in sent_keys(app), "mail queued after the failover", standby)

    subjects = Counter(message["Subject"] for message in smtp.inbox.messages)
    assert subjects == {"Subject before-1": 1, "Subject before-2": 1, "Subject after-1": 1}
    assert standby.stop() == 0, standby
    with app.app_context(), SchedulerLock(db.engine) as lock:
        assert lock.acquire(), "the lock is released when the last scheduler exits"
    with app.app_context():
        db.engine.dispose()


@pytest.mark.postgres
def test_one_scheduler_is_active_on_postgresql_and_the_standby_takes_over(
    postgres_uri, smtp, start
):
    check_one_active_and_takeover(postgres_uri, smtp, start)


def test_one_scheduler_is_active_on_sqlite_and_the_standby_takes_over(tmp_path, smtp, start):
    check_one_active_and_takeover(f"sqlite:///{tmp_path / 'leader.db'}", smtp, start)


def test_a_standing_by_scheduler_stops_on_sigterm(tmp_path, smtp, start):
    app = prepared_app(f"sqlite:///{tmp_path / 'standby.db'}")
    with app.app_context(), SchedulerLock(db.engine) as lock:
        assert lock.acquire()  # this test is the active scheduler
        scheduler = start("standby", app.config["SQLALCHEMY_DATABASE_URI"], smtp)
        wait_for(lambda: scheduler.says(STANDING_BY), "standing by", scheduler)
        assert scheduler.stop(timeout=5) == 0, scheduler
        assert not scheduler.says(ACTIVE)
        db.engine.dispose()


@pytest.mark.postgres
def test_a_leader_that_loses_its_lock_connection_exits_and_the_standby_takes_over(
    postgres_uri, smtp, start
):
    app = prepared_app(postgres_uri)
    leader, standby = leader_and_standby(
        start("a", postgres_uri, smtp), start("b", postgres_uri, smtp)
    )
    # The query docs/deploy.md gives for "which host is active", then end that session.
    with app.app_context(), db.engine.connect() as conn:
        holders = conn.scalars(
            text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                " AND classid = CAST(:high AS oid) AND objid = CAST(:low AS oid)"
                " AND objsubid = 1"
            ),
            {"high": (LOCK_KEY >> 32) & 0xFFFFFFFF, "low": LOCK_KEY & 0xFFFFFFFF},
        ).all()
        assert len(holders) == 1, holders
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": holders[0]})
    with app.app_context():
        db.engine.dispose()

    assert leader.process.wait(timeout=10) == 1, leader
    assert leader.says("lost the scheduler lock")
    wait_for(lambda: standby.says(ACTIVE), "the standby to take over", standby, timeout=5)
