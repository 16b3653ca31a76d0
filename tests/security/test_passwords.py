"""Password hashing (argon2id, upgraded at login) and the account page (language, password)."""

import pytest
from argon2 import PasswordHasher
from werkzeug.security import generate_password_hash

from crm.auth.models import User
from tests.conftest import PASSWORD

NEW = "a-brand-new-password"


def stored_hash(db, user) -> str:
    db.session.expire_all()
    return db.session.get(User, user.id).password_hash


def test_weaker_argon2_hash_is_upgraded_at_login(app, auth, db, make_user):
    app.config["ARGON2_PARAMS"] = None  # the production parameters
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    user = make_user()
    user.password_hash = weak
    db.session.commit()
    assert auth.login(user.email).status_code == 302
    upgraded = stored_hash(db, user)
    assert upgraded != weak
    assert upgraded.startswith("$argon2id$")
    assert not PasswordHasher().check_needs_rehash(upgraded)


@pytest.mark.parametrize("method", ["scrypt", "pbkdf2:sha256"])
def test_legacy_werkzeug_hash_is_accepted_once_and_upgraded(auth, db, make_user, method):
    user = make_user()
    user.password_hash = generate_password_hash(PASSWORD, method=method)
    db.session.commit()
    assert auth.login(user.email, "wrong-password-here").status_code == 200
    assert stored_hash(db, user).startswith(method.split(":")[0])
    assert auth.login(user.email).status_code == 302
    assert stored_hash(db, user).startswith("$argon2id$")


def test_current_hash_is_left_alone_at_login(auth, db, make_user):
    user = make_user()
    before = user.password_hash
    auth.login(user.email)
    assert stored_hash(db, user) == before


def change(client, current=PASSWORD, new=NEW, confirm=None):
    return client.post(
        "/account/password",
        data={"current_password": current, "new_password": new, "confirm": confirm or new},
    )


def test_account_page_is_for_every_logged_in_user(client, login_as):
    assert client.get("/account").status_code == 302
    login_as("viewer")
    page = client.get("/account")
    assert page.status_code == 200
    assert 'id="current_password"' in page.text and 'id="locale"' in page.text


def test_user_changes_own_password(client, login_as, auth, db):
    user = login_as("viewer")
    assert change(client).status_code == 302
    client.post("/logout")
    assert auth.login(user.email, PASSWORD).status_code == 200
    assert auth.login(user.email, NEW).status_code == 302


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"current": "not-my-password"}, "current_password"),
        ({"new": "short"}, "new_password"),
        ({"confirm": "something-else-entirely"}, "confirm"),
        ({"new": PASSWORD}, "new_password"),
    ],
)
def test_bad_password_change_is_refused_and_changes_nothing(client, login_as, db, kw, field):
    user = login_as("viewer")
    before = user.password_hash
    response = change(client, **kw)
    assert response.status_code == 200
    assert f'id="{field}-error"' in response.text
    assert stored_hash(db, user) == before
    assert client.get("/").status_code == 200  # still logged in


def test_guessing_the_current_password_is_throttled(client, login_as, app):
    app.config["LOGIN_MAX_FAILURES"] = 3
    login_as("viewer")
    for _ in range(3):
        assert change(client, current="wrong-guess-123").status_code == 200
    response = change(client)  # even the right one, once throttled
    assert response.status_code == 429


def test_user_saves_language(client, login_as, db):
    user = login_as("viewer")
    response = client.post("/account/language", data={"locale": "en"})
    assert response.status_code == 302
    assert user.locale == "en"
    assert 'lang="en"' in client.get("/account").text
    assert client.post("/account/language", data={"locale": "xx"}).status_code == 200
    assert user.locale == "en"
