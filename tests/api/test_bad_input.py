"""Input at the edges (huge numbers, far dates, NUL characters) is a 4xx, never a 500."""

import pytest
from sqlalchemy import func, select

from crm.events.models import Event
from crm.organisations.models import Organisation

BIG = "99999999999999999999"
TIMES = {"starts_at": "2026-01-01T10:00:00Z", "ends_at": "2026-01-01T11:00:00Z"}


@pytest.mark.parametrize(
    "url, status, field",
    [
        (f"/api/organisations/{BIG}", 404, None),
        (f"/api/contacts/{BIG}", 404, None),
        (f"/api/events/{BIG}", 404, None),
        (f"/api/organisations?page={BIG}", 422, "page"),
        ("/api/organisations?per_page=200&page=10737419", 422, "page"),
        (f"/api/contacts?organisation={BIG}", 422, "organisation"),
        ("/api/events?start=0001-01-01&end=0001-01-02", 422, "start"),
        ("/api/events?start=2026-01-01&end=9999-12-31T23:59:59-23:59", 422, "end"),
        ("/api/events?from=0001-01-01", 422, "from"),
        ("/api/events?to=9999-12-31", 422, "to"),
        ("/api/organisations?q=%00", 422, "q"),
        ("/api/events?country=N%00O", 422, "country"),
    ],
)
def test_edge_query_is_a_client_error(api, url, status, field):
    response = api.get(url)
    assert response.status_code == status, response.json
    assert response.json["error"]["status"] == status
    if field:
        assert field in response.json["error"]["fields"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({**TIMES, "starts_at": "0001-01-01T00:00:00+01:00"}, "starts_at"),
        ({**TIMES, "ends_at": "9999-12-31T21:00:00-05:00"}, "ends_at"),
        ({"all_day": True, "start_date": "9999-12-31"}, "start_date"),
        ({"all_day": True, "start_date": "2026-01-01", "end_date": "9999-12-31"}, "end_date"),
        ({**TIMES, "expected_attendance": 10**30}, "expected_attendance"),
        ({**TIMES, "title": "Nul\x00byte"}, "title"),
        (
            {**TIMES, "participations": [{"organisation_id": 10**30}]},
            "participations[0].organisation_id",
        ),
        ({**TIMES, "tags": ["ok", "n\x00ul"]}, "tags"),
    ],
)
def test_edge_event_body_is_422_and_saves_nothing(api, db, body, field):
    response = api.post("/api/events", json={"title": "Edge", **body})
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"]
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "twin_city", "twin_city_since": 10**30}, "twin_city_since"),
        ({"notes": "\x00"}, "notes"),
    ],
)
def test_edge_organisation_body_is_422(api, db, body, field):
    response = api.post("/api/organisations", json={"name": "Edge", **body})
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == 0


def test_huge_version_is_422_not_a_crash(api, make_org):
    org = make_org()
    response = api.patch(f"/api/organisations/{org.id}", json={"version": 10**30})
    assert response.status_code == 422
    assert "version" in response.json["error"]["fields"]
