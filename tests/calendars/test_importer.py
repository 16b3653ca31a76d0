"""Importing .ics files from real clients, the preview, broken files, the CLI and the round trip."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import vobject
from sqlalchemy import func, select

from config import TestConfig
from crm import create_app
from crm.calendars import importer, services
from crm.calendars.importer import ImportFileError, resolve_zone
from crm.enums import EventStatus, Visibility
from crm.events.models import Event
from crm.events.recurrence import occurrences
from crm.extensions import db as _db
from tests.calendars.conftest import vevents
from tests.conftest import vars_of

OSLO = ZoneInfo("Europe/Oslo")
UTC = dt.UTC


def crlf(text: str) -> bytes:
    return text.strip().replace("\n", "\r\n").encode() + b"\r\n"


OUTLOOK = crlf("""
BEGIN:VCALENDAR
PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN
VERSION:2.0
METHOD:PUBLISH
BEGIN:VEVENT
UID:040000008200E00074C5B7101A82E008
SUMMARY:Møte med konsulatet
DTSTART;TZID=W. Europe Standard Time:20260330T100000
DTEND;TZID=W. Europe Standard Time:20260330T113000
LOCATION:Rådhuset\\, Trondheim
CLASS:PUBLIC
END:VEVENT
BEGIN:VEVENT
UID:eastern-1
SUMMARY:Call with New York
DTSTART;TZID="(UTC-05:00) Eastern Time (US & Canada)":20260115T090000
DTEND;TZID="(UTC-05:00) Eastern Time (US & Canada)":20260115T100000
CLASS:PRIVATE
END:VEVENT
END:VCALENDAR
""")

GOOGLE = crlf("""
BEGIN:VCALENDAR
PRODID:-//Google Inc//Google Calendar 70.9054//EN
VERSION:2.0
X-WR-CALNAME:Partners
X-WR-TIMEZONE:Europe/Oslo
BEGIN:VEVENT
UID:floating-1@google.com
SUMMARY:Floating breakfast
DTSTART:20260701T080000
DTEND:20260701T090000
END:VEVENT
BEGIN:VEVENT
UID:allday-1@google.com
SUMMARY:Olsok
DTSTART;VALUE=DATE:20260729
DTEND;VALUE=DATE:20260730
CATEGORIES:Culture,Festival
END:VEVENT
BEGIN:VEVENT
UID:utc-1@google.com
SUMMARY:UTC meeting
DTSTART:20261026T090000Z
DTEND:20261026T100000Z
END:VEVENT
END:VCALENDAR
""")

SERIES = crlf("""
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Apple Inc.//macOS 15//EN
BEGIN:VEVENT
UID:series-1
SUMMARY:Weekly language café
DTSTART;TZID=Europe/Oslo:20260106T180000
DTEND;TZID=Europe/Oslo:20260106T200000
RRULE:FREQ=WEEKLY;COUNT=4
SEQUENCE:2
END:VEVENT
BEGIN:VEVENT
UID:series-1
RECURRENCE-ID;TZID=Europe/Oslo:20260113T180000
SUMMARY:Language café (moved)
DTSTART;TZID=Europe/Oslo:20260114T180000
DTEND;TZID=Europe/Oslo:20260114T200000
END:VEVENT
BEGIN:VEVENT
UID:series-1
RECURRENCE-ID;TZID=Europe/Oslo:20260120T180000
SUMMARY:Language café
STATUS:CANCELLED
DTSTART;TZID=Europe/Oslo:20260120T180000
DTEND;TZID=Europe/Oslo:20260120T200000
END:VEVENT
END:VCALENDAR
""")

# Several VCALENDARs, LF line ends, a byte-order mark, no UIDs (Outlook Web Access).
MESSY = (
    "\ufeffBEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nSUMMARY:Kulturnatt på Bakklandet\n"
    "DTSTART:20260911T170000Z\nDTEND:20260911T210000Z\nDESCRIPTION:Æ\\, ø og å\\nny linje\n"
    "END:VEVENT\nEND:VCALENDAR\nBEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\n"
    "SUMMARY:Second calendar\nDTSTART;VALUE=DATE:20260912\nEND:VEVENT\nEND:VCALENDAR\n"
).encode()


@pytest.fixture
def calendar(request_ctx, public_calendar):
    return public_calendar


def imported(db, content, calendar):
    result = importer.import_events(calendar, content)
    db.session.commit()
    return result


def event(db, uid):
    return db.session.scalar(select(Event).where(Event.uid == uid))


def test_windows_zone_names_are_understood(db, calendar):
    imported(db, OUTLOOK, calendar)
    meeting = event(db, "040000008200E00074C5B7101A82E008")
    assert meeting.starts_at == dt.datetime(2026, 3, 30, 8, tzinfo=UTC)
    assert meeting.ends_at == dt.datetime(2026, 3, 30, 9, 30, tzinfo=UTC)
    assert meeting.venue == "Rådhuset, Trondheim"
    assert meeting.title == "Møte med konsulatet"
    call = event(db, "eastern-1")
    assert call.timezone == "America/New_York"
    assert call.starts_at == dt.datetime(2026, 1, 15, 14, tzinfo=UTC)


def test_resolve_zone_handles_windows_outlook_and_vendor_names():
    assert resolve_zone("W. Europe Standard Time") == "Europe/Berlin"
    assert resolve_zone("(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna") == (
        "Europe/Berlin"
    )
    assert resolve_zone("(UTC+04:00) Somewhere Else") == "Etc/GMT-4"
    assert resolve_zone("/mozilla.org/20050126_1/Europe/Oslo") == "Europe/Oslo"
    assert resolve_zone("Not a zone") is None


def test_private_events_become_internal_and_stay_out_of_public_feeds(db, calendar, feed):
    imported(db, OUTLOOK, calendar)
    assert event(db, "eastern-1").visibility == Visibility.INTERNAL
    assert event(db, "040000008200E00074C5B7101A82E008").visibility == Visibility.PUBLIC
    public_uids = {v.uid.value for v in vevents(feed(calendar, "public"))}
    assert public_uids == {"040000008200E00074C5B7101A82E008"}


def test_x_wr_timezone_floating_utc_and_all_day(db, calendar):
    imported(db, GOOGLE, calendar)
    floating = event(db, "floating-1@google.com")
    assert floating.timezone == "Europe/Oslo"
    assert floating.starts_at == dt.datetime(2026, 7, 1, 6, tzinfo=UTC)
    olsok = event(db, "allday-1@google.com")
    assert olsok.is_all_day
    assert (olsok.start_on, olsok.end_on) == (dt.date(2026, 7, 29), dt.date(2026, 7, 29))
    assert [t.name for t in olsok.tags] == ["culture", "festival"]
    utc_meeting = event(db, "utc-1@google.com")
    assert utc_meeting.starts_at == dt.datetime(2026, 10, 26, 9, tzinfo=UTC)
    assert utc_meeting.timezone == "Europe/Oslo"


def test_recurrence_overrides_become_exdates_plus_own_events(db, calendar, feed):
    imported(db, SERIES, calendar)
    series = event(db, "series-1")
    assert series.rrule == "FREQ=WEEKLY;COUNT=4"
    assert series.exdates.splitlines() == ["20260113T180000", "20260120T180000"]
    assert series.sequence == 2
    moved = event(db, "series-1/20260113T170000Z")
    assert moved.title == "Language café (moved)"
    assert moved.starts_at == dt.datetime(2026, 1, 14, 17, tzinfo=UTC)
    assert db.session.scalar(select(func.count()).select_from(Event)) == 2
    import recurring_ical_events
    from icalendar import Calendar

    occurrences = recurring_ical_events.of(Calendar.from_ical(feed(calendar))).between(
        (2026, 1, 1), (2026, 2, 1)
    )
    days = sorted(o["DTSTART"].dt.astimezone(OSLO).day for o in occurrences)
    assert days == [6, 14, 27]


def test_messy_file_with_bom_lf_several_calendars_and_no_uids(db, calendar):
    first = imported(db, MESSY, calendar)
    assert first.count("new") == 2
    again = importer.preview_import(MESSY)
    assert again.count("unchanged") == 2  # the derived UIDs are stable
    night = db.session.scalar(select(Event).where(Event.title == "Kulturnatt på Bakklandet"))
    assert night.description == "Æ, ø og å\nny linje"
    assert night.uid.endswith("@import.vertskap")


def test_preview_says_new_changed_unchanged_and_errors(db, calendar):
    imported(db, OUTLOOK, calendar)
    changed = OUTLOOK.replace(b"SUMMARY:Call with New York", b"SUMMARY:Call with Boston")
    broken_item = changed.replace(
        b"END:VCALENDAR", b"BEGIN:VEVENT\r\nUID:bad\r\nDTSTART:2026x\r\nEND:VEVENT\r\nEND:VCALENDAR"
    )
    preview = importer.preview_import(broken_item + GOOGLE)
    actions = {item.uid or item.line: item.action for item in preview.items}
    assert actions["040000008200E00074C5B7101A82E008"] == "unchanged"
    assert actions["eastern-1"] == "changed"
    assert actions["floating-1@google.com"] == "new"
    (error,) = [i for i in preview.items if i.action == "error"]
    assert error.line == 20 and "DTSTART" in error.error and "22" in error.error
    # the preview changed nothing
    assert event(db, "eastern-1").title == "Call with New York"
    assert event(db, "floating-1@google.com") is None


def test_item_errors_are_left_out_and_the_rest_imports(db, calendar):
    bad = GOOGLE.replace(b"DTSTART:20260701T080000", b"DTSTART:not-a-date")
    result = imported(db, bad, calendar)
    assert result.count("error") == 1 and result.count("new") == 2
    assert event(db, "floating-1@google.com") is None


@pytest.mark.parametrize(
    "content, line",
    [
        (OUTLOOK.replace(b"END:VEVENT\r\nBEGIN:VEVENT", b"BEGIN:VEVENT", 1), 12),
        (OUTLOOK.replace(b"CLASS:PUBLIC", b"this is not a property"), 11),
        (OUTLOOK.replace(b"END:VCALENDAR\r\n", b""), 1),
        (b"Subject,Start Date\r\nMeeting,2026-01-01\r\n", 1),
    ],
)
def test_broken_file_names_the_line_and_changes_nothing(db, calendar, content, line):
    with pytest.raises(ImportFileError) as caught:
        importer.import_events(calendar, content)
    db.session.rollback()
    assert str(line) in caught.value.message
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0


def test_import_updates_by_uid(db, calendar):
    imported(db, OUTLOOK, calendar)
    meeting = event(db, "040000008200E00074C5B7101A82E008")
    moved = OUTLOOK.replace(b"20260330T100000", b"20260330T120000").replace(
        b"20260330T113000", b"20260330T133000"
    )
    result = imported(db, moved, calendar)
    assert result.count("changed") == 1 and result.count("unchanged") == 1
    db.session.refresh(meeting)
    assert meeting.starts_at == dt.datetime(2026, 3, 30, 10, tzinfo=UTC)
    assert meeting.sequence == 1
    assert db.session.scalar(select(func.count()).select_from(Event)) == 2


def test_imported_events_belong_to_the_chosen_calendar(db, request_ctx, feed):
    calendar = services.create_calendar(
        slug="imports", name_nb="Import", name_en="Import", rule_enabled=False
    )
    db.session.commit()
    imported(db, GOOGLE, calendar)
    assert len(vevents(feed(calendar, "partners"))) == 3
    assert event(db, "utc-1@google.com").visibility == Visibility.PARTNERS


def test_cli_imports_with_progress(runner, db, public_calendar, tmp_path):
    path = tmp_path / "outlook.ics"
    path.write_bytes(OUTLOOK)
    result = runner.invoke(args=["crm", "import-ics", str(path), "--calendar", "public"])
    assert result.exit_code == 0, result.output
    assert "Imported: 2 new" in result.output
    assert db.session.scalar(select(func.count()).select_from(Event)) == 2
    bad = tmp_path / "bad.ics"
    bad.write_bytes(b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n")
    failed = runner.invoke(args=["crm", "import-ics", str(bad), "--calendar", "public"])
    assert failed.exit_code != 0 and re.search(r"(line|linje) 2\b", failed.output)
    unknown = runner.invoke(args=["crm", "import-ics", str(path), "--calendar", "nope"])
    assert unknown.exit_code != 0


def comparable(data: bytes) -> dict:
    """A feed's events without what legitimately differs between databases (stamps, URLs)."""
    out = {}
    for vevent in vevents(data):
        props = {}
        for name, lines in vevent.contents.items():
            if name in ("dtstamp", "last-modified", "url"):
                continue
            props[name] = sorted(line.serialize() for line in lines)
        out[vevent.uid.value] = props
    return out


def test_round_trip_export_import_export_gives_the_same_events(
    client, db, public_calendar, make_event, empty_database_uri
):
    make_event(title="Kulturnatt, Bakklandet; «æøå»", description="Line 1\nLine 2", venue="Torvet")
    make_event(
        title="Olsok",
        is_all_day=True,
        start_on=dt.date(2026, 7, 29),
        end_on=dt.date(2026, 7, 30),
        starts_at=dt.datetime(2026, 7, 29, tzinfo=OSLO),
        ends_at=dt.datetime(2026, 7, 31, tzinfo=OSLO),
    )
    series = make_event(
        title="Language café",
        starts_at=dt.datetime(2026, 1, 6, 18, tzinfo=OSLO),
        rrule="FREQ=WEEKLY;UNTIL=20260301T000000Z",
        exdates="20260113T180000",
    )
    from crm.tags import get_tags

    series.tags = get_tags(["culture", "language"])
    make_event(title="Cancelled", status="cancelled")
    make_event(
        title="New York",
        timezone="America/New_York",
        starts_at=dt.datetime(2026, 11, 1, 1, 30, tzinfo=ZoneInfo("America/New_York")),
    )
    db.session.commit()
    exported = client.get("/calendars/public.ics").data

    other = create_app({**vars_of(TestConfig), "SQLALCHEMY_DATABASE_URI": empty_database_uri})
    with other.app_context(), other.test_request_context():
        _db.create_all()
        services.ensure_default_calendars()
        importer.import_events(services.get_calendar("public"), exported)
        _db.session.commit()
        again = other.test_client().get("/calendars/public.ics").data
        _db.session.remove()
        _db.drop_all()
        _db.engine.dispose()
    assert comparable(again) == comparable(exported)
    assert len(comparable(exported)) == 5
    assert vobject.readOne(again.decode()).x_wr_calname.value == (
        "Internasjonale arrangementer i Trondheim"
    )


def test_cancelled_import_keeps_cancelled_status(db, calendar):
    cancelled = GOOGLE.replace(b"SUMMARY:UTC meeting", b"SUMMARY:UTC meeting\r\nSTATUS:CANCELLED")
    imported(db, cancelled, calendar)
    assert event(db, "utc-1@google.com").status == EventStatus.CANCELLED


# Repetition rules: checked before import, normalised where the file's is merely of another kind.


def calendar_file(*vevents: str, header: str = "") -> bytes:
    """A VCALENDAR of these VEVENT bodies (CRLF)."""
    body = "".join(f"BEGIN:VEVENT\n{v.strip()}\nEND:VEVENT\n" for v in vevents)
    return crlf(f"BEGIN:VCALENDAR\nVERSION:2.0\n{header}{body}END:VCALENDAR")


def weekly_cafe(rule: str, uid: str = "cafe-1") -> str:
    """A Monday 10:00 Oslo event with this RRULE; first in a file, its RRULE is on line 8."""
    return f"""
UID:{uid}
SUMMARY:Language café
DTSTART;TZID=Europe/Oslo:20260302T100000
DTEND;TZID=Europe/Oslo:20260302T110000
RRULE:{rule}
"""


@pytest.fixture
def english(app, request_ctx):
    """English messages (the default language is Norwegian)."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize(
    "rule, reason",
    [
        ("FREQ=WEEKLY;INTERVAL=0", "The rule's interval (INTERVAL) must be 1 or more."),
        ("FREQ=SECONDLY", "cannot repeat every second or every minute (FREQ=SECONDLY)"),
        ("FREQ=MINUTELY;COUNT=10", "cannot repeat every second or every minute (FREQ=MINUTELY)"),
        ("FREQ=YEARLY;BYMONTH=13", "The value BYMONTH=13 in the rule is out of range."),
        ("FREQ=SECONDLY;BYMONTH=13", "(FREQ=SECONDLY)"),
        ("FREQ=DAILY;BYMONTHDAY=30;BYMONTH=2", "too complex"),  # never: 30 February
        ("FREQ=WEEKLY;UNTIL=20260305T000000Z;BYDAY=FR", "never lets the event take place"),
        ("FREQ=WEEKLY;COUNT=0", "at least once"),
        ("FREQ=WEEKLY;UNTIL=20260101T000000Z", "must not end before the event starts"),
        ("FREQ=FORTNIGHTLY", "not a repetition rule calendars understand"),
    ],
)
def test_preview_lists_an_event_whose_rule_cannot_be_used_with_the_reason(
    db, calendar, rule, reason
):
    content = calendar_file(weekly_cafe(rule), GOOGLE_BREAKFAST)
    preview = importer.preview_import(content)
    bad, good = preview.items
    assert (bad.action, bad.uid, bad.title) == ("error", "cafe-1", "Language café")
    assert bad.error.startswith("Line 8: ") and reason in bad.error
    # the rule as icalendar writes it back (these are in its order)
    assert f"(RRULE:{rule})" in bad.error
    assert good.action == "new"
    # the import leaves it out and imports the rest, as for any event that cannot be read
    result = imported(db, content, calendar)
    assert (result.count("error"), result.count("new")) == (1, 1)
    assert event(db, "cafe-1") is None
    assert event(db, "breakfast-1") is not None


GOOGLE_BREAKFAST = """
UID:breakfast-1
SUMMARY:Breakfast
DTSTART;TZID=Europe/Oslo:20260701T080000
DTEND;TZID=Europe/Oslo:20260701T090000
"""


def test_a_bad_rule_changes_nothing_of_the_event_already_imported(db, calendar):
    imported(db, calendar_file(weekly_cafe("FREQ=WEEKLY;COUNT=4")), calendar)
    before = event(db, "cafe-1")
    kept = (before.title, before.rrule, before.sequence, before.updated_at)
    renamed = weekly_cafe("FREQ=WEEKLY;INTERVAL=0").replace("Language café", "Renamed")
    result = imported(db, calendar_file(renamed), calendar)
    assert result.count("error") == 1 and result.count("changed") == 0
    db.session.expire_all()
    after = event(db, "cafe-1")
    assert (after.title, after.rrule, after.sequence, after.updated_at) == kept
    assert db.session.scalar(select(func.count()).select_from(Event)) == 1


def test_bad_rule_messages_are_norwegian_by_default(db, calendar):
    (item,) = importer.preview_import(calendar_file(weekly_cafe("FREQ=WEEKLY;INTERVAL=0"))).items
    assert item.error == (
        "Linje 8: Regelens intervall (INTERVAL) må være 1 eller mer. (RRULE:FREQ=WEEKLY;INTERVAL=0)"
    )


@pytest.mark.usefixtures("english")
def test_unreadable_exdate_and_rdate_are_errors_naming_their_line(db, calendar):
    content = calendar_file(
        weekly_cafe("FREQ=WEEKLY;COUNT=4") + "EXDATE;TZID=Europe/Oslo:2026x\n",
        weekly_cafe("FREQ=WEEKLY;COUNT=4", uid="cafe-2") + "RDATE;VALUE=DATE:20261301\n",
    )
    first, second = importer.preview_import(content).items
    assert first.error == "Line 9: EXDATE cannot be read."
    assert second.error == "Line 17: RDATE cannot be read."


def starts_by_us(db, uid, start, end) -> list[dt.datetime]:
    """The instants our calendar shows for the imported event."""
    return [o.starts_at.astimezone(UTC) for o in occurrences(event(db, uid), start, end)]


def starts_by_recurring_ical_events(content: bytes, start, end) -> list[dt.datetime]:
    """The instants an independent parser reads in the original file."""
    import icalendar
    import recurring_ical_events

    found = recurring_ical_events.of(icalendar.Calendar.from_ical(content)).between(start, end)
    return sorted(o["DTSTART"].dt.astimezone(UTC) for o in found)


def test_outlook_until_in_local_time_is_made_utc_and_gives_the_same_instances(db, calendar):
    # Outlook writes UNTIL as the last instance's local time in the DTSTART's zone, without Z
    content = calendar_file(weekly_cafe("FREQ=WEEKLY;UNTIL=20260330T100000;BYDAY=MO"))
    result = imported(db, content, calendar)
    assert result.count("new") == 1
    # 10:00 in Oslo on 30 March (summer time) is 08:00 UTC
    assert event(db, "cafe-1").rrule == "FREQ=WEEKLY;UNTIL=20260330T080000Z;BYDAY=MO"
    start, end = dt.datetime(2026, 1, 1, tzinfo=UTC), dt.datetime(2027, 1, 1, tzinfo=UTC)
    ours = starts_by_us(db, "cafe-1", start, end)
    assert ours == starts_by_recurring_ical_events(content, start, end)
    assert [s.astimezone(OSLO).strftime("%d %H:%M") for s in ours] == [
        "02 10:00",
        "09 10:00",
        "16 10:00",
        "23 10:00",
        "30 10:00",  # across the change to summer time, and the last one kept
    ]


def test_floating_until_of_a_floating_event_is_read_in_the_calendars_zone(db, calendar):
    content = calendar_file(
        """
UID:floating-series
SUMMARY:Breakfast
DTSTART:20260302T080000
DTEND:20260302T090000
RRULE:FREQ=WEEKLY;UNTIL=20260316T080000
""",
        header="X-WR-TIMEZONE:Europe/Oslo\n",
    )
    imported(db, content, calendar)
    series = event(db, "floating-series")
    assert series.rrule == "FREQ=WEEKLY;UNTIL=20260316T070000Z"
    start, end = dt.datetime(2026, 1, 1, tzinfo=UTC), dt.datetime(2027, 1, 1, tzinfo=UTC)
    assert [s.day for s in starts_by_us(db, "floating-series", start, end)] == [2, 9, 16]


def test_date_until_of_a_timed_event_means_up_to_the_end_of_that_day(db, calendar):
    imported(db, calendar_file(weekly_cafe("FREQ=WEEKLY;UNTIL=20260330")), calendar)
    # the last second of 30 March in Oslo, as the event form writes "until 30 March"
    assert event(db, "cafe-1").rrule == "FREQ=WEEKLY;UNTIL=20260330T215959Z"
    start, end = dt.datetime(2026, 1, 1, tzinfo=UTC), dt.datetime(2027, 1, 1, tzinfo=UTC)
    assert [s.day for s in starts_by_us(db, "cafe-1", start, end)] == [2, 9, 16, 23, 30]


def market(until: str) -> str:
    """An all-day market on Tuesdays from 3 March 2026."""
    return f"""
UID:market-1
SUMMARY:Market
DTSTART;VALUE=DATE:20260303
DTEND;VALUE=DATE:20260304
RRULE:FREQ=WEEKLY;UNTIL={until}
"""


@pytest.mark.parametrize(
    "until, stored",
    [
        # Outlook and Android: the last day's midnight in Oslo (summer time), in UTC
        ("20260330T220000Z", "20260331"),
        ("20260331T000000", "20260331"),  # a local time: its own day
        ("20260331T120000Z", "20260331"),
        ("20260331", "20260331"),  # already a date
    ],
)
def test_date_time_until_of_an_all_day_event_becomes_its_day(db, calendar, until, stored):
    imported(db, calendar_file(market(until)), calendar)
    series = event(db, "market-1")
    assert series.rrule == f"FREQ=WEEKLY;UNTIL={stored}"
    start, end = dt.datetime(2026, 1, 1, tzinfo=UTC), dt.datetime(2027, 1, 1, tzinfo=UTC)
    days = [o.start_on.day for o in occurrences(series, start, end)]
    assert days == [3, 10, 17, 24, 31]


@pytest.mark.usefixtures("english")
def test_a_file_whose_rules_take_too_long_altogether_is_refused_whole(db, calendar, monkeypatch):
    monkeypatch.setattr(importer, "RULES_SECONDS", 0.15)  # each slow rule spends 0.1 s
    slow = "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"
    content = calendar_file(
        GOOGLE_BREAKFAST, *(weekly_cafe(slow, uid=f"slow-{n}") for n in range(3))
    )
    with pytest.raises(ImportFileError) as caught:
        importer.import_events(calendar, content)
    db.session.rollback()
    assert "take too long to work out; nothing was imported" in caught.value.message
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0


def test_cli_names_the_bad_rule_and_imports_the_rest(runner, db, public_calendar, tmp_path):
    path = tmp_path / "bad-rule.ics"
    path.write_bytes(calendar_file(weekly_cafe("FREQ=WEEKLY;INTERVAL=0"), GOOGLE_BREAKFAST))
    result = runner.invoke(args=["crm", "import-ics", str(path), "--calendar", "public"])
    assert result.exit_code == 0, result.output
    assert "INTERVAL" in result.output and "1 new" in result.output
    assert "1 with errors" in result.output
    assert db.session.scalar(select(Event.uid)) == "breakfast-1"
