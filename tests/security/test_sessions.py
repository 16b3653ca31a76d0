"""Sessions: cookie flags, a fresh session at login, revocation, idle and absolute timeouts."""

import datetime as dt
import time

from crm.db import utcnow
from tests.conftest import PASSWORD
from tests.security.conftest import put_login_in_session


def login(client, user, remember=False):
    data = {"email": user.email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 302
    return response


def test_session_cookie_is_httponly_and_samesite_lax(client, make_user):
    response = login(client, make_user(), remember=True)
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    remember_cookie = next(c for c in cookies if c.startswith("remember_token="))
    for cookie in (session_cookie, remember_cookie):
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        assert "Secure" not in cookie  # development and tests run over plain http


def test_production_cookies_are_secure():
    from config import ProductionConfig

    assert ProductionConfig.SESSION_COOKIE_SECURE is True
    assert ProductionConfig.REMEMBER_COOKIE_SECURE is True


def test_login_starts_a_fresh_session(client, make_user):
    user = make_user()
    with client.session_transaction() as sess:
        sess["planted"] = "by-an-attacker"
        sess["lang"] = "en"
    before = client.get_cookie("session").value
    login(client, user)
    assert client.get_cookie("session").value != before
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_user_id"] == user.get_id()
    assert user.locale == "en"  # the language chosen before login is kept, on the user


def test_logout_revokes_both_the_session_and_the_remember_cookie(app, client, make_user):
    user = make_user()
    login(client, user, remember=True)
    session_cookie = client.get_cookie("session").value
    remember_cookie = client.get_cookie("remember_token").value
    logout = client.post("/logout")
    assert logout.status_code == 302
    assert client.get_cookie("remember_token") is None  # deleted in the browser too

    replay_session = app.test_client()
    replay_session.set_cookie("session", session_cookie)
    assert replay_session.get("/").status_code == 302

    replay_remember = app.test_client()
    replay_remember.set_cookie("remember_token", remember_cookie)
    response = replay_remember.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_remember_cookie_restores_a_session_while_valid(app, client, make_user):
    user = make_user()
    login(client, user, remember=True)
    fresh_browser = app.test_client()
    fresh_browser.set_cookie("remember_token", client.get_cookie("remember_token").value)
    assert fresh_browser.get("/").status_code == 200
    with fresh_browser.session_transaction() as sess:
        assert sess["_started"] <= time.time()


def test_remember_cookie_expires_with_the_absolute_timeout(app, db, client, make_user):
    user = make_user()
    login(client, user, remember=True)
    cookie = client.get_cookie("remember_token").value
    user.last_login_at = utcnow() - dt.timedelta(hours=12, minutes=1)
    db.session.commit()
    fresh_browser = app.test_client()
    fresh_browser.set_cookie("remember_token", cookie)
    assert fresh_browser.get("/").status_code == 302
    assert fresh_browser.get_cookie("remember_token") is None


def test_password_change_ends_other_sessions_but_keeps_this_one(app, client, make_user):
    user = make_user()
    other = app.test_client()
    login(other, user, remember=True)
    other_remember = other.get_cookie("remember_token").value
    login(client, user)
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a-brand-new-password",
            "confirm": "a-brand-new-password",
        },
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # this browser stays logged in
    assert other.get("/").status_code == 302  # the other one is out
    replay = app.test_client()
    replay.set_cookie("remember_token", other_remember)
    assert replay.get("/").status_code == 302


def test_idle_session_expires(client, make_user):
    user = make_user()
    now = int(time.time())
    put_login_in_session(client, user, started=now - 60, seen=now - 31 * 60)
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    with client.session_transaction() as sess:
        assert "_user_id" not in sess


def test_active_session_is_kept_and_its_clock_moves(client, make_user):
    user = make_user()
    now = int(time.time())
    put_login_in_session(client, user, started=now - 3600, seen=now - 29 * 60)
    assert client.get("/").status_code == 200
    with client.session_transaction() as sess:
        assert sess["_seen"] >= now


def test_session_expires_after_the_absolute_limit_even_when_active(client, make_user):
    user = make_user()
    now = int(time.time())
    put_login_in_session(client, user, started=now - 12 * 3600 - 1, seen=now - 5)
    assert client.get("/").status_code == 302


def test_session_without_timestamps_is_not_trusted(client, make_user):
    user = make_user()
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
    assert client.get("/").status_code == 302


def test_timeouts_come_from_the_config(app, client, make_user):
    app.config["SESSION_IDLE_TIMEOUT"] = 60
    user = make_user()
    now = int(time.time())
    put_login_in_session(client, user, started=now - 100, seen=now - 61)
    assert client.get("/").status_code == 302
