"""Organisation pages: roles, forms, search, filters, optimistic locking."""

import datetime as dt
import html
import re
from zoneinfo import ZoneInfo

import pytest

from crm.organisations.models import Organisation

OSLO = ZoneInfo("Europe/Oslo")


def org_form(**overrides):
    data = {"name": "Innovasjon Norge", "kind": "public_body", "country": "NO", "city": "Trondheim"}
    data.update(overrides)
    return data


def test_coordinator_creates_organisation_with_tags(client, login_as, db):
    login_as("coordinator")
    response = client.post("/organisations/new", data=org_form(tags="Business, EU ,business"))
    assert response.status_code == 302
    org = db.session.scalar(db.select(Organisation))
    assert org.name == "Innovasjon Norge"
    assert [t.name for t in org.tags] == ["business", "eu"]
    page = client.get(response.headers["Location"])
    assert "Innovasjon Norge" in page.text
    assert "Norge" in page.text or "Norway" in page.text


def test_viewer_reads_but_cannot_create_edit_or_delete(client, login_as, make_org):
    org = make_org()
    login_as("viewer")
    assert client.get("/organisations/").status_code == 200
    assert client.get(f"/organisations/{org.id}").status_code == 200
    assert client.get("/organisations/new").status_code == 403
    assert client.post("/organisations/new", data=org_form()).status_code == 403
    assert client.post(f"/organisations/{org.id}/edit", data=org_form()).status_code == 403
    assert client.post(f"/organisations/{org.id}/delete").status_code == 403


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"name": ""}, "name"),
        ({"kind": "spaceship"}, "kind"),
        ({"country": "XX"}, "country"),
        ({"website": "not a url"}, "website"),
        ({"kind": "twin_city", "twin_city_since": "12"}, "twin_city_since"),
        ({"kind": "twin_city", "twin_city_category": "frenemies"}, "twin_city_category"),
    ],
)
def test_organisation_form_errors_change_nothing(client, login_as, db, overrides, field):
    login_as("coordinator")
    response = client.post("/organisations/new", data=org_form(**overrides))
    assert response.status_code == 200
    assert "error-summary" in response.text
    assert f'id="{field}-error"' in response.text
    assert (
        f'aria-describedby="{field}-error"' in response.text or f'{field}-error"' in response.text
    )
    assert db.session.scalar(db.select(db.func.count()).select_from(Organisation)) == 0


def test_consulate_keeps_represented_country_and_twin_city_its_category(client, login_as, db):
    login_as("coordinator")
    client.post(
        "/organisations/new",
        data=org_form(
            name="Consulate of Finland",
            kind="consulate",
            represented_country="FI",
            twin_city_category="solidarity",
        ),
    )
    client.post(
        "/organisations/new",
        data=org_form(
            name="Västerås",
            kind="twin_city",
            country="SE",
            twin_city_category="political_focus",
            twin_city_since="1947",
        ),
    )
    consulate, twin = db.session.scalars(db.select(Organisation).order_by(Organisation.id))
    assert consulate.represented_country == "FI"
    assert consulate.twin_city_category is None
    assert twin.twin_city_category.value == "political_focus"
    assert twin.twin_city_since == 1947


def test_search_is_case_insensitive_with_norwegian_letters(client, login_as, make_org):
    make_org(name="Ørland Kultursenter", kind="cultural")
    make_org(name="Trøndelag fylkeskommune", kind="public_body")
    make_org(name="NTNU")
    login_as("viewer")
    assert "Ørland" in client.get("/organisations/?q=ØRLAND").text
    found = client.get("/organisations/?q=TRØNDELAG").text
    assert "Trøndelag fylkeskommune" in found and "Ørland" not in found
    assert "NTNU" not in client.get("/organisations/?q=ørl").text
    assert (
        "No organisations match" in client.get("/organisations/?q=50%25").text
        or "Ingen organisasjoner" in client.get("/organisations/?q=50%25").text
    )


def test_filters_by_kind_country_and_tag(client, login_as, make_org):
    make_org(name="NTNU", kind="university", country="NO", tags="research")
    make_org(name="Chalmers", kind="university", country="SE")
    make_org(name="ISFIT", kind="student_org", country="NO", tags="students")
    login_as("viewer")
    by_kind = client.get("/organisations/?kind=university").text
    assert "NTNU" in by_kind and "Chalmers" in by_kind and "ISFIT" not in by_kind
    by_country = client.get("/organisations/?country=SE").text
    assert "Chalmers" in by_country and "NTNU" not in by_country
    by_tag = client.get("/organisations/?tag=Students").text
    assert "ISFIT" in by_tag and "NTNU" not in by_tag


def test_list_is_paginated(client, login_as, make_org, app):
    app.config["PER_PAGE"] = 5
    for i in range(12):
        make_org(name=f"Org {i:02d}")
    login_as("viewer")
    first = client.get("/organisations/").text
    third = client.get("/organisations/?page=3").text
    assert "Org 00" in first and "Org 05" not in first
    assert "Org 10" in third and "Org 11" in third and "Org 00" not in third


def test_second_save_of_a_stale_copy_is_refused_and_overwrites_nothing(client, login_as, make_org):
    org = make_org(name="NTNU", city="Trondheim")
    login_as("coordinator")
    seen = org.version
    first = client.post(
        f"/organisations/{org.id}/edit", data=org_form(name="NTNU", city="Gjøvik", version=seen)
    )
    assert first.status_code == 302
    second = client.post(
        f"/organisations/{org.id}/edit", data=org_form(name="NTNU", city="Ålesund", version=seen)
    )
    assert second.status_code == 200
    assert "Someone else changed this record" in second.text or "Noen andre" in second.text
    assert client.get(f"/organisations/{org.id}").text.count("Gjøvik") >= 1
    assert "Ålesund" not in client.get(f"/organisations/{org.id}").text


def test_delete_organisation(client, login_as, make_org, db):
    org = make_org()
    login_as("coordinator")
    response = client.post(f"/organisations/{org.id}/delete", data={"version": org.version})
    assert response.status_code == 302
    assert db.session.get(Organisation, org.id) is None


def test_unknown_organisation_is_404(client, login_as):
    login_as("viewer")
    assert client.get("/organisations/999").status_code == 404


def test_two_saves_in_the_same_instant_give_the_loser_a_conflict_page_not_a_500(
    app, client, login_as
):
    from sqlalchemy.orm.exc import StaleDataError

    @app.route("/_test/stale")
    def stale():
        raise StaleDataError("UPDATE statement on table 'organisation' expected to update 1 row")

    login_as("coordinator", locale="en")
    response = client.get("/_test/stale")
    assert response.status_code == 409
    assert "Someone else changed this record" in response.text
    assert "<h1>Not saved</h1>" in response.text


def _event_rows(html: str) -> list[str]:
    """The titles linked from an event list's table, in order."""
    table = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<a href="/events/\d+">([^<]+)</a>', table)


def test_page_shows_the_20_latest_events_and_a_link_to_all_of_them(
    client, login_as, db, make_org, make_event
):
    hub, other = make_org(name="Hub"), make_org(name="Other")
    today = dt.datetime.now(OSLO).replace(hour=10, minute=0, second=0, microsecond=0)
    for i in range(25):  # twelve in the past, thirteen from today on
        roles = [{"organisation_id": hub.id, "role": "host"}]
        if i == 24:  # taking part twice in one event is one row with both roles
            roles.append({"organisation_id": hub.id, "role": "sponsor"})
        make_event(
            title=f"Visit {i:02d}",
            starts_at=today + dt.timedelta(days=i - 12),
            participations=roles,
        )
    make_event(title="Other visit", participations=[{"organisation_id": other.id}])
    make_event(
        title="Deleted visit",
        participations=[{"organisation_id": hub.id}],
        deleted_at=dt.datetime.now(dt.UTC),
    )
    login_as("viewer", locale="en")

    page = client.get(f"/organisations/{hub.id}").text
    events = page.split('id="events-heading"', 1)[1].split("</section>", 1)[0]
    shown = re.findall(r">(Visit \d\d)</a>", events)
    assert shown == [f"Visit {i:02d}" for i in range(24, 4, -1)]
    assert "Host, Sponsor" in events
    assert "Other visit" not in events and "Deleted visit" not in events
    link = re.search(r'<a href="([^"]+)">All 25 events</a>', events)
    assert link, events

    # The link lists all of them, past and future, each once, and no one else's.
    listed = client.get(html.unescape(link.group(1)))
    assert listed.status_code == 200
    assert sorted(_event_rows(listed.text)) == [f"Visit {i:02d}" for i in range(25)]
    assert "Organisation: Hub" in listed.text
    assert f'<input type="hidden" name="organisation" value="{hub.id}">' in listed.text


def test_page_with_few_events_counts_them_without_a_link(client, login_as, make_org, make_event):
    org = make_org(name="Small partner")
    for i in range(3):
        make_event(title=f"Visit {i}", participations=[{"organisation_id": org.id}])
    login_as("viewer", locale="en")
    page = client.get(f"/organisations/{org.id}").text
    assert "3 in all" in page
    assert "?organisation=" not in page
