"""The audit pages: the administrators' list with filters, and a record's history."""

import datetime as dt

import pytest
from sqlalchemy import select

from crm.audit.models import AuditEntry
from crm.db import utcnow
from tests.conftest import PASSWORD


def entries(db, **filters) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).filter_by(**filters).order_by(AuditEntry.id)))


def test_login_success_failure_and_logout_are_recorded(client, db, make_user):
    user = make_user(email="kari@example.org")
    env = {"REMOTE_ADDR": "192.0.2.44"}
    client.post(
        "/login", data={"email": user.email, "password": "wrong-password-1"}, environ_base=env
    )
    client.post("/login", data={"email": "nobody@example.org", "password": "x"}, environ_base=env)
    client.post("/login", data={"email": user.email, "password": PASSWORD}, environ_base=env)
    client.post("/logout", environ_base=env)
    failed = entries(db, action="login_failed")
    assert [e.object_label for e in failed] == ["kari@example.org", "nobody@example.org"]
    assert all(e.user_id is None and e.ip == "192.0.2.44" for e in failed)
    (login,) = entries(db, action="login")
    assert login.user_id == user.id and login.actor == user.email and login.ip == "192.0.2.44"
    (logout,) = entries(db, action="logout")
    assert logout.user_id == user.id


def test_changes_through_pages_name_the_user(client, db, login_as):
    user = login_as("coordinator")
    client.post("/organisations/new", data={"name": "ISFIT", "kind": "student_org"})
    (entry,) = entries(db, object_type="organisation", action="create")
    assert entry.user_id == user.id and entry.actor == user.email
    assert entry.ip == "127.0.0.1"


@pytest.mark.parametrize("role", ["viewer", "coordinator"])
def test_only_admins_see_the_audit_trail(client, login_as, role):
    login_as(role)
    assert client.get("/audit/").status_code == 403


def test_admin_filters_by_user_type_action_and_date(client, db, login_as, make_org, make_user):
    other = make_user(email="other@example.org")
    make_org(name="Old Org")
    old = entries(db)[-1]
    admin = login_as("admin")
    client.post("/organisations/new", data={"name": "Admin Org", "kind": "ngo"})
    page = client.get("/audit/")
    assert page.status_code == 200
    assert "Admin Org" in page.text and "Old Org" in page.text
    by_user = client.get("/audit/", query_string={"user": admin.id}).text
    assert "Admin Org" in by_user and "Old Org" not in by_user
    by_other = client.get("/audit/", query_string={"user": other.id}).text
    assert "Admin Org" not in by_other
    by_action = client.get("/audit/", query_string={"action": "login"}).text
    assert admin.email in by_action and "Admin Org" not in by_action
    by_type = client.get("/audit/", query_string={"object_type": "user"}).text
    assert "other@example.org" in by_type and "Admin Org" not in by_type
    today = utcnow().date()
    in_range = client.get("/audit/", query_string={"date_from": today.isoformat()}).text
    assert "Admin Org" in in_range
    future = (today + dt.timedelta(days=2)).isoformat()
    assert "Admin Org" not in client.get("/audit/", query_string={"date_from": future}).text
    assert old.object_label == "Old Org"


def test_bad_dates_are_explained_and_ignored(client, login_as, make_org):
    make_org(name="Some Org")
    login_as("admin")
    response = client.get(
        "/audit/", query_string={"date_from": "2026-05-02", "date_to": "2026-05-01"}
    )
    assert response.status_code == 200
    assert 'id="date_to-error"' in response.text
    assert "Some Org" in response.text  # the dates were not applied
    assert 'id="date_from-error"' in client.get("/audit/?date_from=yesterday").text


def test_audit_trail_is_paginated(app, client, db, login_as, make_org):
    app.config["PER_PAGE"] = 5
    for i in range(8):
        make_org(name=f"Org {i}")
    login_as("admin")
    first = client.get("/audit/?object_type=organisation").text
    second = client.get("/audit/?object_type=organisation&page=2").text
    assert "Org 7" in first and "Org 0" not in first
    assert "Org 0" in second


def test_record_page_shows_its_history_without_sensitive_values(client, db, login_as, make_org):
    org = make_org(name="NTNU", notes="confidential remark")
    login_as("viewer")
    page = client.get(f"/organisations/{org.id}").text
    assert 'id="history-heading"' in page
    assert "(changed)" in page and "NTNU" in page
    assert page.count("confidential remark") == 1  # on the record, not in its history


def test_audit_nav_item_only_for_admins(client, login_as):
    login_as("coordinator")
    assert 'href="/audit/"' not in client.get("/").text
    client.post("/logout")
    login_as("admin")
    assert 'href="/audit/"' in client.get("/").text
