"""API authentication: bearer tokens, sessions with CSRF, roles."""

import re

import pytest
from sqlalchemy import func, select

from crm.auth.models import ApiToken
from crm.auth.services import revoke_api_token
from crm.organisations.models import Organisation

ORG = {"name": "NTNU", "kind": "university", "country": "NO"}


def count_orgs(db):
    return db.session.scalar(select(func.count()).select_from(Organisation))


def assert_401(response):
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json["error"]["status"] == 401
    assert response.json["error"]["message"]


def test_no_credentials_is_401_with_bearer_challenge(client):
    assert_401(client.get("/api/organisations"))
    assert_401(client.post("/api/organisations", json=ORG))


@pytest.mark.parametrize(
    "header", ["Bearer not-a-real-token", "Bearer", "Basic dXNlcjpwYXNz", "not-even-a-scheme"]
)
def test_bad_or_malformed_token_is_401(client, header):
    assert_401(client.get("/api/organisations", headers={"Authorization": header}))


def test_revoked_token_is_401_even_with_a_logged_in_session(client, login_as, make_token, db):
    user = login_as("coordinator")
    _, token = make_token(user=user)
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    revoke_api_token(row.id, user)
    db.session.commit()
    assert client.get("/api/organisations").status_code == 200  # the session alone works
    response = client.get("/api/organisations", headers={"Authorization": f"Bearer {token}"})
    assert_401(response)
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_malformed_token_is_401_even_with_a_logged_in_session(client, login_as):
    login_as("coordinator")
    assert_401(client.get("/api/organisations", headers={"Authorization": "Bearer"}))


def test_token_of_an_inactive_user_is_401(client, make_token, db):
    user, token = make_token("coordinator")
    user.is_active_user = False
    db.session.commit()
    assert_401(client.get("/api/organisations", headers={"Authorization": f"Bearer {token}"}))


def test_token_request_records_last_use_and_sets_no_cookie(client, make_token, db):
    _user, token = make_token("viewer")
    response = client.get("/api/organisations", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    db.session.expire_all()
    assert db.session.scalar(select(ApiToken.last_used_at)) is not None


def test_viewer_may_read_but_not_write(api_as, make_org, db):
    org = make_org()
    viewer = api_as("viewer")
    assert viewer.get("/api/organisations").status_code == 200
    assert viewer.get(f"/api/organisations/{org.id}").status_code == 200
    created = viewer.post("/api/organisations", json=ORG)
    assert created.status_code == 403
    assert created.json["error"]["status"] == 403
    patched = viewer.patch(f"/api/organisations/{org.id}", json={"city": "Oslo"})
    assert patched.status_code == 403
    db.session.expire_all()
    assert count_orgs(db) == 1
    assert db.session.get(Organisation, org.id).city == "Trondheim"


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_editors_may_write(api_as, role):
    assert api_as(role).post("/api/organisations", json=ORG).status_code == 201


def test_session_may_read_without_csrf_header(client, login_as, app):
    login_as("viewer")
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.get("/api/organisations").status_code == 200


def test_session_write_needs_the_csrf_header(client, login_as, app, db):
    login_as("coordinator")
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get("/organisations/")
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)

    missing = client.post("/api/organisations", json=ORG)
    assert missing.status_code == 403
    assert "X-CSRFToken" in missing.json["error"]["message"]
    wrong = client.post("/api/organisations", json=ORG, headers={"X-CSRFToken": "forged"})
    assert wrong.status_code == 403
    assert count_orgs(db) == 0

    ok = client.post("/api/organisations", json=ORG, headers={"X-CSRFToken": token})
    assert ok.status_code == 201
    assert count_orgs(db) == 1


def test_token_write_needs_no_csrf_header(api, app):
    app.config["WTF_CSRF_ENABLED"] = True
    assert api.post("/api/organisations", json=ORG).status_code == 201
