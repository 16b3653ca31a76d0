"""Production refuses unsafe settings; error pages show no traceback."""

import pytest

from config import DEV_SECRET_KEY, ProductionConfig
from crm import create_app
from crm.security import UnsafeConfigError
from tests.conftest import vars_of

STRONG_KEY = "k" * 48


def production(**overrides) -> dict:
    settings = {**vars_of(ProductionConfig), "SECRET_KEY": STRONG_KEY, "DEBUG": False}
    settings.update(overrides)
    return settings


def test_production_config_refuses_debug(database_uri):
    with pytest.raises(UnsafeConfigError, match="DEBUG"):
        create_app(production(DEBUG=True, SQLALCHEMY_DATABASE_URI=database_uri))


@pytest.mark.parametrize("key", [DEV_SECRET_KEY, "", "short-key"])
def test_production_config_refuses_a_default_or_weak_secret_key(database_uri, key):
    with pytest.raises(UnsafeConfigError, match="SECRET_KEY"):
        create_app(production(SECRET_KEY=key, SQLALCHEMY_DATABASE_URI=database_uri))


def test_production_config_starts_with_safe_settings(database_uri):
    app = create_app(production(SQLALCHEMY_DATABASE_URI=database_uri))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_development_config_may_use_the_default_key(database_uri):
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_uri, "DEBUG": True})
    assert app.config["SECRET_KEY"] == DEV_SECRET_KEY


def test_500_page_shows_no_traceback(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the error handler answers

    def explode():
        raise RuntimeError("secret internals: password=hunter2")

    app.add_url_rule("/_explode", "explode", explode)
    response = app.test_client().get("/_explode")
    assert response.status_code == 500
    assert "Traceback" not in response.text
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    assert "Something went wrong" in response.text or "gikk galt" in response.text
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
