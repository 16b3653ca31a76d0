"""Keep each event's SEQUENCE and cached VEVENT in step with the event, in the same transaction.

Whoever changes an event (a form, the API, the importer, a script) goes through the session,
so the rules live here rather than in every service: SEQUENCE goes up when time, place,
status, recurrence or deletion change (RFC 5545 says clients then replace their copy), and
the event's VEVENT is serialised again after the flush.
"""

from flask import current_app, has_app_context
from sqlalchemy import event as sa_event
from sqlalchemy import inspect, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from crm.calendars import ical
from crm.calendars.models import Calendar, EventIcal
from crm.db import utcnow
from crm.events.models import Event
from crm.extensions import db

# Changes that matter to an attendee: clients compare SEQUENCE to decide to update.
SEQUENCE_FIELDS = (
    "starts_at",
    "ends_at",
    "start_on",
    "end_on",
    "is_all_day",
    "timezone",
    "venue",
    "status",
    "rrule",
    "exdates",
    "rdates",
    "deleted_at",
)
_PENDING = "calendars.pending_vevents"
_HARD_DELETE = "calendars.hard_deleted_events"


def _changed(state, name: str) -> bool:
    """True when the attribute's value really differs from the loaded one."""
    history = state.attrs[name].history
    if not history.added and not history.deleted:
        return False
    return list(history.added) != list(history.deleted)


@sa_event.listens_for(Session, "before_flush")
def _track_event_changes(session, flush_context, instances):
    pending = session.info.setdefault(_PENDING, {})
    for obj in session.new:
        if isinstance(obj, Event):
            pending[id(obj)] = (obj, True)
    for obj in session.dirty:
        if not isinstance(obj, Event) or not session.is_modified(obj):
            continue
        state = inspect(obj)
        if any(_changed(state, name) for name in SEQUENCE_FIELDS):
            obj.sequence = (obj.sequence or 0) + 1
        cancel_changed = _changed(state, "status") or _changed(state, "deleted_at")
        previous = pending.get(id(obj), (obj, False))[1]
        pending[id(obj)] = (obj, previous or cancel_changed)
    if any(isinstance(obj, Event) for obj in session.deleted):
        session.info[_HARD_DELETE] = True


@sa_event.listens_for(Session, "after_flush")
def _refresh_cached_vevents(session, flush_context):
    pending = session.info.pop(_PENDING, None) or {}
    now = utcnow()
    if session.info.pop(_HARD_DELETE, False):
        # A vanished event leaves no row to date the change by: mark every calendar changed.
        session.connection().execute(update(Calendar.__table__).values(updated_at=now))
    live = []
    for obj, cancel_changed in pending.values():
        state = inspect(obj)
        if state.deleted or state.was_deleted or state.detached or obj.id is None:
            continue
        live.append((obj, cancel_changed))
    _write(session, live, now)


def refresh_vevents(events, now=None) -> None:
    """Serialise these events' VEVENTs again and store them (keeps their cancellation dates)."""
    _write(db.session, [(e, False) for e in events], now or utcnow())


def _write(session, items, now) -> None:
    if not items:
        return
    base_url = current_app.config.get("BASE_URL") if has_app_context() else None
    conn = session.connection()
    with_cancel, without_cancel = [], []
    for obj, cancel_changed in items:
        row = {
            "event_id": obj.id,
            "vevent": ical.build_vevent(
                obj, stamp=now, url=ical.event_url(obj, base_url) if base_url else None
            ).decode(),
            "tzid": ical.event_tzid(obj),
            "updated_at": now,
        }
        if cancel_changed:
            row["cancelled_at"] = now if ical.is_cancelled(obj) else None
            with_cancel.append(row)
        else:
            without_cancel.append(row)
    for rows, keep_cancelled in ((with_cancel, False), (without_cancel, True)):
        if rows:
            conn.execute(_upsert(conn.dialect.name, keep_cancelled), rows)


def _upsert(dialect: str, keep_cancelled: bool):
    """INSERT ... ON CONFLICT (event_id) DO UPDATE, on PostgreSQL and SQLite alike."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(EventIcal.__table__)
    columns = ["vevent", "tzid", "updated_at"] + ([] if keep_cancelled else ["cancelled_at"])
    return stmt.on_conflict_do_update(
        index_elements=["event_id"], set_={c: stmt.excluded[c] for c in columns}
    )


@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_pending(session, previous_transaction):
    session.info.pop(_PENDING, None)
    session.info.pop(_HARD_DELETE, None)
