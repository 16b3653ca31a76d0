"""A known data set for the indicators: the year 2025, its neighbours, and edge cases."""

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

OSLO = ZoneInfo("Europe/Oslo")
UTC = dt.UTC
TODAY = dt.date(2026, 1, 10)


def oslo(*args) -> dt.datetime:
    """An aware Oslo datetime."""
    return dt.datetime(*args, tzinfo=OSLO)


def utc(*args) -> dt.datetime:
    """An aware UTC datetime."""
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture
def dataset(db, make_org, make_event):
    """Events, partners and follow-ups whose indicators the tests know by heart.

    2025: E1 delegation 31 Dec 23:30 Oslo (DE, SE; 10 expected, 8 counted), E3 congress in
    March (DE; 100/120), E4 delegation in June (DE; 5/-); a cancelled (E5) and a deleted (E6)
    event that never count. 2026: E2 delegation 1 Jan 00:30 Oslo (DE). 2024: E7 (SE; 3/3).
    """
    from crm.followups.models import FollowUp, FollowUpStatus

    u1 = make_org(name="NTNU", kind="university")
    c1 = make_org(name="Tysklands konsulat", kind="consulate", represented_country="DE")
    c2 = make_org(name="Sveriges konsulat", kind="consulate", represented_country="SE")
    make_org(name="Frankrikes konsulat", kind="consulate", represented_country="FR")
    t1 = make_org(name="Darmstadt", kind="twin_city", twin_city_category="project_agreement")
    t2 = make_org(name="Göteborg", kind="twin_city", twin_city_category="political_focus")
    make_org(name="Ålesund-partner", kind="twin_city", twin_city_category="dormant")
    t4 = make_org(name="Petrozavodsk", kind="twin_city", twin_city_category="solidarity")

    def part(*orgs, role="guest"):
        return [{"organisation_id": o.id, "role": role} for o in orgs]

    e1 = make_event(
        title="Nyttårsdelegasjon",
        starts_at=oslo(2025, 12, 31, 23, 30),
        ends_at=oslo(2026, 1, 1, 1, 30),
        countries=["DE", "SE"],
        expected_attendance=10,
        actual_attendance=8,
        participations=part(c1, t1, u1),
    )
    e2 = make_event(
        title="Første delegasjon",
        starts_at=oslo(2026, 1, 1, 0, 30),
        ends_at=oslo(2026, 1, 1, 2, 0),
        countries=["DE"],
    )
    e3 = make_event(
        title="Kongress om hav",
        kind="congress",
        starts_at=oslo(2025, 3, 10, 10, 0),
        ends_at=oslo(2025, 3, 10, 12, 0),
        countries=["DE"],
        expected_attendance=100,
        actual_attendance=120,
        participations=part(u1, t2, role="host") + part(u1, role="partner"),
    )
    e4 = make_event(
        title="Sommerbesøk",
        starts_at=oslo(2025, 6, 15, 10, 0),
        ends_at=oslo(2025, 6, 15, 12, 0),
        countries=["DE"],
        expected_attendance=5,
        participations=part(u1, c1),
    )
    make_event(
        title="Avlyst",
        status="cancelled",
        starts_at=oslo(2025, 5, 1, 10, 0),
        countries=["FR"],
        expected_attendance=1000,
        participations=part(t4),
    )
    make_event(
        title="Slettet",
        starts_at=oslo(2025, 7, 1, 10, 0),
        countries=["FR"],
        participations=part(t4),
        deleted_at=utc(2025, 7, 2),
    )
    e7 = make_event(
        title="Fjorårets besøk",
        starts_at=oslo(2024, 5, 5, 10, 0),
        countries=["SE"],
        expected_attendance=3,
        actual_attendance=3,
        participations=part(c2, t4),
    )

    def followup(created, *, event=None, due=None, status="open", closed=None, title="Følg opp"):
        f = FollowUp(
            title=title,
            event_id=event.id if event else None,
            due_on=due,
            status=FollowUpStatus(status),
            closed_at=closed,
            created_at=created,
        )
        db.session.add(f)
        return f

    # E3 ended 10 March 11:00 UTC: first follow-up two days later, done on the due day
    # (22:30 local, winter time) -> on time.
    followup(
        utc(2025, 3, 12, 11),
        event=e3,
        due=dt.date(2025, 3, 20),
        status="done",
        closed=utc(2025, 3, 20, 21, 30),
    )
    # Closed at 00:30 local the day after it was due -> late.
    followup(
        utc(2025, 3, 15),
        event=e3,
        due=dt.date(2025, 3, 14),
        status="done",
        closed=utc(2025, 3, 14, 23, 30),
    )
    # E4 ended 15 June 10:00 UTC: first follow-up five days later; still open past due.
    followup(utc(2025, 6, 20, 10), event=e4, due=dt.date(2025, 7, 1))
    # E1 ended 1 Jan 2026 00:30 UTC: followed up a day later (created in 2026).
    followup(utc(2026, 1, 2, 0, 30), event=e1, due=dt.date(2026, 1, 20))
    # Not tied to an event; open and due later -> not overdue.
    followup(utc(2025, 8, 1), due=dt.date(2027, 1, 1))
    # Done without a due date -> on time.
    followup(utc(2025, 9, 1), status="done", closed=utc(2025, 9, 2))
    db.session.commit()
    return SimpleNamespace(u1=u1, c1=c1, c2=c2, t1=t1, t2=t2, t4=t4, e1=e1, e2=e2, e3=e3, e7=e7)
