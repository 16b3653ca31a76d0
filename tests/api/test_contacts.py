"""Contacts through the JSON API, with their sensitive fields kept to single reads by editors."""

import pytest
from sqlalchemy import func, select

from crm.contacts.models import Contact
from crm.contacts.services import add_membership


def count_contacts(db):
    return db.session.scalar(select(func.count()).select_from(Contact))


@pytest.fixture
def guest(db, make_contact, make_org):
    """A Swedish guest with dietary needs, member of Chalmers."""
    contact = make_contact(
        first_name="Astrid",
        last_name="Lindqvist",
        email="astrid@chalmers.se",
        other_emails="a.l@example.se\nastrid@example.org",
        languages="sv, en",
        dietary_needs="vegetarian",
        access_needs="step-free access",
    )
    add_membership(contact, organisation_id=make_org(name="Chalmers").id, role="Professor")
    db.session.commit()
    return contact


def test_list_shape_hides_sensitive_fields(api, guest):
    body = api.get("/api/contacts").json
    assert (body["total"], body["page"], body["per_page"]) == (1, 1, 25)
    item = body["items"][0]
    assert item["name"] == "Astrid Lindqvist"
    assert item["other_emails"] == ["a.l@example.se", "astrid@example.org"]
    assert item["languages"] == ["sv", "en"]
    assert item["organisations"][0]["name"] == "Chalmers"
    assert item["organisations"][0]["role"] == "Professor"
    assert item["url"].endswith(f"/contacts/{guest.id}")
    assert "dietary_needs" not in item and "access_needs" not in item


def test_single_read_shows_sensitive_fields_to_editors_only(api, api_as, guest):
    editor = api.get(f"/api/contacts/{guest.id}").json
    assert editor["dietary_needs"] == "vegetarian"
    assert editor["access_needs"] == "step-free access"
    viewer = api_as("viewer").get(f"/api/contacts/{guest.id}").json
    assert viewer["name"] == "Astrid Lindqvist"
    assert "dietary_needs" not in viewer and "access_needs" not in viewer


def test_list_filters_by_q_nationality_tag_and_organisation(api, guest, make_contact, db):
    from crm.contacts.services import update_contact

    other = make_contact(first_name="Ola", last_name="Nordmann", nationality="NO")
    update_contact(other, tags="press")
    db.session.commit()
    org_id = guest.memberships[0].organisation_id

    def names(query):
        return [item["name"] for item in api.get(f"/api/contacts?{query}").json["items"]]

    assert names("q=nordm") == ["Ola Nordmann"]
    assert names("nationality=se") == ["Astrid Lindqvist"]
    assert names("tag=Press") == ["Ola Nordmann"]
    assert names(f"organisation={org_id}") == ["Astrid Lindqvist"]
    assert api.get("/api/contacts?organisation=abc").status_code == 422


def test_create_contact_with_lists(api, db):
    response = api.post(
        "/api/contacts",
        json={
            "first_name": "Kari",
            "last_name": "Nordmann",
            "email": "kari@example.no",
            "other_emails": ["kari@work.example"],
            "languages": ["nb", "en", "de"],
            "preferred_language": "nb",
            "nationality": "no",
            "tags": "press, VIP",
            "dietary_needs": "no nuts",
        },
    )
    assert response.status_code == 201
    body = response.json
    assert response.headers["Location"].endswith(f"/api/contacts/{body['id']}")
    assert body["languages"] == ["nb", "en", "de"]
    assert body["other_emails"] == ["kari@work.example"]
    assert body["nationality"] == "NO"
    assert body["tags"] == ["press", "vip"]
    assert body["dietary_needs"] == "no nuts"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"last_name": ""}, "last_name"),
        ({"email": "not-an-email"}, "email"),
        ({"other_emails": ["fine@example.org", "broken"]}, "other_emails"),
        ({"nationality": "XX"}, "nationality"),
        ({"preferred_language": "klingon"}, "preferred_language"),
        ({"first_name": ["Kari"]}, "first_name"),
        ({"organisations": []}, "organisations"),
        ({"name": "Kari Nordmann"}, "name"),
    ],
)
def test_invalid_contact_is_422_and_saves_nothing(api, db, body, field):
    response = api.post("/api/contacts", json={"last_name": "Nordmann", **body})
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"]
    assert count_contacts(db) == 0


def test_patch_contact_and_stale_version(api, guest, db):
    seen = guest.version
    first = api.patch(f"/api/contacts/{guest.id}", json={"title": "Dean", "version": seen})
    assert first.status_code == 200
    assert first.json["title"] == "Dean"
    assert first.json["last_name"] == "Lindqvist"
    stale = api.patch(f"/api/contacts/{guest.id}", json={"title": "Rector", "version": seen})
    assert stale.status_code == 409
    assert api.get(f"/api/contacts/{guest.id}").json["title"] == "Dean"


def test_viewer_cannot_patch_contact(api_as, guest, db):
    response = api_as("viewer").patch(f"/api/contacts/{guest.id}", json={"title": "Dean"})
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Contact, guest.id).title == ""


def test_unknown_contact_is_404(api):
    assert api.get("/api/contacts/999").status_code == 404


def test_contact_list_query_count_does_not_grow_with_rows(
    api, make_contact, make_org, db, count_queries
):
    from crm.contacts.services import update_contact

    org = make_org()

    def add(n):
        for i in range(n):
            contact = make_contact(last_name=f"Person {i}")
            update_contact(contact, tags=[f"t{i}"])
            add_membership(contact, organisation_id=org.id, role="Staff")
        db.session.commit()

    add(5)
    with count_queries() as few:
        assert len(api.get("/api/contacts?per_page=100").json["items"]) == 5
    add(45)
    with count_queries() as many:
        assert len(api.get("/api/contacts?per_page=100").json["items"]) == 50
    assert len(many) == len(few)
