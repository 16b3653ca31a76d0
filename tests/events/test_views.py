"""Event pages: roles, the one-page delegation form, validation, lists, locking, DST display."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from crm.events.models import Event, Participation, ProgrammeItem
from tests.html_forms import form_fields

OSLO = ZoneInfo("Europe/Oslo")
UTC = dt.UTC


def event_form(**overrides) -> dict:
    data = {
        "title": "Delegation from Gothenburg",
        "kind": "delegation",
        "status": "confirmed",
        "visibility": "internal",
        "timezone": "Europe/Oslo",
        "start_date": "2027-05-04",
        "start_time": "09:00",
        "end_date": "",
        "end_time": "17:00",
        "venue": "Rådhuset",
    }
    data.update(overrides)
    return data


def count(db, model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def only_event(db) -> Event:
    return db.session.scalars(db.select(Event)).one()


def test_anonymous_is_sent_to_login(client):
    response = client.get("/events/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_viewer_reads_but_cannot_change(client, login_as, db, make_event, make_org):
    event = make_event()
    org = make_org()
    login_as("viewer")
    assert client.get("/events/").status_code == 200
    page = client.get(f"/events/{event.id}")
    assert page.status_code == 200 and "Delegation from Gothenburg" in page.text
    assert f"/events/{event.id}/edit" not in page.text
    assert f'action="/events/{event.id}/participants"' not in page.text
    assert client.get("/events/new").status_code == 403
    assert client.post("/events/new", data=event_form()).status_code == 403
    assert client.get(f"/events/{event.id}/edit").status_code == 403
    assert client.post(f"/events/{event.id}/edit", data=event_form()).status_code == 403
    assert client.post(f"/events/{event.id}/delete").status_code == 403
    add = {"kind": "organisation", "name": org.name, "role": "host"}
    assert client.post(f"/events/{event.id}/participants", data=add).status_code == 403
    assert client.post(f"/events/{event.id}/participants/1/delete").status_code == 403
    assert count(db, Participation) == 0


def test_new_form_preselects_delegation_and_has_empty_rows_without_javascript(client, login_as):
    user = login_as("coordinator", name="Kari Nordmann")
    page = client.get("/events/new?kind=delegation").text
    assert '<option selected value="delegation">' in page
    assert f'<option selected value="{user.id}">Kari Nordmann</option>' in page
    assert 'name="programme-2-title"' in page and 'name="programme-3-title"' not in page
    assert 'name="participations-2-name"' in page
    assert 'data-picker="organisations"' in page
    assert 'type="date"' in page and 'type="time"' in page
    assert "data-add-row" in page and "js/event_form.js" in page and "js/picker.js" in page
    assert '<option selected value="Europe/Oslo">' in page
    other = client.get("/events/new?kind=congress").text
    assert '<option selected value="congress">' in other


def test_delegation_with_programme_and_participants_in_one_post(
    client, login_as, db, make_org, make_contact
):
    user = login_as("coordinator")
    org = make_org(name="Göteborgs Stad", country="SE", city="Göteborg")
    contact = make_contact(first_name="Åsa", last_name="Berg")
    data = event_form(
        countries=["SE", "NO"],
        tags="Twin city, Sweden",
        responsible_id=str(user.id),
        expected_attendance="12",
        **{
            "programme-0-starts_at": "09:00",
            "programme-0-ends_at": "10:00",
            "programme-0-title": "Welcome at the city hall",
            "programme-0-place": "Rådhuset",
            "programme-0-who": "Mayor",
            "programme-1-title": "",  # an empty row is ignored
            "programme-2-on": "2027-05-04",
            "programme-2-starts_at": "12:00",
            "programme-2-title": "Lunch",
            "programme-3-starts_at": "19:30",
            "programme-3-on": "2027-05-03",
            "programme-3-title": "Arrival dinner",
            "participations-0-kind": "organisation",
            "participations-0-name": "göteborgs stad",
            "participations-0-role": "delegate",
            "participations-1-kind": "contact",
            "participations-1-name": "ÅSA BERG",
            "participations-1-role": "speaker",
            "participations-2-kind": "organisation",
            "participations-2-name": "",
            "participations-2-role": "guest",
        },
    )
    response = client.post("/events/new", data=data)
    assert response.status_code == 302, response.text
    event = only_event(db)
    assert event.kind.value == "delegation"
    assert event.starts_at == dt.datetime(2027, 5, 4, 7, tzinfo=UTC)
    assert event.ends_at == dt.datetime(2027, 5, 4, 15, tzinfo=UTC)
    assert event.country_codes == ["NO", "SE"]
    assert event.expected_attendance == 12
    assert [t.name for t in event.tags] == ["sweden", "twin city"]
    assert [(i.title, i.local_start.strftime("%d %H:%M")) for i in event.programme] == [
        ("Arrival dinner", "03 19:30"),
        ("Welcome at the city hall", "04 09:00"),
        ("Lunch", "04 12:00"),
    ]
    assert event.programme[1].place == "Rådhuset" and event.programme[1].who == "Mayor"
    assert [(p.organisation_id, p.contact_id, p.role.value) for p in event.participations] == [
        (org.id, None, "delegate"),
        (None, contact.id, "speaker"),
    ]
    page = client.get(response.headers["Location"]).text
    assert "Welcome at the city hall" in page and "Lunch" in page
    assert f'href="/organisations/{org.id}"' in page
    assert f'href="/contacts/{contact.id}"' in page
    assert "Sverige" in page and "Norge" in page
    # and back: the organisation's page links to the event
    assert f'href="/events/{event.id}"' in client.get(f"/organisations/{org.id}").text


def test_picker_id_tells_two_people_with_one_name_apart(client, login_as, db, make_contact):
    login_as("coordinator")
    make_contact(first_name="Ola", last_name="Nordmann", email="a@example.org")
    second = make_contact(first_name="Ola", last_name="Nordmann", email="b@example.org")
    row = {
        "participations-0-kind": "contact",
        "participations-0-name": "Ola Nordmann",
        "participations-0-role": "guest",
    }
    refused = client.post("/events/new", data=event_form(**row))
    assert refused.status_code == 200 and 'id="participations-0-name-error"' in refused.text
    assert count(db, Event) == 0
    row["participations-0-participant_id"] = str(second.id)
    assert client.post("/events/new", data=event_form(**row)).status_code == 302
    assert only_event(db).participations[0].contact_id == second.id


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"title": ""}, "title"),
        ({"kind": "picnic"}, "kind"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"start_date": ""}, "start_date"),
        ({"start_date": "04.05.2027"}, "start_date"),
        ({"start_time": "25:00"}, "start_time"),
        ({"end_time": ""}, "end_time"),
        ({"end_time": "08:00"}, "end_time"),
        ({"start_date": "2026-03-29", "start_time": "02:30", "end_time": "05:00"}, "start_time"),
        ({"is_all_day": "y", "end_date": "2027-05-01"}, "end_date"),
        ({"countries": ["SE", "XX"]}, "countries"),
        ({"expected_attendance": "-3"}, "expected_attendance"),
        ({"responsible_id": "9999"}, "responsible_id"),
        ({"programme-0-starts_at": "10:00"}, "programme-0-title"),
        ({"programme-0-title": "Lunch"}, "programme-0-starts_at"),
        (
            {
                "programme-0-title": "Lunch",
                "programme-0-starts_at": "12:00",
                "programme-0-ends_at": "11:00",
            },
            "programme-0-ends_at",
        ),
        (
            {
                "programme-0-title": "",
                "programme-1-title": "Later",
                "programme-1-starts_at": "12:00",
                "programme-1-on": "2027-09-01",
            },
            "programme-1-starts_at",
        ),
        ({"participations-0-name": "Nobody Inc."}, "participations-0-name"),
        (
            {"participations-1-name": "NTNU", "participations-1-role": "boss"},
            "participations-1-role",
        ),
    ],
)
def test_event_form_errors_change_nothing(client, login_as, db, make_org, overrides, field):
    make_org(name="NTNU")
    login_as("coordinator", locale="en")
    response = client.post("/events/new", data=event_form(**overrides))
    assert response.status_code == 200
    assert "error-summary" in response.text
    assert f'id="{field}-error"' in response.text
    assert f'href="#{field}"' in response.text
    assert count(db, Event) == 0
    assert count(db, ProgrammeItem) == 0 and count(db, Participation) == 0


def test_unknown_participant_name_is_explained_on_its_row(client, login_as, db):
    login_as("coordinator", locale="en")
    response = client.post(
        "/events/new",
        data=event_form(
            **{
                "participations-1-kind": "organisation",
                "participations-1-name": "Nobody Inc.",
                "participations-1-role": "guest",
            }
        ),
    )
    assert "No organisation is called “Nobody Inc.”" in response.text
    assert 'value="Nobody Inc."' in response.text  # what was typed stays
    assert count(db, Event) == 0


def test_spring_forward_gap_time_is_refused_with_a_clear_message(client, login_as, db):
    login_as("coordinator", locale="en")
    response = client.post(
        "/events/new",
        data=event_form(start_date="2026-03-29", start_time="02:30", end_time="05:00"),
    )
    assert "02:30 on 2026-03-29 does not exist in Europe/Oslo" in response.text
    assert count(db, Event) == 0


def test_event_across_the_autumn_change_is_stored_and_shown_in_local_time(client, login_as, db):
    login_as("coordinator")
    response = client.post(
        "/events/new",
        data=event_form(start_date="2026-10-25", start_time="01:30", end_time="03:30"),
    )
    assert response.status_code == 302
    event = only_event(db)
    assert event.starts_at == dt.datetime(2026, 10, 24, 23, 30, tzinfo=UTC)
    assert event.ends_at == dt.datetime(2026, 10, 25, 2, 30, tzinfo=UTC)
    page = client.get(f"/events/{event.id}").text
    assert "01:30" in page and "03:30" in page
    edit = client.get(f"/events/{event.id}/edit").text
    assert 'name="start_time" type="time" value="01:30"' in edit
    assert 'name="end_time" type="time" value="03:30"' in edit
    assert 'name="start_date" required type="date" value="2026-10-25"' in edit


def test_event_across_the_spring_change_is_stored_and_shown_in_local_time(client, login_as, db):
    login_as("coordinator")
    client.post(
        "/events/new",
        data=event_form(start_date="2026-03-29", start_time="01:00", end_time="04:00"),
    )
    event = only_event(db)
    assert event.starts_at == dt.datetime(2026, 3, 29, 0, tzinfo=UTC)
    assert event.ends_at == dt.datetime(2026, 3, 29, 2, tzinfo=UTC)
    page = client.get(f"/events/{event.id}").text
    assert "01:00" in page and "04:00" in page


def test_all_day_event_from_the_form_is_stored_as_dates(client, login_as, db):
    login_as("coordinator")
    response = client.post(
        "/events/new",
        data=event_form(
            is_all_day="y",
            start_date="2027-06-01",
            end_date="2027-06-03",
            start_time="",
            end_time="",
        ),
    )
    assert response.status_code == 302
    event = only_event(db)
    assert event.is_all_day
    assert (event.start_on, event.end_on) == (dt.date(2027, 6, 1), dt.date(2027, 6, 3))
    assert event.starts_at == dt.datetime(2027, 5, 31, 22, tzinfo=UTC)
    assert event.ends_at == dt.datetime(2027, 6, 3, 22, tzinfo=UTC)
    edit = client.get(f"/events/{event.id}/edit").text
    assert 'name="is_all_day" type="checkbox" value="y"' in edit and "checked" in edit
    assert 'value="2027-06-03"' in edit


def test_times_are_shown_in_the_events_zone_with_its_name(client, login_as, make_event):
    new_york = ZoneInfo("America/New_York")
    event = make_event(
        title="Visit to New York",
        timezone="America/New_York",
        starts_at=dt.datetime(2027, 5, 4, 9, 15, tzinfo=new_york),
        ends_at=dt.datetime(2027, 5, 4, 11, 45, tzinfo=new_york),
    )
    oslo_event = make_event(title="Local", starts_at=dt.datetime(2027, 5, 4, 9, 15, tzinfo=OSLO))
    login_as("viewer")
    page = client.get(f"/events/{event.id}").text
    assert "09:15" in page and "11:45" in page and "America/New_York" in page
    listing = client.get("/events/?from=2027-05-01").text
    assert "(America/New_York)" in listing and "09:15" in listing
    assert "Europe/Oslo" not in client.get(f"/events/{oslo_event.id}").text


def test_edit_shows_saved_rows_and_an_empty_one(client, login_as, db, make_org):
    org = make_org()
    login_as("coordinator")
    client.post(
        "/events/new",
        data=event_form(
            **{
                "programme-0-title": "Welcome",
                "programme-0-starts_at": "09:00",
                "participations-0-kind": "organisation",
                "participations-0-name": "NTNU",
                "participations-0-role": "host",
            }
        ),
    )
    event = only_event(db)
    edit = client.get(f"/events/{event.id}/edit").text
    assert 'name="programme-0-title" type="text" value="Welcome"' in edit
    assert 'name="programme-0-starts_at" type="time" value="09:00"' in edit
    assert 'name="participations-0-name" type="text" value="NTNU"' in edit
    assert f'name="participations-0-participant_id" type="hidden" value="{org.id}"' in edit
    assert 'name="participations-1-name"' in edit
    assert f'name="version" type="hidden" value="{event.version}"' in edit


def test_edit_replaces_programme_and_participants(client, login_as, db, make_event, make_org):
    org = make_org(name="ISFIT")
    event = make_event(
        starts_at=dt.datetime(2027, 5, 4, 9, tzinfo=OSLO),
        ends_at=dt.datetime(2027, 5, 4, 17, tzinfo=OSLO),
        programme=[{"title": "Old", "starts_at": dt.datetime(2027, 5, 4, 9, tzinfo=OSLO)}],
    )
    login_as("coordinator")
    response = client.post(
        f"/events/{event.id}/edit",
        data=event_form(
            title="Renamed",
            version=str(event.version),
            **{
                "programme-0-title": "New",
                "programme-0-starts_at": "10:00",
                "participations-0-name": "isfit",
                "participations-0-kind": "organisation",
                "participations-0-role": "partner",
            },
        ),
    )
    assert response.status_code == 302
    db.session.expire_all()
    event = db.session.get(Event, event.id)
    assert event.title == "Renamed"
    assert [i.title for i in event.programme] == ["New"]
    assert [p.organisation_id for p in event.participations] == [org.id]


def test_second_save_of_a_stale_copy_is_refused_and_overwrites_nothing(
    client, login_as, db, make_event
):
    event = make_event(starts_at=dt.datetime(2027, 5, 4, 9, tzinfo=OSLO))
    login_as("coordinator", locale="en")
    seen = str(event.version)
    first = client.post(
        f"/events/{event.id}/edit", data=event_form(venue="Britannia", version=seen)
    )
    assert first.status_code == 302
    second = client.post(
        f"/events/{event.id}/edit", data=event_form(venue="Scandic Lerkendal", version=seen)
    )
    assert second.status_code == 200
    assert "Someone else changed this record" in second.text
    db.session.expire_all()
    assert db.session.get(Event, event.id).venue == "Britannia"


def test_participant_added_meanwhile_makes_an_old_edit_form_stale(
    client, login_as, db, make_event, make_org
):
    event = make_event()
    make_org(name="NTNU")
    login_as("coordinator")
    seen = str(event.version)
    add = {"kind": "organisation", "name": "ntnu", "role": "host"}
    assert client.post(f"/events/{event.id}/participants", data=add).status_code == 302
    stale = client.post(f"/events/{event.id}/edit", data=event_form(version=seen))
    assert stale.status_code == 200
    assert count(db, Participation) == 1


def test_add_and_remove_participant_on_the_detail_page(
    client, login_as, db, make_event, make_contact
):
    event = make_event()
    contact = make_contact(first_name="Øystein", last_name="Ås")
    login_as("coordinator", locale="en")
    unknown = client.post(
        f"/events/{event.id}/participants",
        data={"kind": "contact", "name": "Nobody", "role": "guest"},
    )
    assert unknown.status_code == 200
    assert 'id="name-error"' in unknown.text and "No contact is called “Nobody”" in unknown.text
    assert count(db, Participation) == 0
    added = client.post(
        f"/events/{event.id}/participants",
        data={"kind": "contact", "name": "øystein ås", "role": "speaker"},
    )
    assert added.status_code == 302
    page = client.get(f"/events/{event.id}").text
    assert f'href="/contacts/{contact.id}">Øystein Ås</a>' in page and "Speaker" in page
    participation = db.session.scalars(db.select(Participation)).one()
    removed = client.post(f"/events/{event.id}/participants/{participation.id}/delete")
    assert removed.status_code == 302
    assert count(db, Participation) == 0


def test_search_is_case_insensitive_with_norwegian_letters(client, login_as, make_event):
    make_event(title="Ærfugl-festivalen", venue="Østre havn")
    make_event(title="Delegasjon fra Ålesund")
    make_event(title="NTNU-besøk")
    login_as("viewer")
    assert "Ærfugl-festivalen" in client.get("/events/?q=ÆRFUGL").text
    by_venue = client.get("/events/?q=østre").text
    assert "Ærfugl-festivalen" in by_venue and "Ålesund" not in by_venue
    found = client.get("/events/?q=ÅLESUND").text
    assert "Delegasjon fra Ålesund" in found and "NTNU-besøk" not in found


def test_filters_by_kind_status_visibility_country_and_tag(client, login_as, make_event):
    make_event(title="Congress A", kind="congress", countries=["DK"], tags="science")
    make_event(title="Visit B", status="tentative", visibility="internal", countries=["SE"])
    login_as("viewer")
    assert "Visit B" not in client.get("/events/?kind=congress").text
    assert "Congress A" in client.get("/events/?kind=congress").text
    assert "Congress A" not in client.get("/events/?status=tentative").text
    assert "Visit B" in client.get("/events/?visibility=internal").text
    assert "Visit B" not in client.get("/events/?visibility=public").text
    by_country = client.get("/events/?country=SE").text
    assert "Visit B" in by_country and "Congress A" not in by_country
    by_tag = client.get("/events/?tag=Science").text
    assert "Congress A" in by_tag and "Visit B" not in by_tag


def test_list_filters_by_date_range_and_shows_upcoming_by_default(client, login_as, make_event):
    past = dt.datetime.now(OSLO) - dt.timedelta(days=30)
    make_event(title="Last month", starts_at=past, ends_at=past + dt.timedelta(hours=1))
    make_event(
        title="June visit",
        starts_at=dt.datetime(2027, 6, 2, 0, 30, tzinfo=OSLO),
        ends_at=dt.datetime(2027, 6, 2, 1, 30, tzinfo=OSLO),
    )
    make_event(
        title="July visit",
        starts_at=dt.datetime(2027, 7, 1, 10, tzinfo=OSLO),
        ends_at=dt.datetime(2027, 7, 1, 12, tzinfo=OSLO),
    )
    login_as("viewer", locale="en")
    default = client.get("/events/").text
    assert "June visit" in default and "Last month" not in default
    everything = client.get("/events/?from=").text
    assert "Last month" in everything and "July visit" in everything
    june = client.get("/events/?from=2027-06-02&to=2027-06-02").text
    assert "June visit" in june and "July visit" not in june
    assert "June visit" not in client.get("/events/?from=&to=2027-06-01").text
    bad = client.get("/events/?from=yesterday").text
    assert "YYYY-MM-DD" in bad and "Last month" in bad


def test_list_rows_show_their_own_countries_tags_and_responsible(
    client, login_as, make_event, make_user
):
    """Each row its own values (read as plain values for the whole page), sorted; none: empty."""
    ola = make_user(name="Ola Koordinator")
    day = dt.datetime(2027, 3, 1, 10, tzinfo=OSLO)
    make_event(
        title="Nordic visit",
        starts_at=day,
        countries=["SE", "DK"],
        tags="vennskapsby, eu",
        responsible_id=ola.id,
    )
    make_event(title="Quiet visit", starts_at=day + dt.timedelta(days=1))
    make_event(title="German visit", starts_at=day + dt.timedelta(days=2), countries=["DE"])
    login_as("viewer", locale="en")
    table = client.get("/events/?from=2027-03-01").text.split("<tbody>", 1)[1]
    rows = {
        re.search(r">([A-Z][a-z]+ visit)</a>", row).group(1): re.sub(r"<[^>]+>", "|", row)
        for row in table.split("<tr>")[1:]
    }
    assert re.search(
        r"Denmark, Sweden.*Ola Koordinator.*eu.*vennskapsby", rows["Nordic visit"], re.S
    )
    assert "Germany" in rows["German visit"] and "eu" not in rows["German visit"]
    assert not re.search(r"Sweden|Germany|Ola|eu", rows["Quiet visit"])


def test_event_page_reads_tags_and_countries_with_the_event(
    client, login_as, make_event, count_queries, db
):
    """Three tags and two countries joined to the event's row: each shown once, in order, and
    no query of their own (five in all for an event without a programme)."""
    event = make_event(title="Nordic visit", countries=["SE", "DK"], tags="vennskapsby, eu, nato")
    login_as("viewer", locale="en")
    client.get(f"/events/{event.id}")  # warm-up
    db.session.expunge_all()  # read afresh, as a request's own session would
    with count_queries() as statements:
        page = client.get(f"/events/{event.id}").text
    text = re.sub(r"<[^>]+>", "|", page)
    assert re.search(r"Denmark.*Sweden", text, re.S) and text.count("Sweden") == 1
    assert re.search(r"\|eu\|.*\|nato\|.*\|vennskapsby\|", text, re.S)
    assert text.count("|vennskapsby|") == 1
    assert not [s for s in statements if "FROM event_tag" in s or "FROM event_country" in s]
    assert len(statements) == 5, statements


def test_list_is_paginated(client, login_as, make_event, app):
    app.config["PER_PAGE"] = 5
    for i in range(12):
        start = dt.datetime(2027, 1, 1 + i, 10, tzinfo=OSLO)
        make_event(title=f"Event {i:02d}", starts_at=start)
    login_as("viewer")
    first = client.get("/events/?from=2027-01-01").text
    third = client.get("/events/?from=2027-01-01&page=3").text
    assert "Event 00" in first and "Event 05" not in first
    assert "Event 10" in third and "Event 11" in third and "Event 00" not in third
    assert "from=2027-01-01" in first.split('rel="next"')[0].rsplit("href=", 1)[1]


def test_soft_delete_hides_the_event(client, login_as, db, make_event):
    event = make_event(title="Cancelled visit")
    login_as("coordinator")
    response = client.post(f"/events/{event.id}/delete", data={"version": event.version})
    assert response.status_code == 302
    assert "Cancelled visit</a>" not in client.get("/events/?from=").text
    assert client.get(f"/events/{event.id}").status_code == 404
    assert client.get(f"/events/{event.id}/edit").status_code == 404
    db.session.expire_all()
    event = db.session.get(Event, event.id)
    assert event.deleted_at is not None and event.status.value == "cancelled"


def test_delete_with_a_stale_version_is_refused(client, login_as, db, make_event):
    event = make_event(title="Visit")
    login_as("coordinator")
    response = client.post(f"/events/{event.id}/delete", data={"version": event.version - 1})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Event, event.id).deleted_at is None


def test_unknown_event_is_404(client, login_as):
    login_as("viewer")
    assert client.get("/events/999").status_code == 404


def test_list_filters_by_organisation_and_keeps_it_with_other_filters(
    client, login_as, make_event, make_org
):
    hub, other = make_org(name="Hub <b>&</b> Co"), make_org(name="Other")
    make_event(
        title="Congress with hub",
        kind="congress",
        participations=[
            {"organisation_id": hub.id, "role": "host"},
            {"organisation_id": hub.id, "role": "sponsor"},
            {"organisation_id": other.id, "role": "guest"},
        ],
    )
    make_event(title="Visit with hub", participations=[{"organisation_id": hub.id}])
    make_event(title="Visit without hub", participations=[{"organisation_id": other.id}])
    login_as("viewer", locale="en")

    listed = client.get(f"/events/?organisation={hub.id}").text
    rows = re.findall(r'<a href="/events/\d+">([^<]+)</a>', listed.split("<tbody>", 1)[1])
    assert sorted(rows) == ["Congress with hub", "Visit with hub"]  # once each
    assert "Organisation: Hub &lt;b&gt;&amp;&lt;/b&gt; Co" in listed
    assert f'<input type="hidden" name="organisation" value="{hub.id}">' in listed
    congresses = client.get(f"/events/?organisation={hub.id}&kind=congress").text
    assert "Congress with hub" in congresses and "Visit with hub" not in congresses


@pytest.mark.parametrize("value", ["abc", "0", "-3", "999999", "99999999999999999999"])
def test_list_ignores_an_organisation_it_cannot_find_and_says_so(
    client, login_as, make_event, make_org, value
):
    make_event(title="Visit", participations=[{"organisation_id": make_org().id}])
    login_as("viewer", locale="en")
    response = client.get(f"/events/?organisation={value}")
    assert response.status_code == 200
    assert "The organisation was not found and its filter was ignored." in response.text
    assert "Visit</a>" in response.text
    assert 'name="organisation"' not in response.text


def test_status_badges_show_each_status_in_the_page_language(
    client, login_as, make_event, make_org, fresh_locale
):
    org = make_org()
    statuses = {"tentative": ("Foreløpig", "Tentative"), "cancelled": ("Avlyst", "Cancelled")}
    for status in statuses:
        event = make_event(title=f"Visit {status}", status=status)
        event.participations.append(Participation(organisation=org, role="host"))
    login_as("coordinator")
    for language, column in (("nb", 0), ("en", 1)):
        client.post("/language", data={"lang": language})
        for path in ("/events/", f"/organisations/{org.id}"):
            page = client.get(path).text
            for status, labels in statuses.items():
                badge = f'<span class="badge status-{status}">{labels[column]}</span>'
                assert badge in page, (path, language, status)
                assert labels[1 - column] not in page


@pytest.mark.parametrize(
    "locale, shown",
    [("nb", "4. mai 2027, 11:00 – 13:00"), ("en", "May 4, 2027, 11:00 AM – 1:00 PM")],
)
def test_when_reads_hours_and_minutes(client, login_as, make_event, locale, shown):
    """A calendar says 11:00, not 11:00:00 (CLDR's medium time has seconds)."""
    start = dt.datetime(2027, 5, 4, 11, tzinfo=OSLO)
    event = make_event(starts_at=start, ends_at=start + dt.timedelta(hours=2))
    login_as("viewer", locale=locale)
    page = client.get(f"/events/{event.id}").text
    assert shown in " ".join(page.replace("\u202f", " ").split())
    assert "11:00:00" not in page


@pytest.mark.parametrize("kind", ["event", "organisation", "contact"])
def test_a_refused_delete_says_it_was_not_deleted(
    client, login_as, db, make_event, make_org, make_contact, kind
):
    """The user asked to delete, not to edit: the message says what did not happen."""
    record = {"event": make_event, "organisation": make_org, "contact": make_contact}[kind]()
    path = {"event": "events", "organisation": "organisations", "contact": "contacts"}[kind]
    login_as("coordinator", locale="en")
    response = client.post(
        f"/{path}/{record.id}/delete", data={"version": record.version - 1}, follow_redirects=True
    )
    assert "so it was not deleted" in response.text
    assert "Your changes were not saved" not in response.text


def test_a_tag_too_long_is_refused_not_cut(client, login_as, db):
    """The user shortens it; a tag cut in silence would read wrong wherever it shows."""
    login_as("coordinator", locale="en")
    long_tag = "international cooperation on sustainable urban mobility solutions"  # 66
    refused = client.post("/events/new", data=event_form(tags=f"science, {long_tag}"))
    assert refused.status_code == 200
    assert "A tag can have at most 60 characters." in refused.text
    assert count(db, Event) == 0
    fits = client.post("/events/new", data=event_form(tags=f"science, {long_tag[:60]}"))
    assert fits.status_code == 302


def test_saving_an_event_someone_deleted_meanwhile_says_so(client, login_as, db, make_event):
    from crm.events.services import delete_event

    event = make_event(title="Visit")
    login_as("coordinator", locale="en")
    fields = form_fields(client.get(f"/events/{event.id}/edit").text).fields
    delete_event(event)  # by someone else, while the form is open
    db.session.commit()
    response = client.post(f"/events/{event.id}/edit", data={**fields, "venue": "Britannia"})
    assert response.status_code == 409
    assert "Someone else deleted this event while you were editing it" in response.text
    assert client.get(f"/events/{event.id}/edit").status_code == 404  # the page is gone
