"""What the home page shows."""

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crm.auth.models import User
from crm.db import utcnow
from crm.events.models import Event
from crm.extensions import db


def home_overview(user: User, now: dt.datetime | None = None) -> dict:
    """Today's and this week's events, and the user's own upcoming events."""
    now = now or utcnow()
    zone = ZoneInfo(current_app.config["OFFICE_TIMEZONE"])
    today = now.astimezone(zone).date()
    day_start = dt.datetime.combine(today, dt.time(), zone)
    week_end = day_start + dt.timedelta(days=7)
    week = db.session.scalars(
        select(Event)
        .where(Event.deleted_at.is_(None), Event.ends_at > day_start, Event.starts_at < week_end)
        .order_by(Event.starts_at)
        .options(selectinload(Event.responsible))
        .limit(50)
    ).all()
    tomorrow = day_start + dt.timedelta(days=1)
    return {
        "today_events": [e for e in week if e.starts_at < tomorrow],
        "week_events": [e for e in week if e.starts_at >= tomorrow],
        "today": today,
    }
