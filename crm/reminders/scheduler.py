"""The scheduler process: APScheduler running the reminder jobs (`flask crm scheduler`).

It runs in one dedicated process, never inside web workers: each worker would start its own
scheduler. The job store is in memory because all state lives in our own tables (the
outbox), so a restart loses nothing and two schedulers started by mistake still send each
mail once.
"""

import logging
import signal

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy import select

from crm.db import utcnow
from crm.extensions import db

log = logging.getLogger(__name__)

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


def build_scheduler(app: Flask) -> BlockingScheduler:
    """A blocking scheduler with the minute job (starts at once) and the daily digest job."""
    scheduler = BlockingScheduler(timezone="UTC", job_defaults=JOB_DEFAULTS)
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


def run_scheduler(app: Flask) -> None:
    """Run the scheduler until SIGTERM or Ctrl-C."""
    scheduler = build_scheduler(app)

    def stop(signum, frame):
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    try:
        scheduler.start()
    except KeyboardInterrupt:
        scheduler.shutdown(wait=False)
