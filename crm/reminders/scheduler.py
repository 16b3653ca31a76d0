"""The scheduler process: APScheduler running the reminder jobs (`flask crm scheduler`).

It runs in a dedicated process, never inside web workers: each worker would start its own
scheduler. Every host may run one (the same systemd units everywhere); the process that holds
the scheduler lock (`SchedulerLock`) runs the jobs, the others stand by and take over when it
dies. The job store is in memory because all state lives in our own tables (the outbox), so a
restart or a takeover loses nothing, and the outbox still sends each mail once should two
schedulers ever run at the same time.
"""

import fcntl
import hashlib
import logging
import signal
import threading
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from crm.db import utcnow
from crm.extensions import db

log = logging.getLogger(__name__)

# The PostgreSQL advisory lock key: the first 8 bytes of SHA-256("vertskap:scheduler") as a
# signed 64-bit integer, -6666997457621064594 (in pg_locks: classid 2742685986, objid
# 3020973166). Advisory locks belong to one database, so installations never share it.
LOCK_NAME = "vertskap:scheduler"
LOCK_KEY = int.from_bytes(hashlib.sha256(LOCK_NAME.encode()).digest()[:8], "big", signed=True)

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600}


def run_minutely(app: Flask) -> None:
    """Plan and dispatch once, in an app context of its own (one transaction per step)."""
    from crm.reminders.jobs import send_due

    with app.app_context():
        try:
            planned, sent = send_due(now=utcnow())
        except Exception:
            db.session.rollback()
            log.exception("reminder job failed; the next run tries again")
            return
        finally:
            db.session.remove()
        if planned.created or sent.sent or sent.failed or sent.retried:
            log.info(
                "reminders: planned %s, sent %s, retry %s, failed %s",
                planned.created,
                sent.sent,
                sent.retried,
                sent.failed,
            )


def run_digest(app: Flask) -> None:
    """The daily digest: the same plan + dispatch, run right at the digest time."""
    run_minutely(app)


def run_retention_job(app: Flask) -> None:
    """The nightly privacy retention job (crm.privacy.services.run_retention), one transaction."""
    from crm.audit.services import acting_as
    from crm.privacy.services import run_retention

    with app.app_context():
        try:
            with acting_as("scheduler"):
                result = run_retention(now=utcnow())
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("retention job failed; the next night tries again")
            return
        finally:
            db.session.remove()
        log.info("retention: cleared %s, flagged %s", result.cleared, result.flagged)


def digest_trigger(app: Flask) -> CronTrigger:
    """A cron trigger at the digest rule's local time in the office's zone (07:00 by default)."""
    from crm.reminders.models import ReminderRule, RuleKind

    with app.app_context():
        send_time = db.session.scalar(
            select(ReminderRule.send_time).where(
                ReminderRule.kind == RuleKind.FOLLOWUP_DIGEST, ReminderRule.is_active.is_(True)
            )
        )
        db.session.remove()
    hour, minute = (send_time.hour, send_time.minute) if send_time else (7, 0)
    return CronTrigger(hour=hour, minute=minute, timezone=app.config["OFFICE_TIMEZONE"])


def build_scheduler(app: Flask) -> BackgroundScheduler:
    """A scheduler (not started) with the minute job (runs at once), the digest and retention."""
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults=JOB_DEFAULTS)
    scheduler.add_job(
        run_minutely,
        IntervalTrigger(minutes=1),
        args=[app],
        id="plan_and_dispatch",
        next_run_time=utcnow(),  # catch up right after a restart
        **JOB_DEFAULTS,
    )
    scheduler.add_job(
        run_digest, digest_trigger(app), args=[app], id="daily_digest", **JOB_DEFAULTS
    )
    scheduler.add_job(
        run_retention_job,
        CronTrigger(hour=3, minute=30, timezone=app.config["OFFICE_TIMEZONE"]),
        args=[app],
        id="nightly_retention",
        **JOB_DEFAULTS,
    )
    return scheduler


class SchedulerLock:
    """Leadership: only the scheduler process holding this lock runs the jobs.

    With several hosts each running `flask crm scheduler`, one is active and the others stand
    by. Both kinds of lock are released by the database or the kernel when their holder dies,
    however it dies, so a crashed leader never blocks the standbys:

    - PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock(LOCK_KEY)`) on a
      connection of its own, checked out of the pool for the life of the process (so the pool
      neither recycles nor shares it) and in autocommit (never idle in a transaction);
    - SQLite, on one machine by definition: an exclusive `flock` on a file beside the database.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_postgres = engine.dialect.name == "postgresql"
        self.path = Path(f"{engine.url.database}.scheduler-lock")
        self.held = None  # the lock's connection (PostgreSQL) or open file (SQLite)

    def acquire(self) -> bool:
        """Try once, without waiting; True when this process holds the lock."""
        if not self.is_postgres:
            self.held = self.held or self.path.open("a")
            try:
                fcntl.flock(self.held, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True
        try:
            if self.held is None:
                self.held = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            return self.held.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY})
        except DBAPIError:
            log.warning("cannot reach the database for the scheduler lock; trying again")
            self.release()
            return False

    def check(self) -> None:
        """Raise DBAPIError when the lock's connection, and with it the lock, is gone."""
        if self.is_postgres:
            self.held.execute(text("SELECT 1"))

    def release(self) -> None:
        """Let go: close the connection itself (never back to the pool with the lock) or file."""
        if self.is_postgres and self.held is not None:
            self.held.invalidate()
        if self.held is not None:
            self.held.close()
            self.held = None

    def __enter__(self) -> "SchedulerLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def wait_for_lock(lock: SchedulerLock, stopping: threading.Event, interval: float) -> bool:
    """Try for the lock every `interval` seconds: True once it is ours, False when stopped."""
    if lock.acquire():
        return True
    log.info("another scheduler is active; standing by")
    while not stopping.wait(interval):
        if lock.acquire():
            return True
    return False


def run_scheduler(app: Flask) -> None:
    """Stand by until this process holds the scheduler lock, then run the jobs until SIGTERM.

    A leader that loses its lock (the database connection died) stops its jobs and exits
    with status 1, so that systemd restarts it, rather than run on without the lock.
    """
    app.logger.setLevel(logging.INFO)  # the "crm" logger, with Flask's handler on stderr
    interval = app.config["SCHEDULER_STANDBY_SECONDS"]
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    with app.app_context(), SchedulerLock(db.engine) as lock:
        if not wait_for_lock(lock, stopping, interval):
            return
        log.info("this scheduler is active")
        scheduler = build_scheduler(app)
        scheduler.start()
        try:
            while not stopping.wait(interval):
                lock.check()
        except DBAPIError as error:
            log.error(
                "lost the scheduler lock with its database connection (%s); exiting", error.orig
            )
            raise SystemExit(1) from None
        finally:
            scheduler.shutdown()  # waits for a running job, then the lock is released
