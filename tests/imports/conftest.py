"""Services translate their messages, which needs a request's locale (English here)."""

import pytest


@pytest.fixture(autouse=True)
def request_context(app):
    """An English request context around each test (client requests push their own)."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


@pytest.fixture
def client(app):
    """A test client whose browser asks for English."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client
