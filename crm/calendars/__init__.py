"""Calendars, subscriptions and iCalendar feeds."""

from flask import Blueprint

bp = Blueprint("calendars", __name__)

from crm.calendars import listeners, views  # noqa: E402,F401
