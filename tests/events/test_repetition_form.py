"""Repetition in the event form: made, shown, kept, changed, stopped and refused."""

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from sqlalchemy import update

from crm.calendars import services as calendar_services
from crm.events.models import Event
from crm.events.recurrence import occurrences
from tests.deadline import finishes_within

OSLO = ZoneInfo("Europe/Oslo")
UTC = dt.UTC
# An imported series the simple fields cannot say: Mondays and Wednesdays, one skipped, one added.
COMPLEX_RULE = "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20270630T215959Z"
EXDATES = "20270512T090000"
RDATES = "20270514T090000"


def event_form(**overrides) -> dict:
    """A public event on Tuesday 4 May 2027, 09:00–10:00 in Oslo, that does not repeat."""
    data = {
        "title": "Consulate coffee",
        "kind": "meeting",
        "status": "confirmed",
        "visibility": "public",
        "timezone": "Europe/Oslo",
        "start_date": "2027-05-04",
        "start_time": "09:00",
        "end_date": "",
        "end_time": "10:00",
        "venue": "Rådhuset",
    }
    data.update(overrides)
    return data


def only_event(db) -> Event:
    db.session.expire_all()
    return db.session.scalars(db.select(Event)).one()


def count(db) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(Event))


def test_new_form_has_a_labelled_repetition_group(client, login_as):
    login_as("coordinator", locale="en")
    page = client.get("/events/new").text
    assert '<fieldset class="border rounded p-3 mb-3" aria-describedby="repetition-help">' in page
    assert '<legend class="h6">Repetition</legend>' in page
    assert '<label class="form-label" for="repeats">Repeats</label>' in page
    assert '<option selected value="">Does not repeat</option>' in page
    assert '<option value="fortnightly">Every two weeks</option>' in page
    assert 'for="repeat_until">Repeat until</label>' in page
    assert 'for="repeat_count">Number of times</label>' in page
    assert 'max="500"' in page and 'min="1"' in page
    assert 'id="repetition-help"' in page and "repeats without end" in page
    assert "repeat_stop" not in page


def test_weekly_event_from_the_form_repeats_in_the_api_and_the_feed(client, login_as, db):
    calendar_services.ensure_default_calendars()
    db.session.commit()
    login_as("coordinator", locale="en")
    response = client.post(
        "/events/new", data=event_form(repeats="weekly", repeat_until="2027-06-01")
    )
    assert response.status_code == 302
    event = only_event(db)
    # the last second of 1 June in Oslo (UTC+2), in UTC
    assert event.rrule == "FREQ=WEEKLY;UNTIL=20270601T215959Z"
    assert (event.exdates, event.rdates) == ("", "")
    expected = [dt.date(2027, 5, 4) + dt.timedelta(weeks=n) for n in range(5)]

    body = client.get("/api/events?start=2027-05-01&end=2027-07-01").json
    assert [item["starts_at"] for item in body["items"]] == [
        f"{day.isoformat()}T09:00:00+02:00" for day in expected
    ]
    assert all(item["recurring"] for item in body["items"])

    feed = client.get("/calendars/public.ics")
    assert b"RRULE:FREQ=WEEKLY;UNTIL=20270601T215959Z\r\n" in feed.data
    calendar = icalendar.Calendar.from_ical(feed.data)
    found = recurring_ical_events.of(calendar).between((2027, 5, 1), (2027, 7, 1))
    starts = sorted(o["DTSTART"].dt for o in found)
    assert [s.astimezone(OSLO) for s in starts] == [
        dt.datetime.combine(day, dt.time(9), OSLO) for day in expected
    ]

    page = client.get(f"/events/{event.id}").text
    assert "Repeats weekly until June 1, 2027" in page


def test_all_day_event_repeats_monthly_a_number_of_times(client, login_as, db):
    login_as("coordinator", locale="en")
    response = client.post(
        "/events/new",
        data=event_form(
            is_all_day="y",
            start_time="",
            end_time="",
            start_date="2027-01-31",
            repeats="monthly",
            repeat_count="3",
        ),
    )
    assert response.status_code == 302
    event = only_event(db)
    assert event.rrule == "FREQ=MONTHLY;COUNT=3"
    body = client.get("/api/events?start=2027-01-01&end=2027-06-01").json
    # RFC 5545: a month without a 31st is skipped, and COUNT counts the instances there are
    assert [item["start_date"] for item in body["items"]] == [
        "2027-01-31",
        "2027-03-31",
        "2027-05-31",
    ]
    assert "Repeats monthly, 3 times" in client.get(f"/events/{event.id}").text


def test_all_day_until_is_stored_as_a_date(client, login_as, db):
    login_as("coordinator")
    client.post(
        "/events/new",
        data=event_form(
            is_all_day="y",
            start_time="",
            end_time="",
            repeats="fortnightly",
            repeat_until="2027-06-01",
        ),
    )
    assert only_event(db).rrule == "FREQ=WEEKLY;INTERVAL=2;UNTIL=20270601"


def test_event_page_says_how_it_repeats_in_norwegian_and_lists_next_dates(client, login_as, db):
    start = dt.date.today() + dt.timedelta(days=2)
    login_as("coordinator", locale="nb")
    client.post(
        "/events/new",
        data=event_form(start_date=start.isoformat(), repeats="daily"),
    )
    event = only_event(db)
    page = client.get(f"/events/{event.id}").text
    assert "Gjentas hver dag, uten slutt" in page
    assert "Neste datoer:" in page
    assert page.count("<li>") >= 5
    third = start + dt.timedelta(days=2)
    assert f"{third.day}. " in page and third.strftime("%Y") in page


def test_edit_shows_the_repetition_and_saving_unchanged_keeps_the_rule_as_stored(
    client, login_as, db, make_event
):
    event = make_event(
        title="Network meeting",
        starts_at=dt.datetime(2027, 5, 4, 9, tzinfo=OSLO),
        ends_at=dt.datetime(2027, 5, 4, 10, tzinfo=OSLO),
        # as another calendar wrote it: INTERVAL=1 and an UNTIL at the last start
        rrule="FREQ=WEEKLY;INTERVAL=1;UNTIL=20270601T070000Z",
        exdates="20270511T090000",
    )
    sequence = event.sequence
    login_as("coordinator", locale="en")
    edit = client.get(f"/events/{event.id}/edit").text
    assert '<option selected value="weekly">' in edit
    assert 'name="repeat_until" type="date" value="2027-06-01"' in edit
    assert "The dates the imported series skips or adds are kept unless" in edit
    response = client.post(
        f"/events/{event.id}/edit",
        data=event_form(
            title="Network meeting",
            venue="",
            version=str(event.version),
            repeats="weekly",
            repeat_until="2027-06-01",
        ),
    )
    assert response.status_code == 302
    event = only_event(db)
    assert event.rrule == "FREQ=WEEKLY;INTERVAL=1;UNTIL=20270601T070000Z"
    assert event.exdates == "20270511T090000"
    assert event.sequence == sequence  # subscribers have nothing to update


def test_a_kept_until_is_rewritten_when_new_times_would_change_its_meaning(
    client, login_as, db, make_event
):
    event = make_event(
        starts_at=dt.datetime(2027, 5, 4, 9, tzinfo=OSLO),
        ends_at=dt.datetime(2027, 5, 4, 10, tzinfo=OSLO),
        rrule="FREQ=WEEKLY;UNTIL=20270601T070000Z",  # 09:00 in Oslo on the last day
    )
    login_as("coordinator")
    weekly = {"repeats": "weekly", "repeat_until": "2027-06-01"}
    later = event_form(version=str(event.version), start_time="11:00", end_time="12:00", **weekly)
    assert client.post(f"/events/{event.id}/edit", data=later).status_code == 302
    event = only_event(db)
    # as stored, 1 June at 11:00 would now fall after UNTIL; the form said "until 1 June"
    assert event.rrule == "FREQ=WEEKLY;UNTIL=20270601T215959Z"
    all_day = event_form(
        version=str(event.version), is_all_day="y", start_time="", end_time="", **weekly
    )
    assert client.post(f"/events/{event.id}/edit", data=all_day).status_code == 302
    assert only_event(db).rrule == "FREQ=WEEKLY;UNTIL=20270601"


def test_changing_the_repetition_on_purpose_rewrites_it_and_keeps_exdates(
    client, login_as, db, make_event
):
    event = make_event(
        starts_at=dt.datetime(2027, 5, 4, 9, tzinfo=OSLO),
        ends_at=dt.datetime(2027, 5, 4, 10, tzinfo=OSLO),
        rrule="FREQ=WEEKLY;COUNT=6",
        exdates="20270511T090000",
        rdates="20270513T090000",
    )
    login_as("coordinator")
    client.post(
        f"/events/{event.id}/edit",
        data=event_form(version=str(event.version), repeats="fortnightly", repeat_count="4"),
    )
    event = only_event(db)
    assert event.rrule == "FREQ=WEEKLY;INTERVAL=2;COUNT=4"
    assert (event.exdates, event.rdates) == ("20270511T090000", "20270513T090000")
    client.post(f"/events/{event.id}/edit", data=event_form(version=str(event.version)))
    event = only_event(db)
    assert (event.rrule, event.exdates, event.rdates) == ("", "", "")


def complex_event(make_event):
    return make_event(
        title="Language café",
        starts_at=dt.datetime(2027, 5, 3, 9, tzinfo=OSLO),
        ends_at=dt.datetime(2027, 5, 3, 10, tzinfo=OSLO),
        rrule=COMPLEX_RULE,
        exdates=EXDATES,
        rdates=RDATES,
    )


def test_imported_rule_is_shown_read_only_and_kept_byte_for_byte(client, login_as, db, make_event):
    event = complex_event(make_event)
    login_as("coordinator", locale="en")
    edit = client.get(f"/events/{event.id}/edit").text
    assert (
        "Repeats by an imported rule:" in edit
        and f'<code class="text-body">{COMPLEX_RULE}</code>' in edit
    )
    assert 'for="repeat_stop">Stop repeating</label>' in edit
    assert 'name="repeats"' not in edit and 'name="repeat_until"' not in edit
    page = client.get(f"/events/{event.id}").text
    assert f'Repeats by an imported rule: <code class="text-body">{COMPLEX_RULE}</code>' in page
    response = client.post(
        f"/events/{event.id}/edit",
        # a form that has no repetition fields posts none: that must not mean "does not repeat"
        data=event_form(
            title="Language café (renamed)",
            start_date="2027-05-03",
            venue="Biblioteket",
            version=str(event.version),
        ),
    )
    assert response.status_code == 302
    event = only_event(db)
    assert event.title == "Language café (renamed)"
    assert (event.rrule, event.exdates, event.rdates) == (COMPLEX_RULE, EXDATES, RDATES)


def test_stop_repeating_drops_the_imported_rule_and_its_dates(client, login_as, db, make_event):
    event = complex_event(make_event)
    login_as("coordinator")
    response = client.post(
        f"/events/{event.id}/edit",
        data=event_form(start_date="2027-05-03", version=str(event.version), repeat_stop="y"),
    )
    assert response.status_code == 302
    event = only_event(db)
    assert (event.rrule, event.exdates, event.rdates) == ("", "", "")


def test_a_time_change_that_breaks_a_kept_rule_is_explained_on_stop_repeating(
    client, login_as, db, make_event
):
    event = complex_event(make_event)
    login_as("coordinator", locale="en")
    response = client.post(
        f"/events/{event.id}/edit",
        data=event_form(start_date="2027-07-05", version=str(event.version)),
    )
    assert response.status_code == 200
    assert 'id="repeat_stop-error"' in response.text
    assert "The repetition must not end before the event starts." in response.text
    event = only_event(db)
    assert event.starts_at == dt.datetime(2027, 5, 3, 7, tzinfo=UTC)
    assert (event.rrule, event.exdates, event.rdates) == (COMPLEX_RULE, EXDATES, RDATES)


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        (
            {"repeats": "weekly", "repeat_until": "2027-05-03"},
            "repeat_until",
            "The repetition cannot end before the start date.",
        ),
        ({"repeats": "weekly", "repeat_count": "0"}, "repeat_count", "from 1 to 500"),
        ({"repeats": "daily", "repeat_count": "501"}, "repeat_count", "from 1 to 500"),
        (
            {"repeats": "weekly", "repeat_count": "3", "repeat_until": "2027-06-01"},
            "repeat_count",
            "not both",
        ),
        ({"repeats": "hourly"}, "repeats", "Not a valid choice"),
    ],
)
def test_bad_repetition_is_refused_and_changes_nothing(
    client, login_as, db, make_event, overrides, field, message
):
    login_as("coordinator", locale="en")
    response = client.post("/events/new", data=event_form(**overrides))
    assert response.status_code == 200
    assert f'id="{field}-error"' in response.text and f'href="#{field}"' in response.text
    assert message in response.text
    assert f'aria-describedby="{field}-help {field}-error"' in response.text
    assert count(db) == 0
    event = make_event(rrule="FREQ=WEEKLY;COUNT=6", exdates="20270511T090000")
    edit = client.post(
        f"/events/{event.id}/edit", data=event_form(version=str(event.version), **overrides)
    )
    assert edit.status_code == 200 and f'id="{field}-error"' in edit.text
    event = only_event(db)
    assert (event.title, event.rrule, event.exdates) == (
        "Delegation from Gothenburg",
        "FREQ=WEEKLY;COUNT=6",
        "20270511T090000",
    )


def test_end_fields_are_ignored_when_it_does_not_repeat(client, login_as, db):
    login_as("coordinator")
    response = client.post(
        "/events/new", data=event_form(repeats="", repeat_count="0", repeat_until="2020-01-01")
    )
    assert response.status_code == 302
    assert only_event(db).rrule == ""


@pytest.mark.parametrize(
    "all_day, rule",
    [
        (False, "FREQ=WEEKLY;UNTIL=20991231T100000"),  # timed, UNTIL without Z
        (True, "FREQ=WEEKLY;UNTIL=20991231T000000Z"),  # all-day, UNTIL a UTC time
        (False, "FREQ=WEEKLY;INTERVAL=0"),  # dateutil would loop for ever
        (False, "FREQ=YEARLY;BYMONTH=13"),
    ],
)
def test_event_page_shows_without_next_dates_when_a_stored_rule_cannot_be_read(
    client, login_as, db, make_event, caplog, all_day, rule
):
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    days = {"is_all_day": True, "start_on": tomorrow, "end_on": tomorrow} if all_day else {}
    event = make_event(title="Imported long ago", **days)
    db.session.execute(update(Event).where(Event.id == event.id).values(rrule=rule))
    db.session.commit()
    db.session.refresh(event)
    now = dt.datetime.now(UTC)
    # where a regression would hang the page, this fails instead
    with pytest.raises(ValueError):
        finishes_within(10, lambda: occurrences(event, now, now + dt.timedelta(days=400)))
    login_as("viewer", locale="en")
    with caplog.at_level("WARNING", logger="crm.events.views"):
        page = client.get(f"/events/{event.id}")
    assert page.status_code == 200
    assert "Imported long ago" in page.text and "Next dates:" not in page.text
    assert f"event {event.id}: unreadable recurrence" in caplog.text
