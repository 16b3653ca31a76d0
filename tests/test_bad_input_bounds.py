"""Input at the edges (unknown enum values, dates near year 1 or 9999, ids past 64 bits) gets a
clear answer or a 404, never a 500, and changes nothing."""

import io
import re

import pytest
from sqlalchemy import func, select

from crm.audit.models import AuditEntry
from crm.calendars import services as calendar_services
from crm.calendars.models import ImportBatch
from crm.contacts.models import Contact
from crm.events.models import Event, Participation, ProgrammeItem
from crm.followups.models import FollowUp
from crm.organisations.models import Organisation
from crm.timeutil import FIRST_DAY, LAST_DAY
from tests.calendars.test_importer import GOOGLE_BREAKFAST, calendar_file
from tests.events.test_views import event_form

HUGE = "99999999999999999999"  # past 2**63 - 1: SQLite cannot even compare with it
PAST_INTEGER = str(2**31)  # past PostgreSQL's integer ids
OUT_OF_RANGE = f"Use a date between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}."
BAD_DATE_NOTICE = "A date was not understood and was ignored. Use the form YYYY-MM-DD."


@pytest.fixture
def public_calendar(db):
    """The default `public` calendar."""
    calendar_services.ensure_default_calendars()
    db.session.commit()
    return calendar_services.get_calendar("public")


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_bound_is_one_pair_of_constants():
    assert (FIRST_DAY.isoformat(), LAST_DAY.isoformat()) == ("1900-01-01", "2999-12-31")


def test_organisation_list_ignores_an_unknown_kind(client, login_as, make_org):
    make_org(name="NTNU")
    login_as("viewer", locale="en")
    response = client.get("/organisations/?kind=x")
    assert response.status_code == 200
    assert "NTNU" in response.text


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"start_date": "0001-01-01", "start_time": "00:00"}, "start_date"),
        ({"start_date": "0001-01-01", "is_all_day": "y"}, "start_date"),
        ({"start_date": "9999-12-31", "is_all_day": "y"}, "start_date"),
        ({"start_date": "9999-12-31", "start_time": "23:00", "end_time": "23:59"}, "start_date"),
        ({"end_date": "9999-12-31", "is_all_day": "y"}, "end_date"),
        ({"repeats": "weekly", "repeat_until": "9999-12-31"}, "repeat_until"),
        (
            {"programme-0-on": "9999-12-31", "programme-0-starts_at": "10:00"},
            "programme-0-on",
        ),
        (
            {"programme-0-on": "0001-01-01", "programme-0-starts_at": "00:00"},
            "programme-0-on",
        ),
    ],
)
def test_event_form_refuses_dates_outside_the_bound(client, login_as, db, overrides, field):
    login_as("coordinator", locale="en")
    data = event_form(**{"programme-0-title": "Lunch", "programme-0-starts_at": "12:00"})
    data.update(overrides)
    response = client.post("/events/new", data=data)
    assert response.status_code == 200
    assert f'id="{field}-error"' in response.text
    assert OUT_OF_RANGE in response.text
    assert count(db, Event) == 0 and count(db, ProgrammeItem) == 0


def test_event_form_accepts_the_bound_itself(client, login_as, db):
    login_as("coordinator", locale="en")
    first = event_form(start_date=FIRST_DAY.isoformat(), is_all_day="y")
    last = event_form(start_date=LAST_DAY.isoformat(), start_time="23:00", end_time="23:59")
    assert client.post("/events/new", data=first).status_code == 302
    assert client.post("/events/new", data=last).status_code == 302
    assert count(db, Event) == 2


@pytest.mark.parametrize(
    "query", ["from=0001-01-01", "to=9999-12-31", "from=1899-12-31", "to=3000-01-01"]
)
def test_event_list_ignores_a_filter_date_outside_the_bound_and_says_so(
    client, login_as, make_event, query
):
    make_event(title="Visit")
    login_as("viewer", locale="en")
    response = client.get(f"/events/?{query}")
    assert response.status_code == 200
    assert BAD_DATE_NOTICE in response.text
    assert "Visit</a>" in response.text


def test_event_list_takes_the_bound_itself(client, login_as, make_event):
    make_event(title="Visit")
    login_as("viewer", locale="en")
    response = client.get(f"/events/?from={FIRST_DAY}&to={LAST_DAY}")
    assert response.status_code == 200
    assert BAD_DATE_NOTICE not in response.text and "Visit</a>" in response.text


def _far_event(dtstart: str) -> str:
    """A VEVENT body whose DTSTART is on line 5 of a file made by calendar_file."""
    return f"UID:far-1\nDTSTART:{dtstart}\nSUMMARY:Far away\n"


@pytest.mark.parametrize(
    "dtstart", ["99991231T230000Z", "00010101T000000Z", "99991231T230000", "18991231"]
)
def test_ics_preview_reports_a_date_outside_the_bound_as_a_bad_line(
    client, login_as, db, public_calendar, dtstart
):
    login_as("coordinator", locale="en")
    content = calendar_file(_far_event(dtstart), GOOGLE_BREAKFAST)
    preview = client.post(
        "/calendars/public/import",
        data={"file": (io.BytesIO(content), "far.ics")},
        content_type="multipart/form-data",
    )
    assert preview.status_code == 200
    assert "1 new, 0 changed, 0 unchanged, 1 with errors (left out)" in preview.text
    row = re.search(r"<tr>\s*<td>3</td>.*?</tr>", preview.text, re.S).group(0)
    assert "Line 5: " + OUT_OF_RANGE in row  # like a DTSTART that cannot be read
    assert count(db, Event) == 0
    batch = db.session.scalar(select(ImportBatch))
    assert client.post(f"/calendars/public/import/{batch.id}").status_code == 302
    assert db.session.scalars(select(Event.uid)).all() == ["breakfast-1"]


@pytest.mark.parametrize(
    "url, data",
    [
        ("/followups/new", {"title": "Send thanks", "due_on": "9999-12-31"}),
        ("/followups/new", {"title": "Send thanks", "due_on": "0001-01-01"}),
    ],
)
def test_follow_up_due_date_outside_the_bound_is_refused(client, login_as, db, url, data):
    login_as("coordinator", locale="en")
    response = client.post(url, data=data)
    assert response.status_code in (200, 422)
    assert OUT_OF_RANGE in response.text
    assert count(db, FollowUp) == 0


def test_audit_filter_dates_outside_the_bound_are_refused(client, login_as):
    login_as("admin", locale="en")
    for query in ("date_from=0001-01-01", "date_to=9999-12-31"):
        response = client.get(f"/audit/?{query}")
        assert response.status_code == 200
        assert OUT_OF_RANGE in response.text


@pytest.mark.parametrize(
    "url",
    [
        f"/events/{HUGE}",
        f"/events/{HUGE}/edit",
        f"/organisations/{HUGE}",
        f"/organisations/{HUGE}/edit",
        f"/contacts/{HUGE}",
        f"/contacts/{HUGE}/edit",
        f"/users/{HUGE}/edit",
        f"/data/merge/1/{HUGE}",
        f"/agreements/{HUGE}",
        f"/events/{2**63}",
        f"/events/{PAST_INTEGER}",
        f"/organisations/{PAST_INTEGER}/edit",
    ],
)
def test_an_id_past_the_databases_integers_in_a_url_is_404(client, login_as, url):
    login_as("admin")
    assert client.get(url).status_code == 404


def test_the_largest_id_is_looked_up_and_not_found(client, login_as):
    login_as("admin")
    assert client.get(f"/events/{2**31 - 1}").status_code == 404
    assert client.get(f"/organisations/{2**31 - 1}").status_code == 404


@pytest.mark.parametrize("prefix", ["/events/", "/organisations/", "/contacts/"])
def test_a_huge_page_number_is_a_page_past_the_end(
    client, login_as, make_event, make_org, make_contact, prefix
):
    make_event(title="Visit")
    make_org(name="NTNU")
    make_contact()
    login_as("viewer", locale="en")
    for page in (HUGE, str(2**63 // 25 + 1)):
        response = client.get(f"{prefix}?page={page}")
        assert response.status_code == 200
        assert "Visit</a>" not in response.text and ">NTNU</a>" not in response.text
        assert "Lindqvist" not in response.text


def test_contact_list_with_an_organisation_past_the_ids_is_like_an_unknown_one(
    client, login_as, make_contact
):
    make_contact()
    login_as("viewer", locale="en")
    unknown = client.get("/contacts/?organisation=999999")
    assert unknown.status_code == 200 and "Lindqvist" not in unknown.text
    for value in (HUGE, PAST_INTEGER):
        huge = client.get(f"/contacts/?organisation={value}")
        assert huge.status_code == 200 and "Lindqvist" not in huge.text


def test_audit_list_with_a_user_past_the_ids_is_like_an_unknown_one(client, login_as, db):
    login_as("admin", locale="en")
    assert count(db, AuditEntry) > 0  # the login
    unknown = client.get("/audit/?user=999999")
    assert unknown.status_code == 200 and "No entries match." in unknown.text
    for value in (HUGE, PAST_INTEGER):
        huge = client.get(f"/audit/?user={value}")
        assert huge.status_code == 200 and "No entries match." in huge.text
    assert "No entries match." not in client.get("/audit/").text


@pytest.mark.parametrize("kind", ["organisation", "contact"])
def test_participant_id_past_the_ids_is_like_an_unknown_id(
    client, login_as, db, make_event, make_org, make_contact, kind
):
    event = make_event()
    make_org(name="NTNU")
    make_contact(first_name="Kari", last_name="Nordmann")
    login_as("coordinator", locale="en")
    name = "NTNU" if kind == "organisation" else "Kari Nordmann"
    unknown = client.post(
        f"/events/{event.id}/participants",
        data={"kind": kind, "name": "Nobody", "participant_id": HUGE, "role": "guest"},
    )
    assert unknown.status_code == 200
    assert 'id="name-error"' in unknown.text and "is called “Nobody”" in unknown.text
    assert count(db, Participation) == 0
    by_name = client.post(
        f"/events/{event.id}/participants",
        data={"kind": kind, "name": name, "participant_id": HUGE, "role": "guest"},
    )
    assert by_name.status_code == 302
    assert count(db, Participation) == 1
    assert count(db, Organisation) == 1 and count(db, Contact) == 1


@pytest.mark.parametrize("field", ["expected_attendance", "actual_attendance"])
def test_an_attendance_past_the_column_is_refused(client, login_as, db, field):
    login_as("coordinator", locale="en")
    for value in (HUGE, "10000001"):
        response = client.post("/events/new", data=event_form(**{field: value}))
        assert response.status_code == 200
        assert "Enter a number of at most 10,000,000." in response.text
    assert count(db, Event) == 0
    assert client.post("/events/new", data=event_form(**{field: "10000000"})).status_code == 302


def test_a_gift_worth_more_than_any_gift_is_refused(client, login_as, db):
    from crm.protocol.models import Gift
    from tests.protocol.test_gifts import gift_form

    login_as("coordinator", locale="nb")
    for value in (HUGE, "10000000,01"):
        response = client.post("/gifts/new", data=gift_form(value=value))
        assert response.status_code == 200
        assert "10\u00a0000\u00a0000" in response.text  # the most, as Norwegian writes it
    assert count(db, Gift) == 0
    assert client.post("/gifts/new", data=gift_form(value="10000000")).status_code == 302
