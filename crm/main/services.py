"""What the home page shows."""

import datetime as dt
from typing import NamedTuple
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import literal, select, union_all
from sqlalchemy.orm import joinedload

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
        .options(joinedload(Event.responsible))  # one row each: joined, no query of its own
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


class RecentChange(NamedTuple):
    """A recently changed record as the home page lists it."""

    kind: str  # "organisation", "contact" or "event"
    id: int
    name: str  # an event's title
    updated_at: dt.datetime


def recent_changes(limit: int = 10) -> list[RecentChange]:
    """The most recently changed organisations, contacts and events, newest first: one query
    of the few columns shown, the newest `limit` of each kind merged."""
    from crm.contacts.models import Contact, full_name
    from crm.organisations.models import Organisation

    newest = [
        select(literal(kind).label("kind"), model.id, *names, model.updated_at)
        .where(*extra)
        .order_by(model.updated_at.desc())
        .limit(limit)
        .subquery()
        for kind, model, names, extra in (
            ("organisation", Organisation, (Organisation.name, literal(None)), ()),
            ("contact", Contact, (Contact.first_name, Contact.last_name), ()),
            ("event", Event, (Event.title, literal(None)), (Event.deleted_at.is_(None),)),
        )
    ]
    merged = union_all(*(select(*found.c) for found in newest)).subquery()
    rows = db.session.execute(
        select(merged).order_by(merged.c.updated_at.desc()).limit(limit)
    ).all()
    return [
        RecentChange(kind, id_, full_name(name, last_name) if kind == "contact" else name, when)
        for kind, id_, name, last_name, when in rows
    ]
