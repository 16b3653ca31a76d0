"""Logging in and out, roles, user management."""

import pytest

from crm.auth.models import User
from tests.conftest import PASSWORD


def test_anonymous_is_redirected_to_login(client):
    response = client.get("/organisations/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_login_with_right_password_lands_on_home(auth, make_user, client):
    user = make_user(email="kari@example.org")
    response = auth.login("KARI@example.org ")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert user.name in page.text


def test_login_with_wrong_password_is_refused_without_saying_which(auth, make_user):
    make_user(email="kari@example.org")
    wrong_password = auth.login("kari@example.org", "wrong-password-123")
    unknown_email = auth.login("nobody@example.org", "wrong-password-123")
    assert wrong_password.status_code == unknown_email.status_code == 200
    assert "Wrong email or password" in wrong_password.text or "Feil e-post" in wrong_password.text
    assert wrong_password.text.count("alert-danger") == unknown_email.text.count("alert-danger")


def test_inactive_user_cannot_log_in(auth, make_user):
    make_user(email="gone@example.org", is_active_user=False)
    assert auth.login("gone@example.org").status_code == 200


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/events/", "/events/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
    ],
)
def test_login_follows_next_only_to_same_site_paths(client, make_user, target, expected):
    user = make_user()
    response = client.post(
        "/login", query_string={"next": target}, data={"email": user.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == expected


def test_logout_ends_the_session_and_old_cookie_no_longer_works(client, login_as):
    login_as("viewer")
    cookie = client.get_cookie("session").value
    assert client.post("/logout").status_code == 302
    client.set_cookie("session", cookie)
    assert client.get("/").status_code == 302


def test_remember_me_sets_a_remember_cookie(client, make_user):
    user = make_user()
    client.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    assert client.get_cookie("remember_token") is not None


@pytest.mark.parametrize("role", ["viewer", "coordinator"])
def test_only_admins_manage_users(client, login_as, role):
    login_as(role)
    assert client.get("/users").status_code == 403
    assert client.post("/users/new", data={}).status_code == 403


def test_admin_creates_a_user_who_can_log_in(client, login_as, auth, db):
    login_as("admin")
    response = client.post(
        "/users/new",
        data={
            "email": "new@example.org",
            "name": "Nina",
            "role": "viewer",
            "is_active": "y",
            "password": "a-long-password-1",
        },
    )
    assert response.status_code == 302
    user = db.session.scalar(db.select(User).filter_by(email="new@example.org"))
    assert user.role.value == "viewer"
    assert user.password_hash.startswith("$argon2id$")
    client.post("/logout")
    assert auth.login("new@example.org", "a-long-password-1").status_code == 302


@pytest.mark.parametrize(
    "data, message",
    [
        ({"email": "not-an-email", "role": "viewer", "password": "a-long-password-1"}, "email"),
        ({"email": "x@example.org", "role": "viewer", "password": "short"}, "password"),
        ({"email": "x@example.org", "role": "viewer", "password": ""}, "password"),
        ({"email": "x@example.org", "role": "king", "password": "a-long-password-1"}, "role"),
    ],
)
def test_user_form_errors(client, login_as, db, data, message):
    """`message` names the field whose error must be shown."""
    login_as("admin")
    response = client.post("/users/new", data=data)
    assert response.status_code == 200
    assert "error-summary" in response.text
    assert f'id="{message}-error"' in response.text
    assert db.session.scalar(db.select(User).filter_by(email="x@example.org")) is None


def test_duplicate_user_email_is_refused(client, login_as, make_user):
    make_user(email="taken@example.org")
    login_as("admin")
    response = client.post(
        "/users/new",
        data={"email": "taken@example.org", "role": "viewer", "password": "a-long-password-1"},
    )
    assert response.status_code == 200
    assert "already exists" in response.text or "finnes allerede" in response.text


def test_admin_cannot_demote_themself(client, login_as):
    admin = login_as("admin")
    response = client.post(
        f"/users/{admin.id}/edit",
        data={"email": admin.email, "name": "A", "role": "viewer", "is_active": "y"},
    )
    assert response.status_code == 200
    assert admin.role.value == "admin"


def test_healthz_reports_database_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_spaces_around_a_pasted_address_are_dropped(client, login_as, auth, db, make_contact):
    """Addresses copied from a mail or a spreadsheet often bring a space along."""
    from crm.contacts.models import Contact
    from tests.contacts.test_views import contact_form

    login_as("admin")
    response = client.post(
        "/users/new",
        data={
            "email": " new2@example.org ",
            "role": "viewer",
            "is_active": "y",
            "password": "a-long-password-1",
        },
    )
    assert response.status_code == 302
    assert db.session.scalar(db.select(User).filter_by(email="new2@example.org")) is not None
    assert (
        client.post("/contacts/new", data=contact_form(email="\tkari@example.no ")).status_code
        == 302
    )
    assert db.session.scalar(db.select(Contact.email).where(Contact.email.like("%kari%"))) == (
        "kari@example.no"
    )
    client.post("/logout")
    assert auth.login(" new2@example.org", "a-long-password-1").status_code == 302


def test_the_new_user_form_asks_for_a_password_at_once(client, login_as, db):
    """All missing fields are named on the first try; "leave empty" is for editing only."""
    login_as("admin", locale="en")
    form = client.get("/users/new").text
    assert "At least 12 characters." in form and "Leave empty" not in form
    refused = client.post("/users/new", data={"role": "viewer"})
    assert refused.status_code == 200
    assert 'id="email-error"' in refused.text and 'id="password-error"' in refused.text
    assert "Enter a password for the new user." in refused.text
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1  # the admin
