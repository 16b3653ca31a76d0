"""Security headers on every response: CSP (no unsafe-inline), nosniff, referrer, frames, HSTS."""

import pytest
from flask import render_template_string

EXPECTED_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; "
    "form-action 'self'"
)


@pytest.mark.parametrize(
    "path",
    [
        "/login",
        "/healthz",
        "/accessibility",
        "/organisations/",  # a redirect to the login page
        "/static/css/app.css",
        "/feeds/no-such-token.ics",
        "/calendars/no-such-calendar.ics",
        "/no-such-page",
    ],
)
def test_every_response_carries_the_security_headers(client, path):
    with client.get(path) as response:  # closes the static file
        headers = response.headers
    assert headers["Content-Security-Policy"] == EXPECTED_CSP
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["X-Frame-Options"] == "DENY"


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = client.get("/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_hsts_behind_a_trusted_proxy_that_terminated_https(app):
    from crm import create_app

    proxied = create_app({**app.config, "PROXY_COUNT": 1})
    response = proxied.test_client().get(
        "/login", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    )
    assert "Strict-Transport-Security" in response.headers


def test_a_page_asking_for_a_nonce_gets_it_in_style_src_only(app, client):
    app.add_url_rule(
        "/_nonce",
        "nonce_page",
        lambda: render_template_string('<meta name="csp-nonce" content="{{ csp_nonce() }}">'),
    )
    response = client.get("/_nonce")
    nonce = response.text.split('content="')[1].split('"')[0]
    csp = response.headers["Content-Security-Policy"]
    assert len(nonce) >= 16
    assert f"style-src 'self' 'nonce-{nonce}'" in csp
    assert "script-src 'self';" in csp  # scripts never get a nonce
    assert client.get("/_nonce").text != response.text  # a new nonce per response


def test_pages_have_no_inline_scripts_or_style_attributes(client, login_as, make_org):
    org = make_org()
    login_as("admin")
    for path in ("/", f"/organisations/{org.id}", "/organisations/", "/audit/", "/account"):
        text = client.get(path).text
        assert "<script>" not in text and "style=" not in text and "onclick" not in text, path


def test_pages_for_a_logged_in_user_are_kept_in_no_cache(client, login_as, make_contact):
    """After logging out, the Back button of a shared computer shows no one's data."""
    contact = make_contact()
    assert "Cache-Control" not in client.get("/login").headers  # nothing personal yet
    login_as("viewer")
    for path in (f"/contacts/{contact.id}", "/", "/api/contacts?q=a"):
        assert client.get(path).headers["Cache-Control"] == "private, no-store", path
    with client.get("/static/css/app.css") as static:  # its own caching, not personal
        assert static.headers.get("Cache-Control") != "private, no-store"
