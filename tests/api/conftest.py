"""API fixtures: bearer-token clients for each role (the query counter is in tests/conftest.py)."""

import pytest


class TokenClient:
    """A test client that sends `Authorization: Bearer <token>` with every request."""

    def __init__(self, client, token, user):
        self.client = client
        self.token = token
        self.user = user

    def _headers(self, kw):
        # English messages, so tests can read them (the default language is Norwegian).
        headers = {"Authorization": f"Bearer {self.token}", "Accept-Language": "en"}
        return {**headers, **kw.pop("headers", {})}

    def get(self, url, **kw):
        return self.client.get(url, headers=self._headers(kw), **kw)

    def post(self, url, **kw):
        return self.client.post(url, headers=self._headers(kw), **kw)

    def patch(self, url, **kw):
        return self.client.patch(url, headers=self._headers(kw), **kw)

    def delete(self, url, **kw):
        return self.client.delete(url, headers=self._headers(kw), **kw)


@pytest.fixture
def make_token(db, make_user):
    """Factory: (user, token) for a new user with the role (or for a given user)."""
    from crm.auth.services import create_api_token

    def make(role="coordinator", user=None, **kw):
        user = user or make_user(role=role, **kw)
        token = create_api_token(user, name="test")
        db.session.commit()
        return user, token

    return make


@pytest.fixture
def api_as(client, make_token):
    """`api_as("viewer")`: a client authenticated with a bearer token of a user in that role."""

    def make(role="coordinator", **kw):
        user, token = make_token(role, **kw)
        return TokenClient(client, token, user)

    return make


@pytest.fixture
def api(api_as):
    """A coordinator's bearer-token client."""
    return api_as("coordinator")
