"""Reminder rules, the outbox of mail, unsubscribes and the scheduler's jobs."""

from flask import Blueprint

bp = Blueprint("reminders", __name__, url_prefix="/reminders")

from crm.reminders import views  # noqa: E402,F401
