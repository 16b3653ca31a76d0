"""The UTC instant column type: aware in, the same instant out in UTC, on both databases."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from crm.events.models import Event


def test_instants_come_back_in_utc_whatever_zone_they_went_in(db, make_event):
    oslo = dt.datetime(2026, 7, 1, 10, tzinfo=ZoneInfo("Europe/Oslo"))
    event = make_event(starts_at=oslo, ends_at=oslo + dt.timedelta(hours=2))
    db.session.expire_all()
    starts_at = db.session.get(Event, event.id).starts_at
    assert starts_at == oslo and starts_at.tzinfo is dt.UTC
    assert starts_at.hour == 8


def test_postgresql_sessions_are_in_utc(db):
    """So timestamptz values arrive as datetime.UTC, passed on as they are."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only (TEST_DATABASE_URL)")
    assert db.session.execute(text("SHOW timezone")).scalar() == "UTC"


def test_a_missing_instant_stays_missing(db, make_event):
    event = make_event()
    db.session.expire_all()
    assert db.session.get(Event, event.id).deleted_at is None
    assert db.session.scalar(db.select(Event.deleted_at).where(Event.id == event.id)) is None


def test_instants_read_in_a_session_of_another_zone_still_come_back_in_utc(db, make_event):
    """Should a connection run in another zone (a pooler dropping the UTC option, say)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only (TEST_DATABASE_URL)")
    oslo = dt.datetime(2026, 7, 1, 10, tzinfo=ZoneInfo("Europe/Oslo"))
    event = make_event(starts_at=oslo, ends_at=oslo + dt.timedelta(hours=2))
    db.session.execute(text("SET LOCAL timezone = 'Asia/Tokyo'"))
    starts_at = db.session.scalar(db.select(Event.starts_at).where(Event.id == event.id))
    assert starts_at == oslo and starts_at.tzinfo is dt.UTC


@pytest.mark.parametrize("count", [0, 1, 3])
def test_one_of_finds_what_an_in_list_finds(db, make_event, count):
    from crm.db import one_of

    events = [make_event(title=f"Visit {i}") for i in range(4)]
    wanted = [event.id for event in events[:count]]
    query = db.select(Event.id).where(one_of(Event.id, wanted)).order_by(Event.id)
    assert db.session.scalars(query).all() == wanted
    sql = str(query.compile(db.engine))
    # On PostgreSQL one array, so one statement for any number of ids; an IN list elsewhere.
    assert ("ANY" in sql) == (db.engine.dialect.name == "postgresql")
