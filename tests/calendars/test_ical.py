"""What a feed holds, read by independent parsers (vobject, recurring-ical-events)."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from crm.calendars import ical, services
from crm.calendars.models import EventIcal
from crm.events import services as event_services
from tests.calendars.conftest import uids, utc, vevents

OSLO = ZoneInfo("Europe/Oslo")


def at(year, month, day, hour=10, minute=0):
    return dt.datetime(year, month, day, hour, minute, tzinfo=OSLO)


def occurrences(data: bytes, start, end) -> list:
    cal = icalendar.Calendar.from_ical(data)
    return sorted(recurring_ical_events.of(cal).between(start, end), key=lambda o: o["DTSTART"].dt)


def test_feed_has_the_calendar_properties(public_calendar, make_event, feed):
    make_event(title="Consular reception")
    data = feed(public_calendar, "public")
    head = data.split(b"BEGIN:VEVENT")[0].decode()
    for line in (
        "BEGIN:VCALENDAR\r\n",
        "VERSION:2.0\r\n",
        f"PRODID:{ical.PRODID}\r\n",
        "CALSCALE:GREGORIAN\r\n",
        "METHOD:PUBLISH\r\n",
        "X-WR-CALNAME:Internasjonale arrangementer i Trondheim\r\n",
        "X-WR-TIMEZONE:Europe/Oslo\r\n",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n",
        "X-PUBLISHED-TTL:PT1H\r\n",
        "BEGIN:VTIMEZONE\r\nTZID:Europe/Oslo\r\n",
    ):
        assert line in head
    event = vevents(data)[0]
    for name in ("uid", "dtstamp", "last_modified", "sequence", "summary", "status", "url"):
        assert hasattr(event, name), name


def test_timed_events_are_right_in_utc_across_oslo_dst_changes(public_calendar, make_event, feed):
    # Oslo goes from UTC+1 to UTC+2 on 29 March 2026 and back on 25 October 2026.
    before_spring = make_event(title="Before spring", starts_at=at(2026, 3, 28))
    after_spring = make_event(title="After spring", starts_at=at(2026, 3, 30))
    after_autumn = make_event(title="After autumn", starts_at=at(2026, 10, 26, 23, 30))
    data = feed(public_calendar, "public")
    by_uid = {v.uid.value: v for v in vevents(data)}
    assert utc(by_uid[before_spring.uid].dtstart.value) == dt.datetime(
        2026, 3, 28, 9, tzinfo=dt.UTC
    )
    assert utc(by_uid[after_spring.uid].dtstart.value) == dt.datetime(2026, 3, 30, 8, tzinfo=dt.UTC)
    assert utc(by_uid[after_autumn.uid].dtstart.value) == dt.datetime(
        2026, 10, 26, 22, 30, tzinfo=dt.UTC
    )
    assert b"DTSTART;TZID=Europe/Oslo:20260328T100000\r\n" in data
    assert utc(by_uid[after_spring.uid].dtend.value) == dt.datetime(2026, 3, 30, 10, tzinfo=dt.UTC)


def test_weekly_series_keeps_local_time_across_dst(public_calendar, make_event, feed):
    make_event(title="Weekly consul coffee", starts_at=at(2026, 3, 19), rrule="FREQ=WEEKLY;COUNT=3")
    found = occurrences(feed(public_calendar, "public"), (2026, 3, 1), (2026, 4, 30))
    assert [utc(o["DTSTART"].dt).hour for o in found] == [9, 9, 8]
    assert [o["DTSTART"].dt.astimezone(OSLO).hour for o in found] == [10, 10, 10]


def test_all_day_event_has_exclusive_date_end(public_calendar, make_event, feed):
    one_day = make_event(
        title="National day",
        is_all_day=True,
        start_on=dt.date(2026, 5, 17),
        end_on=dt.date(2026, 5, 17),
        starts_at=at(2026, 5, 17, 0),
        ends_at=at(2026, 5, 18, 0),
    )
    three_days = make_event(
        title="Fair",
        is_all_day=True,
        start_on=dt.date(2026, 6, 1),
        end_on=dt.date(2026, 6, 3),
        starts_at=at(2026, 6, 1, 0),
        ends_at=at(2026, 6, 4, 0),
    )
    data = feed(public_calendar, "public")
    by_uid = {v.uid.value: v for v in vevents(data)}
    assert by_uid[one_day.uid].dtstart.value == dt.date(2026, 5, 17)
    assert by_uid[one_day.uid].dtend.value == dt.date(2026, 5, 18)
    assert by_uid[three_days.uid].dtend.value == dt.date(2026, 6, 4)
    assert b"DTSTART;VALUE=DATE:20260517\r\n" in data
    found = occurrences(data, (2026, 6, 3), (2026, 6, 4))
    assert [str(o["SUMMARY"]) for o in found] == ["Fair"]


def test_recurrence_with_exceptions_and_extra_dates(public_calendar, make_event, feed):
    make_event(
        title="Language café",
        starts_at=at(2026, 1, 6, 18),
        rrule="FREQ=WEEKLY;COUNT=5",
        exdates="20260113T180000\n2026-01-27T18:00",
        rdates="20260130T180000",
    )
    data = feed(public_calendar, "public")
    found = occurrences(data, (2026, 1, 1), (2026, 3, 1))
    days = sorted(o["DTSTART"].dt.astimezone(OSLO).date() for o in found)
    assert [d.day for d in days] == [6, 20, 30, 3]
    assert b"RRULE:FREQ=WEEKLY;COUNT=5\r\n" in data
    assert b"EXDATE;TZID=Europe/Oslo:20260113T180000,20260127T180000\r\n" in data


def test_cancelled_event_stays_as_cancelled_with_bumped_sequence_for_30_days(
    public_calendar, make_event, feed, db
):
    event = make_event(title="Harbour festival")
    assert event.sequence == 0
    event_services.delete_event(event)
    db.session.commit()
    data = feed(public_calendar, "public")
    (vevent,) = vevents(data)
    assert vevent.status.value == "CANCELLED"
    assert int(vevent.sequence.value) == 1
    now = dt.datetime.now(dt.UTC)
    assert event.uid in uids(feed(public_calendar, "public", now + dt.timedelta(days=29)))
    assert event.uid not in uids(feed(public_calendar, "public", now + dt.timedelta(days=31)))


def test_status_cancelled_without_deletion_also_leaves_after_30_days(
    public_calendar, make_event, feed, db
):
    event = make_event(title="Concert")
    kept = make_event(title="Fair")
    event.status = "cancelled"
    db.session.commit()
    now = dt.datetime.now(dt.UTC)
    assert event.uid in uids(feed(public_calendar, "public", now + dt.timedelta(days=20)))
    later = uids(feed(public_calendar, "public", now + dt.timedelta(days=31)))
    assert event.uid not in later and kept.uid in later


def test_sequence_goes_up_for_time_place_and_status_but_not_for_title(make_event, db):
    event = make_event(title="Visit")
    event.title = "Visit from Gothenburg"
    event.description = "Lunch"
    db.session.commit()
    assert event.sequence == 0
    event.venue = "Rådhuset"
    db.session.commit()
    assert event.sequence == 1
    event.starts_at = event.starts_at + dt.timedelta(hours=1)
    event.ends_at = event.ends_at + dt.timedelta(hours=1)
    db.session.commit()
    assert event.sequence == 2
    event.status = "tentative"
    db.session.commit()
    assert event.sequence == 3
    cached = db.session.get(EventIcal, event.id).vevent
    assert "SEQUENCE:3\r\n" in cached and "SUMMARY:Visit from Gothenburg\r\n" in cached


def test_tag_change_refreshes_categories(make_event, db):
    from crm.tags import get_tags

    event = make_event(title="Visit")
    assert "CATEGORIES" not in db.session.get(EventIcal, event.id).vevent
    event.tags = get_tags(["ntnu", "eu"])
    db.session.commit()
    db.session.expire_all()
    assert "CATEGORIES:eu,ntnu\r\n" in db.session.get(EventIcal, event.id).vevent


def test_text_is_escaped_and_survives_a_strict_parser(public_calendar, make_event, feed):
    title = "Meeting; agenda, budget \\ plans"
    description = "Line one\nLine two, with comma; and semicolon"
    make_event(title=title, description=description, venue="Rådhuset, sal 1")
    data = feed(public_calendar, "public")
    assert b"SUMMARY:Meeting\\; agenda\\, budget \\\\ plans\r\n" in data
    assert b"DESCRIPTION:Line one\\nLine two\\, with comma\\; and semicolon\r\n" in data
    (vevent,) = vevents(data)
    assert vevent.summary.value == title
    assert vevent.description.value == description
    assert vevent.location.value == "Rådhuset, sal 1"


def test_long_lines_fold_at_75_octets_without_splitting_utf8(public_calendar, make_event, feed):
    title = "Æøå-festivalen på Ørlandet " * 6
    make_event(title=title.strip(), description="Blåbærsyltetøy og rømmegrøt " * 20)
    data = feed(public_calendar, "public")
    lines = data.split(b"\r\n")
    assert max(len(line) for line in lines) <= 75
    for line in lines:
        line.decode("utf-8")  # each physical line is valid UTF-8 on its own
    assert any(line.startswith(b" ") for line in lines)
    (vevent,) = vevents(data)
    assert vevent.summary.value == title.strip()


def test_bytes_are_crlf_without_bom_or_empty_properties(public_calendar, make_event, feed):
    make_event(title="No place, no description", venue="", description="")
    data = feed(public_calendar, "public")
    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.startswith(b"BEGIN:VCALENDAR\r\n") and data.endswith(b"END:VCALENDAR\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert not re.search(rb"^[A-Z-]+(;[^:\r\n]*)?:\r$", data.replace(b"\r\n", b"\r\n\n"), re.M)
    assert b"LOCATION" not in data and b"DESCRIPTION" not in data


def test_vtimezone_for_every_tzid_used(public_calendar, make_event, feed):
    make_event(title="Oslo")
    make_event(
        title="New York",
        timezone="America/New_York",
        starts_at=dt.datetime(2026, 7, 1, 9, tzinfo=ZoneInfo("America/New_York")),
    )
    data = feed(public_calendar, "public")
    used = set(re.findall(rb"TZID=([^:;]+)[:;]", data))
    defined = set(re.findall(rb"\r\nTZID:([^\r]+)\r\n", data))
    assert used == {b"Europe/Oslo", b"America/New_York"} == defined


def test_internal_notes_never_reach_a_feed(public_calendar, make_event, feed):
    make_event(title="Visit", outcome_notes="SECRET-OUTCOME", visibility="internal")
    make_event(title="Public", outcome_notes="SECRET-OUTCOME")
    for audience in ("public", "partners", "staff"):
        assert b"SECRET-OUTCOME" not in feed(public_calendar, audience)


def test_visibility_decides_what_each_audience_sees(db, make_event, feed):
    calendar = services.create_calendar(slug="all", name_nb="Alle", name_en="All")
    db.session.commit()
    public = make_event(title="Public", visibility="public")
    partners = make_event(title="Partners", visibility="partners")
    internal = make_event(title="Internal", visibility="internal")
    assert uids(feed(calendar, "public")) == {public.uid}
    assert uids(feed(calendar, "partners")) == {public.uid, partners.uid}
    assert uids(feed(calendar, "staff")) == {public.uid, partners.uid, internal.uid}
    assert b"CLASS:CONFIDENTIAL" in feed(calendar, "staff")


def test_calendar_rule_by_kind_and_tag_plus_events_added_by_hand(db, make_event, feed):
    calendar = services.create_calendar(
        slug="ntnu", name_nb="NTNU", name_en="NTNU", rule_kinds=["congress"], rule_tags="ntnu"
    )
    congress = make_event(title="Congress", kind="congress")
    db.session.commit()
    from crm.tags import get_tags

    congress.tags = get_tags(["ntnu"])
    untagged = make_event(title="Untagged congress", kind="congress")
    by_hand = make_event(title="Fair", kind="fair")
    services.add_event(calendar, by_hand)
    db.session.commit()
    assert uids(feed(calendar)) == {congress.uid, by_hand.uid}
    assert untagged.uid not in uids(feed(calendar))
    services.update_calendar(calendar, rule_enabled=False)
    assert uids(feed(calendar)) == {by_hand.uid}


def test_event_ics_is_a_whole_calendar_with_one_event_and_its_timezone(make_event):
    event = make_event(title="Delegation from Kyiv", outcome_notes="private")
    data = ical.event_ics(event)
    cal = icalendar.Calendar.from_ical(data)
    assert [str(e["UID"]) for e in cal.walk("VEVENT")] == [event.uid]
    assert [str(t["TZID"]) for t in cal.walk("VTIMEZONE")] == ["Europe/Oslo"]
    assert b"private" not in data


def test_ensure_default_calendars_is_idempotent(db):
    assert len(services.ensure_default_calendars()) == 1
    assert services.ensure_default_calendars() == []
    calendar = services.get_calendar("public")
    assert calendar.is_public and calendar.visibilities == ["public"]
    assert calendar.name("en") == "International events in Trondheim"


def test_refresh_all_vevents_rebuilds_missing_cache_rows(public_calendar, make_event, feed, db):
    event = make_event(title="Made before feeds existed")
    db.session.execute(db.delete(EventIcal))
    db.session.commit()
    assert uids(feed(public_calendar, "public")) == set()
    assert services.refresh_all_vevents() == 1
    db.session.commit()
    assert uids(feed(public_calendar, "public")) == {event.uid}
