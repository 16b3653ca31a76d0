"""Helpers for calendar tests: default calendars, feeds fetched and parsed independently."""

import datetime as dt

import pytest
import vobject

from crm.calendars import services
from crm.db import utcnow


@pytest.fixture
def public_calendar(db):
    """The default `public` calendar."""
    services.ensure_default_calendars()
    db.session.commit()
    return services.get_calendar("public")


@pytest.fixture
def request_ctx(app):
    """A request context: services translate their messages for a request."""
    with app.test_request_context():
        yield


@pytest.fixture
def feed(db):
    """`feed(calendar, audience="staff", now=None)`: the feed bytes, built by the service."""

    def build(calendar, audience="staff", now=None):
        return services.build_feed(calendar, services.Audience(audience), now or utcnow())

    return build


def vevents(data: bytes) -> list:
    """The VEVENTs of a feed, read by vobject (an independent parser)."""
    cal = vobject.readOne(data.decode("utf-8"))
    return list(getattr(cal, "vevent_list", []))


def uids(data: bytes) -> set[str]:
    """The UIDs of a feed, read by vobject."""
    return {v.uid.value for v in vevents(data)}


def utc(value) -> dt.datetime:
    """An aware datetime in UTC."""
    return value.astimezone(dt.UTC)
