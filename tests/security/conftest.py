"""Helpers for the security tests: log a client in without the (slow, throttled) login form."""

import time

import pytest


def put_login_in_session(client, user, *, started=None, seen=None) -> None:
    """Write a logged-in session for `user` into the client's cookie, as the login view would."""
    now = int(time.time())
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
        sess["_fresh"] = True
        sess["_started"] = now if started is None else started
        sess["_seen"] = now if seen is None else seen


@pytest.fixture
def session_login(client):
    """`session_login(user)` logs the test client in as `user` directly through the session."""

    def login(user, **kw):
        put_login_in_session(client, user, **kw)
        return user

    return login
