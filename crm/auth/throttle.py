"""Login throttling: failed logins counted per account and per address, in the database.

The counters live in the `login_attempt` table so that every gunicorn worker on every host
sees the same numbers. An unknown email is counted exactly like a known one, so the answers
never tell which accounts exist.
"""

import datetime as dt

from flask import current_app
from sqlalchemy import delete, func, select

from crm.auth.models import LoginAttempt
from crm.auth.services import normalise_email
from crm.db import utcnow
from crm.extensions import db


def _window(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(seconds=current_app.config["LOGIN_WINDOW"])


def failures(*, email: str | None = None, ip: str | None = None, now=None) -> int:
    """Failed logins within the window for this email or from this address."""
    now = now or utcnow()
    stmt = select(func.count()).select_from(LoginAttempt).where(LoginAttempt.at > _window(now))
    if email is not None:
        stmt = stmt.where(LoginAttempt.email == normalise_email(email))
    if ip is not None:
        stmt = stmt.where(LoginAttempt.ip == ip)
    return db.session.scalar(stmt)


def is_throttled(email: str, ip: str, now: dt.datetime | None = None) -> bool:
    """True when the account or the address has used up its failures for the window."""
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    return failures(email=email, now=now) >= limit or failures(ip=ip, now=now) >= limit


def record_failure(email: str, ip: str, now: dt.datetime | None = None) -> None:
    """Count a failed login, and prune attempts older than the window (flushes)."""
    now = now or utcnow()
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.at <= _window(now)))
    db.session.add(LoginAttempt(at=now, email=normalise_email(email)[:254], ip=ip[:45]))
    db.session.flush()


def clear_failures(email: str) -> None:
    """After a successful login the account's count starts again (flushes)."""
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.email == normalise_email(email)))
    db.session.flush()
