"""Organisations through the JSON API: list, create, read, patch and every error status."""

import pytest
from sqlalchemy import func, select

from crm.organisations.models import Organisation


def count_orgs(db):
    return db.session.scalar(select(func.count()).select_from(Organisation))


def test_list_has_items_total_page_and_per_page(api, make_org):
    make_org(name="NTNU", tags="research")
    make_org(name="Chalmers", country="SE", city="Göteborg")
    body = api.get("/api/organisations").json
    assert body["total"] == 2 and body["page"] == 1 and body["per_page"] == 25
    assert [item["name"] for item in body["items"]] == ["Chalmers", "NTNU"]
    ntnu = body["items"][1]
    assert ntnu["kind"] == "university"
    assert ntnu["country"] == "NO"
    assert ntnu["tags"] == ["research"]
    assert ntnu["version"] == 1
    assert ntnu["url"].endswith(f"/organisations/{ntnu['id']}")
    assert set(ntnu) == {
        "id",
        "name",
        "kind",
        "country",
        "city",
        "website",
        "tags",
        "notes",
        "represented_country",
        "twin_city_category",
        "twin_city_since",
        "version",
        "url",
    }


def test_list_filters_by_q_kind_country_and_tag(api, make_org):
    make_org(name="NTNU", kind="university", country="NO", tags="research")
    make_org(name="Chalmers", kind="university", country="SE")
    make_org(name="ISFIT", kind="student_org", country="NO", tags="students")

    def names(query):
        return [item["name"] for item in api.get(f"/api/organisations?{query}").json["items"]]

    assert names("q=chal") == ["Chalmers"]
    assert names("kind=university") == ["Chalmers", "NTNU"]
    assert names("country=no") == ["ISFIT", "NTNU"]
    assert names("tag=Students") == ["ISFIT"]


def test_list_pages_and_caps_per_page(api, make_org):
    for i in range(7):
        make_org(name=f"Org {i}")
    body = api.get("/api/organisations?per_page=3&page=3").json
    assert [item["name"] for item in body["items"]] == ["Org 6"]
    assert (body["total"], body["page"], body["per_page"]) == (7, 3, 3)
    assert api.get("/api/organisations?per_page=5000").json["per_page"] == 200
    assert api.get("/api/organisations?page=9").json["items"] == []


@pytest.mark.parametrize(
    "query, field", [("page=0", "page"), ("per_page=lots", "per_page"), ("kind=spaceship", "kind")]
)
def test_bad_list_arguments_are_422(api, query, field):
    response = api.get(f"/api/organisations?{query}")
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]


def test_create_returns_201_with_location_and_the_record(api, db):
    response = api.post(
        "/api/organisations",
        json={
            "name": "Consulate of Finland",
            "kind": "consulate",
            "country": "no",
            "represented_country": "FI",
            "website": "finland.no",
            "tags": ["Consulates", "nordic"],
        },
    )
    assert response.status_code == 201
    body = response.json
    assert response.headers["Location"].endswith(f"/api/organisations/{body['id']}")
    assert body["country"] == "NO"
    assert body["represented_country"] == "FI"
    assert body["website"] == "https://finland.no"
    assert body["tags"] == ["consulates", "nordic"]
    assert api.get(response.headers["Location"]).json == body


def test_read_one_and_404_for_unknown(api, make_org):
    org = make_org(
        kind="twin_city",
        name="Västerås",
        country="SE",
        twin_city_category="political_focus",
        twin_city_since=1947,
    )
    body = api.get(f"/api/organisations/{org.id}").json
    assert body["twin_city_category"] == "political_focus"
    assert body["twin_city_since"] == 1947
    missing = api.get("/api/organisations/999")
    assert missing.status_code == 404
    assert missing.json["error"]["status"] == 404
    assert api.patch("/api/organisations/999", json={"city": "Oslo"}).status_code == 404


def test_unknown_api_address_is_json_404(api):
    response = api.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json["error"]["status"] == 404


def test_unsupported_method_is_json_405_with_allow(api, make_org):
    org = make_org()
    response = api.delete(f"/api/organisations/{org.id}")
    assert response.status_code == 405
    assert response.json["error"]["status"] == 405
    assert "PATCH" in response.headers["Allow"]
    assert api.client.put("/api/organisations").status_code == 405


def test_patch_changes_only_the_given_fields(api, make_org, db):
    org = make_org(name="NTNU", city="Trondheim", tags="research")
    response = api.patch(f"/api/organisations/{org.id}", json={"city": "Gjøvik"})
    assert response.status_code == 200
    assert response.json["city"] == "Gjøvik"
    assert response.json["name"] == "NTNU"
    assert response.json["tags"] == ["research"]
    assert response.json["version"] == 2


def test_patch_with_stale_version_is_409_and_changes_nothing(api, make_org, db):
    org = make_org(city="Trondheim")
    seen = org.version
    first = api.patch(f"/api/organisations/{org.id}", json={"city": "Gjøvik", "version": seen})
    assert first.status_code == 200
    second = api.patch(f"/api/organisations/{org.id}", json={"city": "Ålesund", "version": seen})
    assert second.status_code == 409
    assert "Someone else changed this record" in second.json["error"]["message"]
    assert api.get(f"/api/organisations/{org.id}").json["city"] == "Gjøvik"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": ""}, "name"),
        ({"kind": "spaceship"}, "kind"),
        ({"country": "XX"}, "country"),
        ({"kind": "twin_city", "twin_city_since": 12}, "twin_city_since"),
        ({"name": 42}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"tags": [1, 2]}, "tags"),
        ({"twin_city_since": "1990"}, "twin_city_since"),
        ({"colour": "blue"}, "colour"),
        ({"id": 5}, "id"),
        ({"version": 1}, "version"),
    ],
)
def test_invalid_create_is_422_naming_the_field_and_saves_nothing(api, db, body, field):
    response = api.post("/api/organisations", json={"name": "NTNU", **body})
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"]
    assert response.json["error"]["fields"][field]
    assert count_orgs(db) == 0


def test_invalid_patch_is_422_and_changes_nothing(api, make_org, db):
    org = make_org(name="NTNU")
    response = api.patch(f"/api/organisations/{org.id}", json={"name": "  ", "city": "Oslo"})
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {"name": response.json["error"]["message"]}
    db.session.expire_all()
    assert (org.name, org.city, org.version) == ("NTNU", "Trondheim", 1)


def test_unknown_fields_are_all_named(api):
    response = api.post("/api/organisations", json={"name": "NTNU", "colour": 1, "size": 2})
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"colour", "size"}


@pytest.mark.parametrize("data", ["{not json", "[1, 2]", "null", '"text"', ""])
def test_body_that_is_not_a_json_object_is_400(api, make_org, db, data):
    org = make_org()
    headers = {"Content-Type": "application/json"}
    response = api.post("/api/organisations", data=data, headers=headers)
    assert response.status_code == 400
    assert response.json["error"]["message"]
    assert api.patch(f"/api/organisations/{org.id}", data=data, headers=headers).status_code == 400
    assert count_orgs(db) == 1


def test_list_query_count_does_not_grow_with_rows(api, make_org, count_queries):
    for i in range(5):
        make_org(name=f"Org {i}", tags=["a", f"t{i}"])
    with count_queries() as few:  # full pages both times: each counts its total
        assert len(api.get("/api/organisations?per_page=5").json["items"]) == 5
    for i in range(5, 50):
        make_org(name=f"Org {i}", tags=["a", f"t{i}"])
    with count_queries() as many:
        assert len(api.get("/api/organisations?per_page=50").json["items"]) == 50
    assert len(many) == len(few)
