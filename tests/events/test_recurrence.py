"""Repetition: the form's simple rules as RRULE values and back, the rule check, the services."""

import datetime as dt
import itertools
import sys
import time
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr

from crm.errors import ServiceError
from crm.events import services
from crm.events.models import Event
from crm.events.recurrence import (
    FREQUENCIES,
    REASONS,
    Repetition,
    RuleError,
    build_rrule,
    check_rrule,
    occurrences,
    parse_rrule,
    rule_error_message,
)
from tests.deadline import finishes_within

OSLO = ZoneInfo("Europe/Oslo")
UTC = dt.UTC


def oslo(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=OSLO)


def instances(rule: str, first: dt.datetime) -> list[dt.datetime]:
    return list(rrulestr(rule, dtstart=first))


# build_rrule


@pytest.mark.parametrize(
    "repetition, expected",
    [
        (Repetition(), ""),
        (Repetition("daily"), "FREQ=DAILY"),
        (Repetition("weekly", count=10), "FREQ=WEEKLY;COUNT=10"),
        (Repetition("fortnightly", count=3), "FREQ=WEEKLY;INTERVAL=2;COUNT=3"),
        (Repetition("monthly", until=dt.date(2027, 3, 3)), "FREQ=MONTHLY;UNTIL=20270303T225959Z"),
        (Repetition("yearly"), "FREQ=YEARLY"),
    ],
)
def test_build_rrule_for_a_timed_event(repetition, expected):
    assert build_rrule(repetition, zone="Europe/Oslo", all_day=False) == expected


@pytest.mark.parametrize(
    "until, zone, expected",
    [
        # Oslo: UTC+1 until the clocks go forward on 29 March 2026, UTC+2 until 25 October
        (dt.date(2026, 3, 28), "Europe/Oslo", "20260328T225959Z"),
        (dt.date(2026, 3, 29), "Europe/Oslo", "20260329T215959Z"),
        (dt.date(2026, 10, 24), "Europe/Oslo", "20261024T215959Z"),
        (dt.date(2026, 10, 25), "Europe/Oslo", "20261025T225959Z"),
        (dt.date(2026, 3, 8), "America/New_York", "20260309T035959Z"),
        (dt.date(2026, 7, 1), "UTC", "20260701T235959Z"),
    ],
)
def test_until_is_the_last_second_of_the_local_day_in_utc_across_dst(until, zone, expected):
    rule = build_rrule(Repetition("weekly", until=until), zone=zone, all_day=False)
    assert rule == f"FREQ=WEEKLY;UNTIL={expected}"


def test_until_on_the_spring_forward_day_keeps_a_late_instance_that_day():
    rule = build_rrule(
        Repetition("daily", until=dt.date(2026, 3, 29)), zone="Europe/Oslo", all_day=False
    )
    found = instances(rule, oslo(2026, 3, 27, 23, 30))
    assert found[-1] == oslo(2026, 3, 29, 23, 30)
    assert len(found) == 3


def test_all_day_until_is_a_date():
    rule = build_rrule(
        Repetition("weekly", until=dt.date(2027, 3, 3)), zone="Europe/Oslo", all_day=True
    )
    assert rule == "FREQ=WEEKLY;UNTIL=20270303"
    found = instances(rule, dt.datetime(2027, 2, 17))
    assert [d.date() for d in found] == [
        dt.date(2027, 2, 17),
        dt.date(2027, 2, 24),
        dt.date(2027, 3, 3),
    ]


# parse_rrule


ENDS = [
    {},
    {"count": 1},
    {"count": 500},
    {"until": dt.date(2026, 3, 29)},
    {"until": dt.date(2027, 3, 3)},
]


@pytest.mark.parametrize(
    "frequency, end, all_day", list(itertools.product(FREQUENCIES, ENDS, (False, True)))
)
def test_parse_gives_back_what_build_made(frequency, end, all_day):
    repetition = Repetition(frequency, **end)
    start = dt.date(2026, 3, 1) if all_day else oslo(2026, 3, 1, 18)
    rule = build_rrule(repetition, zone="Europe/Oslo", all_day=all_day)
    assert parse_rrule(rule, start=start, zone="Europe/Oslo") == repetition


def test_parse_reads_prefix_case_and_a_written_out_interval():
    start = oslo(2026, 3, 1, 18)
    assert parse_rrule("", start=start, zone="Europe/Oslo") == Repetition()
    assert parse_rrule("RRULE:FREQ=WEEKLY", start=start, zone="Europe/Oslo") == Repetition("weekly")
    assert parse_rrule("freq=daily;interval=1;count=4", start=start, zone="Europe/Oslo") == (
        Repetition("daily", count=4)
    )
    assert parse_rrule("FREQ=WEEKLY;INTERVAL=2", start=start, zone="Europe/Oslo") == (
        Repetition("fortnightly")
    )


def test_an_imported_utc_until_means_the_same_days_as_the_form_says():
    start = oslo(2026, 1, 7, 10)  # Wednesdays at 10:00
    for imported, last_day in (
        ("FREQ=WEEKLY;UNTIL=20270303T090000Z", dt.date(2027, 3, 3)),  # the last start itself
        ("FREQ=WEEKLY;UNTIL=20270303T085959Z", dt.date(2027, 3, 2)),  # a second before it
    ):
        repetition = parse_rrule(imported, start=start, zone="Europe/Oslo")
        assert repetition == Repetition("weekly", until=last_day)
        rebuilt = build_rrule(repetition, zone="Europe/Oslo", all_day=False)
        assert instances(rebuilt, start) == instances(imported, start)


@pytest.mark.parametrize(
    "rule, start",
    [
        ("FREQ=WEEKLY;BYDAY=MO,WE", oslo(2026, 3, 2, 10)),
        ("FREQ=MONTHLY;BYDAY=TU;BYSETPOS=2", oslo(2026, 3, 10, 10)),
        ("FREQ=DAILY;INTERVAL=3", oslo(2026, 3, 2, 10)),
        ("FREQ=HOURLY", oslo(2026, 3, 2, 10)),
        ("FREQ=WEEKLY;COUNT=501", oslo(2026, 3, 2, 10)),
        ("FREQ=WEEKLY;COUNT=3;UNTIL=20270303T225959Z", oslo(2026, 3, 2, 10)),
        ("FREQ=WEEKLY;UNTIL=20270303", oslo(2026, 3, 2, 10)),  # a DATE for a timed event
        ("FREQ=WEEKLY;UNTIL=20270303T225959Z", dt.date(2026, 3, 2)),  # a time for an all-day
        ("FREQ=WEEKLY;WKST=SU", oslo(2026, 3, 2, 10)),
        ("garbage", oslo(2026, 3, 2, 10)),
    ],
)
def test_rules_the_form_cannot_say_are_not_parsed(rule, start):
    assert parse_rrule(rule, start=start, zone="Europe/Oslo") is None


# check_rrule


def test_check_rrule_returns_the_stored_form():
    first = oslo(2026, 3, 2, 10)
    assert check_rrule("", first) == ""
    assert check_rrule(" rrule:freq=weekly;byday=mo,we ", first) == "FREQ=WEEKLY;BYDAY=MO,WE"
    assert check_rrule("FREQ=MONTHLY;BYDAY=-1FR;BYSETPOS=1", first) == (
        "FREQ=MONTHLY;BYDAY=-1FR;BYSETPOS=1"
    )
    assert check_rrule("FREQ=WEEKLY;UNTIL=20260302T090000Z", first)  # ends on its first start
    assert check_rrule("FREQ=YEARLY;UNTIL=20270302", dt.datetime(2026, 3, 2)) == (
        "FREQ=YEARLY;UNTIL=20270302"
    )


@pytest.mark.parametrize(
    "rule, reason",
    [
        ("garbage", "syntax"),
        ("COUNT=3", "syntax"),
        ("FREQ=FORTNIGHTLY", "syntax"),
        ("FREQ=WEEKLY;INTERVAL=0", "interval"),  # dateutil would loop forever
        ("FREQ=WEEKLY;INTERVAL=-1", "syntax"),
        ("FREQ=YEARLY;BYMONTH=13", "out_of_range"),  # dateutil would look until 9999
        ("FREQ=WEEKLY;BYDAY=XX", "syntax"),
        ("FREQ=MONTHLY;BYDAY=54MO", "out_of_range"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "out_of_range"),
        ("FREQ=MONTHLY;BYMONTHDAY=1X", "syntax"),
        ("FREQ=DAILY;BYHOUR=24", "out_of_range"),
        ("FREQ=SECONDLY", "frequency"),
        ("FREQ=MINUTELY;COUNT=5", "frequency"),
        ("FREQ=SECONDLY;BYMONTH=13", "frequency"),
        ("FREQ=WEEKLY;FOO=1", "syntax"),
        ("FREQ=WEEKLY;;", "syntax"),
        ("FREQ=WEEKLY;FREQ=DAILY", "syntax"),
        ("FREQ=WEEKLY\nEXDATE:20260309T100000", "syntax"),
        ("FREQ=WEEKLY;COUNT=0", "count"),
        ("FREQ=WEEKLY;COUNT=2;UNTIL=20270303T225959Z", "count_and_until"),
        ("FREQ=WEEKLY;UNTIL=20270303", "until_kind"),
        ("FREQ=WEEKLY;UNTIL=20270303T100000", "until_kind"),
        ("FREQ=WEEKLY;UNTIL=2027", "until_kind"),
        ("FREQ=WEEKLY;UNTIL=20260301T225959Z", "until_before_start"),
    ],
)
def test_check_rrule_refuses_with_a_reason(rule, reason):
    with pytest.raises(RuleError) as error:
        check_rrule(rule, oslo(2026, 3, 2, 10))
    assert error.value.reason == reason


def test_check_rrule_wants_a_date_until_for_all_day_events():
    with pytest.raises(RuleError) as error:
        check_rrule("FREQ=WEEKLY;UNTIL=20270303T225959Z", dt.datetime(2026, 3, 2))
    assert error.value.reason == "until_kind"
    with pytest.raises(RuleError) as error:
        check_rrule("FREQ=WEEKLY;UNTIL=20260301", dt.datetime(2026, 3, 2))
    assert error.value.reason == "until_before_start"


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",  # never: dateutil looks day by day until 9999
        "FREQ=HOURLY;BYMONTH=4;BYMONTHDAY=31",
        "FREQ=MONTHLY;BYSETPOS=-366;BYDAY=MO",
    ],
)
def test_check_rrule_refuses_a_rule_whose_first_dates_take_too_long(rule):
    started = time.perf_counter()
    with pytest.raises(RuleError) as error:
        finishes_within(30, lambda: check_rrule(rule, oslo(2026, 3, 2, 10)))
    assert error.value.reason == "too_complex"
    assert time.perf_counter() - started < 2  # the probe's budget is a tenth of a second


def test_check_rrule_refuses_a_rule_that_never_takes_place():
    with pytest.raises(RuleError) as error:
        # first start a Monday; Fridays until the Thursday after
        check_rrule("FREQ=WEEKLY;BYDAY=FR;UNTIL=20260305T000000Z", oslo(2026, 3, 2, 10))
    assert error.value.reason == "no_instances"
    # sparse but real: 29 February on a Monday (2044, 2072, ...)
    assert check_rrule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO", oslo(2026, 3, 2, 10))


def test_check_rrule_gives_back_a_debuggers_trace_function():
    calls = []

    def tracer(frame, event, arg):
        calls.append(event)

    sys.settrace(tracer)
    try:
        check_rrule("FREQ=WEEKLY;COUNT=3", oslo(2026, 3, 2, 10))
        with pytest.raises(RuleError):
            check_rrule("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", oslo(2026, 3, 2, 10))
        restored = sys.gettrace()
    finally:
        sys.settrace(None)
    assert restored is tracer
    assert "call" in calls  # it kept being called during the probe


@pytest.mark.usefixtures("_request")
def test_every_reason_has_a_message_of_its_own():
    generic = rule_error_message(RuleError("syntax"))
    for reason in REASONS:
        message = rule_error_message(RuleError(reason, "BYMONTH=13"))
        assert message and (message != generic) == (reason != "syntax"), reason


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=WEEKLY;INTERVAL=0",  # dateutil loops for ever
        "FREQ=WEEKLY;INTERVAL=1;INTERVAL=0",  # dateutil reads the last
        "FREQ=YEARLY;BYMONTH=13",
        "FREQ=DAILY;BYMONTHDAY=-32",
        "FREQ=MONTHLY;BYDAY=1000MO",
        "FREQ=SECONDLY;BYMONTH=13",
        "FREQ=MINUTELY",
    ],
)
def test_occurrences_refuses_a_stored_rule_that_would_run_away(rule):
    event = Event(
        title="Imported long ago",
        timezone="Europe/Oslo",
        is_all_day=False,
        starts_at=oslo(2020, 3, 2, 10),
        ends_at=oslo(2020, 3, 2, 11),
        rrule=rule,
    )
    with pytest.raises(ValueError):
        finishes_within(10, lambda: occurrences(event, oslo(2026, 3, 1), oslo(2026, 4, 1)))


# the services


@pytest.fixture
def _request(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


def count(db) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(Event))


def coffee(**kw) -> dict:
    data = {
        "title": "Consulate coffee",
        "kind": "meeting",
        "starts_at": oslo(2026, 3, 5, 10),
        "ends_at": oslo(2026, 3, 5, 11),
    }
    return {**data, **kw}


@pytest.mark.usefixtures("_request")
@pytest.mark.parametrize(
    "rule, message",
    [
        ("every tuesday", "not a repetition rule calendars understand"),
        ("FREQ=WEEKLY;INTERVAL=0", "interval (INTERVAL) must be 1 or more"),
        ("FREQ=YEARLY;BYMONTH=13", "The value BYMONTH=13 in the rule is out of range"),
        ("FREQ=MINUTELY", "cannot repeat every second or every minute (FREQ=MINUTELY)"),
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "too complex"),
        ("FREQ=WEEKLY;BYDAY=FR;UNTIL=20260306T000000Z", "never lets the event take place"),
        ("FREQ=WEEKLY;COUNT=0", "at least once"),
        ("FREQ=WEEKLY;UNTIL=20260101T000000Z", "must not end before the event starts"),
        ("FREQ=WEEKLY;UNTIL=20270303", "UTC time"),
    ],
)
def test_create_event_refuses_a_bad_rule_with_a_field_error(db, rule, message):
    with pytest.raises(ServiceError) as error:
        services.create_event(**coffee(rrule=rule))
    assert error.value.field == "rrule" and message in error.value.message
    db.session.rollback()
    assert count(db) == 0


@pytest.mark.usefixtures("_request")
def test_create_event_stores_the_rule_without_prefix(db):
    event = services.create_event(**coffee(rrule="RRULE:FREQ=WEEKLY;COUNT=4"))
    db.session.commit()
    assert event.rrule == "FREQ=WEEKLY;COUNT=4"


@pytest.mark.usefixtures("_request")
def test_update_event_refuses_garbage_and_changes_nothing(db):
    event = services.create_event(**coffee(rrule="FREQ=WEEKLY;COUNT=4"))
    event.exdates = "20260312T100000"
    db.session.commit()
    version = event.version
    with pytest.raises(ServiceError) as error:
        services.update_event(event, version=version, title="Renamed", rrule="FREQ=SOMETIMES")
    assert error.value.field == "rrule"
    db.session.rollback()
    db.session.expire_all()
    event = db.session.get(Event, event.id)
    assert (event.title, event.rrule, event.exdates) == (
        "Consulate coffee",
        "FREQ=WEEKLY;COUNT=4",
        "20260312T100000",
    )
    assert event.version == version


@pytest.mark.usefixtures("_request")
def test_stopping_the_repetition_drops_exdates_and_rdates_changing_it_keeps_them(db):
    event = services.create_event(**coffee(rrule="FREQ=WEEKLY;COUNT=4"))
    event.exdates, event.rdates = "20260312T100000", "20260313T100000"
    db.session.commit()
    services.update_event(event, rrule="FREQ=WEEKLY;COUNT=6")
    assert (event.rrule, event.exdates, event.rdates) == (
        "FREQ=WEEKLY;COUNT=6",
        "20260312T100000",
        "20260313T100000",
    )
    services.update_event(event, rrule="")
    assert (event.rrule, event.exdates, event.rdates) == ("", "", "")


@pytest.mark.usefixtures("_request")
def test_a_kept_rule_is_checked_when_the_times_change(db):
    rule = "FREQ=WEEKLY;BYDAY=TH,FR;UNTIL=20260430T215959Z"
    event = services.create_event(**coffee(rrule=rule))
    db.session.commit()
    # later, but still before UNTIL: fine, the rule stays byte for byte
    services.update_event(event, starts_at=oslo(2026, 3, 12, 10), ends_at=oslo(2026, 3, 12, 11))
    assert event.rrule == rule
    with pytest.raises(ServiceError) as error:
        services.update_event(event, starts_at=oslo(2026, 5, 7, 10), ends_at=oslo(2026, 5, 7, 11))
    assert error.value.field == "rrule" and "must not end before" in error.value.message
    db.session.rollback()
    with pytest.raises(ServiceError) as error:
        services.update_event(
            db.session.get(Event, event.id),
            is_all_day=True,
            start_on=dt.date(2026, 3, 5),
            end_on=dt.date(2026, 3, 5),
        )
    assert "must be a date" in error.value.message


@pytest.mark.usefixtures("_request")
def test_a_rule_already_broken_does_not_block_other_changes(db):
    event = services.create_event(**coffee())
    event.rrule = "FREQ=WEEKLY;X-GOOGLE=1"  # as an import may have stored it
    db.session.commit()
    services.update_event(event, starts_at=oslo(2026, 3, 6, 10), ends_at=oslo(2026, 3, 6, 11))
    services.update_event(event, title="Renamed")
    assert event.rrule == "FREQ=WEEKLY;X-GOOGLE=1"
