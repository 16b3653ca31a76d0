"""Login throttling: failed logins counted per account and per address, in the database.

An account is closed to guessing after LOGIN_MAX_FAILURES; an address after the higher
LOGIN_MAX_FAILURES_PER_ADDRESS, because an office's staff share one outgoing address: one
person's typos must not lock out everyone else, while guesses sprayed over many accounts from
one address still are stopped.

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


def reserve(email: str, ip: str, now: dt.datetime | None = None) -> LoginAttempt | None:
    """Count this attempt as a failure before the password is checked; None when over the limit.

    The attempt is committed first and then counted together with everyone else's: of many
    guesses sent at once (one per worker), each sees at least those committed before it, so
    no more than the limit get their password checked. A refused attempt is taken back (it
    checked nothing); a successful login clears the account's count (`clear_failures`).
    """
    now = now or utcnow()
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.at <= _window(now)))
    attempt = LoginAttempt(at=now, email=normalise_email(email)[:254], ip=ip[:45])
    db.session.add(attempt)
    db.session.commit()
    config = current_app.config
    if (
        failures(email=email, now=now) > config["LOGIN_MAX_FAILURES"]
        or failures(ip=ip, now=now) > config["LOGIN_MAX_FAILURES_PER_ADDRESS"]
    ):
        release(attempt)
        return None
    return attempt


def release(attempt: LoginAttempt) -> None:
    """Take back a reserved attempt that turned out not to be a failure (commits)."""
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.id == attempt.id))
    db.session.commit()


def clear_failures(email: str) -> None:
    """After a successful login the account's count starts again (flushes)."""
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.email == normalise_email(email)))
    db.session.flush()
