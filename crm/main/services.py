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
    """Today's and this week's events, the user's follow-ups, recently changed records."""
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
        **followups_overview(user, today),
        "recent_changes": recent_changes(),
    }


def followups_overview(user: User, today: dt.date) -> dict:
    """The user's open follow-ups: overdue, due today, and due within the week."""
    from crm.followups.services import followup_query

    items = db.session.scalars(followup_query(assignee_id=user.id).limit(200)).all()
    week_end = today + dt.timedelta(days=7)
    return {
        "overdue_followups": [f for f in items if f.due_on and f.due_on < today],
        "due_followups": [f for f in items if f.due_on and today <= f.due_on < week_end],
    }


def recent_changes(limit: int = 10) -> list[tuple[str, object]]:
    """The most recently changed organisations, contacts and events, newest first."""
    from crm.contacts.models import Contact
    from crm.organisations.models import Organisation

    found = []
    for kind, model, extra in (
        ("organisation", Organisation, ()),
        ("contact", Contact, ()),
        ("event", Event, (Event.deleted_at.is_(None),)),
    ):
        stmt = select(model).where(*extra).order_by(model.updated_at.desc()).limit(limit)
        found.extend((kind, record) for record in db.session.scalars(stmt))
    found.sort(key=lambda item: item[1].updated_at, reverse=True)
    return found[:limit]
