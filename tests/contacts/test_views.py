"""Contact pages: roles, forms, search, filters, pagination, locking, memberships, events."""

import datetime as dt

import pytest
from sqlalchemy import event as sa_event

from crm.contacts.models import Contact, Membership
from crm.events.models import Participation
from crm.extensions import db as _db


def contact_form(**overrides):
    data = {
        "first_name": "Åse",
        "last_name": "Ødegård",
        "email": "ase@example.no",
        "nationality": "NO",
        "preferred_language": "nb",
        "languages": "nb, en",
    }
    data.update(overrides)
    return data


def count(model):
    return _db.session.scalar(_db.select(_db.func.count()).select_from(model))


def test_anonymous_is_sent_to_login(client, make_contact):
    contact = make_contact()
    for url in ("/contacts/", f"/contacts/{contact.id}", "/contacts/new"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]
    assert client.post(f"/contacts/{contact.id}/delete").status_code == 302
    assert count(Contact) == 1


def test_coordinator_creates_contact_with_tags(client, login_as, db):
    login_as("coordinator")
    response = client.post("/contacts/new", data=contact_form(tags="VIP, Consulate ,vip"))
    assert response.status_code == 302
    contact = db.session.scalar(db.select(Contact))
    assert contact.name == "Åse Ødegård"
    assert [t.name for t in contact.tags] == ["consulate", "vip"]
    page = client.get(response.headers["Location"])
    assert "Åse Ødegård" in page.text
    assert "ase@example.no" in page.text


def test_viewer_reads_but_cannot_create_edit_or_delete(client, login_as, make_contact, make_org):
    contact = make_contact()
    org = make_org()
    login_as("viewer")
    assert client.get("/contacts/").status_code == 200
    page = client.get(f"/contacts/{contact.id}")
    assert page.status_code == 200
    assert "/edit" not in page.text and 'data-picker="organisations"' not in page.text
    assert client.get("/contacts/new").status_code == 403
    assert client.post("/contacts/new", data=contact_form()).status_code == 403
    assert client.get(f"/contacts/{contact.id}/edit").status_code == 403
    assert client.post(f"/contacts/{contact.id}/edit", data=contact_form()).status_code == 403
    assert client.post(f"/contacts/{contact.id}/delete").status_code == 403
    response = client.post(f"/contacts/{contact.id}/memberships", data={"organisation": "NTNU"})
    assert response.status_code == 403
    assert count(Membership) == 0
    _db.session.add(Membership(contact_id=contact.id, organisation_id=org.id))
    _db.session.commit()
    membership_id = _db.session.scalar(_db.select(Membership.id))
    url = f"/contacts/{contact.id}/memberships/{membership_id}/delete"
    assert client.post(url).status_code == 403
    assert count(Membership) == 1
    assert _db.session.get(Contact, contact.id).last_name == "Lindqvist"


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"last_name": ""}, "last_name"),
        ({"email": "ase(at)example.no"}, "email"),
        ({"other_emails": "ase@ntnu.no\nnot an address"}, "other_emails"),
        ({"nationality": "XX"}, "nationality"),
        ({"preferred_language": "klingon"}, "preferred_language"),
        ({"phone": "9" * 60}, "phone"),
    ],
)
def test_contact_form_errors_change_nothing(client, login_as, db, overrides, field):
    login_as("coordinator")
    response = client.post("/contacts/new", data=contact_form(**overrides))
    assert response.status_code == 200
    assert "error-summary" in response.text
    assert f'id="{field}-error"' in response.text
    assert count(Contact) == 0


def test_edit_form_errors_change_nothing(client, login_as, make_contact, db):
    contact = make_contact(email="astrid@example.se")
    login_as("coordinator")
    response = client.post(
        f"/contacts/{contact.id}/edit",
        data=contact_form(email="broken@", version=contact.version),
    )
    assert response.status_code == 200
    assert 'id="email-error"' in response.text
    db.session.expire_all()
    stored = db.session.get(Contact, contact.id)
    assert (stored.last_name, stored.email) == ("Lindqvist", "astrid@example.se")


def test_edit_form_shows_current_values(client, login_as, make_contact):
    contact = make_contact(tags="vip, press", preferred_language="nb", dietary_needs="Halal")
    login_as("coordinator")
    page = client.get(f"/contacts/{contact.id}/edit").text
    assert 'value="press, vip"' in page
    assert '<option selected value="nb">' in page
    assert "Halal" in page
    assert f'name="version" type="hidden" value="{contact.version}"' in page


@pytest.mark.parametrize(
    "query, found, not_found",
    [
        ("ØDEGÅRD", "Ødegård", "Dæhlie"),
        ("ødegård", "Ødegård", "Dæhlie"),
        ("ÅSE", "Ødegård", "Dæhlie"),
        ("åse", "Ødegård", "Dæhlie"),
        ("BJØRN", "Dæhlie", "Ødegård"),
        ("bjørn", "Dæhlie", "Ødegård"),
        ("AMBASSADØR", "Dæhlie", "Ødegård"),
        ("ASE@EXAMPLE", "Ødegård", "Dæhlie"),
    ],
)
def test_search_is_case_insensitive_with_norwegian_letters(
    client, login_as, make_contact, query, found, not_found
):
    make_contact(first_name="Åse", last_name="Ødegård", email="ase@example.no")
    make_contact(first_name="Bjørn", last_name="Dæhlie", title="Ambassadør")
    login_as("viewer")
    page = client.get("/contacts/", query_string={"q": query}).text
    assert found in page and not_found not in page


def test_search_without_match_says_so(client, login_as, make_contact):
    make_contact()
    login_as("viewer")
    page = client.get("/contacts/?q=50%25").text
    assert "Lindqvist" not in page
    assert "No contacts match" in page or "Ingen kontakter" in page


def test_filters_by_nationality_tag_organisation_and_language(
    client, login_as, make_contact, make_org, db
):
    ntnu = make_org(name="NTNU")
    ase = make_contact(first_name="Åse", last_name="Ødegård", nationality="NO", tags="vip")
    make_contact(first_name="Hans", last_name="Müller", nationality="DE", languages="de, en")
    make_contact(first_name="Astrid", last_name="Lindqvist", nationality="SE", tags="press")
    db.session.add(Membership(contact_id=ase.id, organisation_id=ntnu.id, role="Rector"))
    db.session.commit()
    login_as("viewer")
    by_country = client.get("/contacts/?nationality=DE").text
    assert "Müller" in by_country and "Ødegård" not in by_country and "Lindqvist" not in by_country
    by_tag = client.get("/contacts/?tag=VIP").text
    assert "Ødegård" in by_tag and "Lindqvist" not in by_tag
    by_org = client.get(f"/contacts/?organisation={ntnu.id}").text
    assert "Ødegård" in by_org and "Müller" not in by_org and "Lindqvist" not in by_org
    assert "NTNU" in by_org  # the filter is named, and the member's organisation is listed
    by_language = client.get("/contacts/?language=de").text
    assert "Müller" in by_language and "Ødegård" not in by_language


def test_list_is_paginated(client, login_as, make_contact, app):
    app.config["PER_PAGE"] = 5
    for i in range(12):
        make_contact(first_name="Person", last_name=f"Number {i:02d}")
    login_as("viewer")
    first = client.get("/contacts/").text
    third = client.get("/contacts/?page=3").text
    assert "Number 00" in first and "Number 04" in first and "Number 05" not in first
    assert "Number 10" in third and "Number 11" in third and "Number 00" not in third
    assert 'rel="next"' in first


def test_second_save_of_a_stale_copy_is_refused_and_overwrites_nothing(
    client, login_as, make_contact, db
):
    contact = make_contact(title="Consul")
    login_as("coordinator")
    seen = contact.version
    first = client.post(
        f"/contacts/{contact.id}/edit",
        data=contact_form(last_name="Lindqvist", title="Consul General", version=seen),
    )
    assert first.status_code == 302
    second = client.post(
        f"/contacts/{contact.id}/edit",
        data=contact_form(last_name="Lindqvist", title="Vice Consul", version=seen),
    )
    assert second.status_code == 200
    assert "Someone else changed this record" in second.text or "Noen andre" in second.text
    page = client.get(f"/contacts/{contact.id}").text
    assert "Consul General" in page and "Vice Consul" not in page


def test_stale_delete_is_refused(client, login_as, make_contact, db):
    contact = make_contact()
    login_as("coordinator")
    response = client.post(f"/contacts/{contact.id}/delete", data={"version": contact.version - 1})
    assert response.status_code == 302
    assert count(Contact) == 1


def test_delete_contact(client, login_as, make_contact, db):
    contact = make_contact()
    login_as("coordinator")
    response = client.post(f"/contacts/{contact.id}/delete", data={"version": contact.version})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/contacts/")
    assert db.session.get(Contact, contact.id) is None


def test_unknown_contact_is_404(client, login_as):
    login_as("viewer")
    assert client.get("/contacts/999").status_code == 404


def test_add_membership_by_typed_name_ignoring_case(client, login_as, make_contact, make_org, db):
    contact = make_contact()
    org = make_org(name="Trøndelag fylkeskommune")
    login_as("coordinator")
    page = client.get(f"/contacts/{contact.id}").text
    assert 'data-picker="organisations"' in page
    assert 'name="organisation_id" type="hidden"' in page
    response = client.post(
        f"/contacts/{contact.id}/memberships",
        data={
            "organisation": "TRØNDELAG FYLKESKOMMUNE",
            "role": "Adviser",
            "starts_on": "2024-01-01",
        },
    )
    assert response.status_code == 302
    membership = db.session.scalar(db.select(Membership))
    assert (membership.organisation_id, membership.role) == (org.id, "Adviser")
    assert membership.starts_on == dt.date(2024, 1, 1)


def test_add_membership_by_picked_id(client, login_as, make_contact, make_org, db):
    contact = make_contact()
    make_org(name="ISFIT", city="Trondheim")
    oslo = make_org(name="ISFIT", city="Oslo")
    login_as("coordinator")
    response = client.post(
        f"/contacts/{contact.id}/memberships",
        data={"organisation": "ISFIT", "organisation_id": str(oslo.id)},
    )
    assert response.status_code == 302
    assert db.session.scalar(db.select(Membership.organisation_id)) == oslo.id


@pytest.mark.parametrize(
    "data, message",
    [
        ({"organisation": "Nowhere University"}, "No organisation is called Nowhere University"),
        ({"organisation": "ISFIT"}, "2 organisations are called ISFIT"),
        ({"organisation": ""}, "Enter the name of an organisation"),
        ({"organisation": "NTNU", "starts_on": "2025-05-01", "ends_on": "2025-04-01"}, "end date"),
        ({"organisation": "NTNU", "starts_on": "1st of May"}, 'id="starts_on-error"'),
    ],
)
def test_bad_membership_is_refused_and_changes_nothing(
    client, login_as, make_contact, make_org, db, data, message
):
    contact = make_contact()
    make_org(name="NTNU")
    make_org(name="ISFIT", city="Trondheim")
    make_org(name="ISFIT", city="Oslo")
    login_as("coordinator", locale="en")
    response = client.post(f"/contacts/{contact.id}/memberships", data=data)
    assert response.status_code == 200
    assert "error-summary" in response.text
    assert message in response.text
    assert "Astrid Lindqvist" in response.text  # still the contact's page
    assert count(Membership) == 0


def test_remove_membership(client, login_as, make_contact, make_org, db):
    contact = make_contact()
    other = make_contact(first_name="Kari", last_name="Nordmann")
    org = make_org()
    db.session.add(Membership(contact_id=contact.id, organisation_id=org.id))
    db.session.commit()
    membership_id = db.session.scalar(db.select(Membership.id))
    login_as("coordinator")
    # a membership is removed only through its own contact's URL
    wrong = client.post(f"/contacts/{other.id}/memberships/{membership_id}/delete")
    assert wrong.status_code == 404
    assert count(Membership) == 1
    response = client.post(f"/contacts/{contact.id}/memberships/{membership_id}/delete")
    assert response.status_code == 302
    assert count(Membership) == 0


def test_detail_shows_memberships_events_and_sensitive_needs(
    client, login_as, make_contact, make_org, make_event, db
):
    contact = make_contact(dietary_needs="No pork", access_needs="Wheelchair user")
    org = make_org(name="Consulate of Sweden", kind="consulate")
    db.session.add(
        Membership(contact_id=contact.id, organisation_id=org.id, role="Honorary consul")
    )
    older = make_event(
        title="Nordic mayors' meeting",
        starts_at=dt.datetime(2025, 3, 1, 9, tzinfo=dt.UTC),
        ends_at=dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC),
    )
    newer = make_event(title="Olavsfest reception")
    gone = make_event(title="Deleted visit", deleted_at=dt.datetime.now(dt.UTC))
    for event in (older, newer, gone):
        db.session.add(Participation(event_id=event.id, contact_id=contact.id, role="guest"))
    db.session.commit()
    login_as("viewer")
    page = client.get(f"/contacts/{contact.id}").text
    assert f'href="/organisations/{org.id}"' in page
    assert "Consulate of Sweden" in page and "Honorary consul" in page
    assert "Olavsfest reception" in page and "Nordic mayors" in page
    assert page.index("Olavsfest reception") < page.index("Nordic mayors")
    assert "Deleted visit" not in page
    sensitive = page[page.index('id="sensitive-heading"') :]
    assert "No pork" in sensitive and "Wheelchair user" in sensitive


def _queries_for(client, db, url):
    """How many SQL statements one GET of `url` runs."""
    statements = []

    def count_statement(*args):
        statements.append(args[2])

    sa_event.listen(db.engine, "before_cursor_execute", count_statement)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", count_statement)
    return len(statements)


def test_list_query_count_does_not_grow_with_rows(client, login_as, make_contact, make_org, db):
    org = make_org(name="NTNU")

    def add(n):
        for i in range(n):
            contact = make_contact(last_name=f"Person {i}", tags=f"tag{i}, common")
            db.session.add(Membership(contact_id=contact.id, organisation_id=org.id))
        db.session.commit()

    login_as("viewer")
    add(2)
    few = _queries_for(client, db, "/contacts/")
    add(10)
    many = _queries_for(client, db, "/contacts/")
    assert many == few


def test_a_refused_membership_keeps_what_was_typed_and_the_next_form_is_blank(
    client, login_as, make_contact, db
):
    contact = make_contact()
    login_as("coordinator", locale="en")
    typed = {
        "organisation": "Nowhere University",
        "role": "Visiting fellow",
        "starts_on": "2025-05-01",
    }
    refused = client.post(f"/contacts/{contact.id}/memberships", data=typed).text
    for value in typed.values():
        assert f'value="{value}"' in refused
    blank = client.get(f"/contacts/{contact.id}").text
    assert 'id="organisation"' in blank and 'data-picker="organisations"' in blank
    assert "Nowhere University" not in blank and "Visiting fellow" not in blank
    assert "error-summary" not in blank


def test_the_blank_membership_form_speaks_the_page_language(
    client, login_as, make_contact, db, fresh_locale
):
    contact = make_contact()
    login_as("coordinator")
    for language, label in (("nb", "Organisasjon"), ("en", "Organisation"), ("nb", "Organisasjon")):
        client.post("/language", data={"lang": language})
        page = client.get(f"/contacts/{contact.id}").text
        assert f'<label class="form-label" for="organisation">{label}</label>' in page
