"""Security hardening shared by every page: headers, session timeouts, safe settings, log redaction.

`register_security(app)` wires it all in; see docs/decisions.md ("Security") for the choices.
"""

import logging
import re
import secrets
import time

from flask import Flask, current_app, flash, g, render_template, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_login import logout_user, user_loaded_from_cookie, user_logged_in
from flask_login.utils import decode_cookie
from werkzeug.middleware.proxy_fix import ProxyFix

from config import DEV_SECRET_KEY

MIN_SECRET_KEY_LENGTH = 32

# No 'unsafe-inline' anywhere: scripts live in static/js, and a page whose library injects
# <style> elements (FullCalendar) asks for a nonce with csp_nonce().
CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    # FullCalendar's icon font (prev/next arrows) is a data: URI inside its injected CSS.
    "font-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}

# Session keys of our own: when the password login happened and when the last request came.
STARTED_KEY = "_started"
SEEN_KEY = "_seen"
# Re-write the "last seen" stamp at most this often, so that not every response sets a cookie.
SEEN_RESOLUTION = 60
NONCE_KEY = "vertskap.csp_nonce"


class UnsafeConfigError(RuntimeError):
    """The production configuration would run with an unsafe setting."""


def check_settings(config) -> None:
    """Refuse to start a production app in debug mode or with a default or short SECRET_KEY."""
    if not config.get("REFUSE_UNSAFE_SETTINGS"):
        return
    if config.get("DEBUG"):
        raise UnsafeConfigError(
            "Refusing to start: DEBUG is on in the production configuration "
            "(unset FLASK_DEBUG; the debugger lets anyone run code on the server)."
        )
    key = config.get("SECRET_KEY") or ""
    if key in (DEV_SECRET_KEY, "test-secret") or len(str(key)) < MIN_SECRET_KEY_LENGTH:
        raise UnsafeConfigError(
            "Refusing to start: set SECRET_KEY to a random value of at least "
            f"{MIN_SECRET_KEY_LENGTH} characters, e.g. "
            '`python -c "import secrets; print(secrets.token_hex(32))"`.'
        )


def csp_nonce() -> str:
    """A per-response nonce for <style> elements injected by a script (FullCalendar's csp-nonce)."""
    # kept in the request's environ: `g` outlives a request when an app context is shared
    return request.environ.setdefault(NONCE_KEY, secrets.token_urlsafe(16))


def content_security_policy(nonce: str | None = None) -> str:
    """The Content-Security-Policy header value, with a style nonce when a page asked for one."""
    policy = dict(CSP)
    if nonce:
        policy["style-src"] = f"'self' 'nonce-{nonce}'"
    return "; ".join(f"{name} {value}" for name, value in policy.items())


def set_security_headers(response):
    """after_request: the security headers, on every response (feeds and public pages too)."""
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy(request.environ.get(NONCE_KEY))
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    headers["X-Frame-Options"] = "DENY"
    if request.is_secure:
        headers["Strict-Transport-Security"] = f"max-age={current_app.config['HSTS_SECONDS']}"
    if "_user_id" in session and "Cache-Control" not in headers:
        # A page for a logged-in user holds personal data: kept in no cache, so the Back
        # button of a shared computer shows nothing once its user has logged out. Feeds and
        # static files say how they may be cached themselves.
        headers["Cache-Control"] = "private, no-store"
    return response


def refuse_nul_characters():
    """before_request: a NUL character in a query string or form is refused (400), unread.

    PostgreSQL cannot store NUL in text, so a save would end in an error, and no keyboard
    types one: it comes with pasted binary or a hand-made request. The JSON API checks its
    own parameters and bodies, naming the field (crm.api.parsing).
    """
    if request.path.startswith("/api/"):
        return None
    sent = (*request.args.listvalues(), *request.form.listvalues())
    if not any("\x00" in value for values in sent for value in values):
        return None
    message = _(
        "The form or the address contained a NUL character, which cannot be stored. "
        "Remove it and try again."
    )
    return render_template("errors/400.html", message=message), 400


def enforce_session_timeouts():
    """before_request: end a session idle too long or older than the absolute limit."""
    # Flask-Login caches the user in `g`, which outlives the request when an app context is
    # shared (tests, scripts): every request must load its own user from its own cookies.
    g.pop("_login_user", None)
    now = time.time()
    config = current_app.config
    if "_user_id" not in session:
        _check_remember_cookie(now)
        return None
    started = session.get(STARTED_KEY)
    seen = session.get(SEEN_KEY)
    if (
        not isinstance(started, int | float)
        or not isinstance(seen, int | float)
        or now - started > config["SESSION_ABSOLUTE_TIMEOUT"]
        or now - seen > config["SESSION_IDLE_TIMEOUT"]
    ):
        end_session()
        flash(_("Your session has expired. Please log in again."), "info")
        return None
    if now - seen >= SEEN_RESOLUTION:
        session[SEEN_KEY] = int(now)
    return None


def _check_remember_cookie(now: float) -> None:
    """A remember-me cookie is refused once the password login it came from is too old."""
    name = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    cookie = request.cookies.get(name)
    if not cookie or session.get("_remember") == "clear":
        return
    from crm.auth.services import load_user_from_session

    user_id = decode_cookie(cookie)
    user = load_user_from_session(user_id) if user_id else None
    login_at = user.last_login_at.timestamp() if user and user.last_login_at else None
    if login_at is None or now - login_at > current_app.config["SESSION_ABSOLUTE_TIMEOUT"]:
        session["_remember"] = "clear"  # Flask-Login then ignores it and deletes the cookie


def end_session() -> None:
    """Log out of this browser session: the session keys and the remember-me cookie go."""
    logout_user()  # sets session["_remember"] = "clear" when a remember cookie was sent
    for key in (STARTED_KEY, SEEN_KEY, "_fresh", "_id", "_user_id", "csrf_token"):
        session.pop(key, None)


def _on_login(sender, user, **extra) -> None:
    """A password login starts both timeout clocks."""
    now = int(time.time())
    session[STARTED_KEY] = now
    session[SEEN_KEY] = now


def _on_cookie_login(sender, user, **extra) -> None:
    """A session restored from a remember-me cookie keeps the absolute clock of the login."""
    now = int(time.time())
    session[STARTED_KEY] = int(user.last_login_at.timestamp()) if user.last_login_at else now
    session[SEEN_KEY] = now


# Capability URLs: a feed token in a path or a token in a query string grants access by itself.
SECRET_PATTERNS = (
    (re.compile(r"(/feeds/)[^/\s?#\"'.]+"), r"\1[redacted]"),
    (re.compile(r"([?&](?:token|key)=)[^&\s\"']+", re.IGNORECASE), r"\1[redacted]"),
)


def redact(text: str) -> str:
    """The text with feed tokens and token query parameters replaced by "[redacted]"."""
    for pattern, replacement in SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretsFilter(logging.Filter):
    """A logging filter that removes feed tokens from access and error log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError):
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


LOGGERS_TO_REDACT = ("werkzeug", "gunicorn.access", "gunicorn.error")


def install_log_redaction(*loggers: logging.Logger) -> None:
    """Add the redaction filter (once) to the server loggers and any given ones."""
    targets = [logging.getLogger(name) for name in LOGGERS_TO_REDACT] + list(loggers)
    for logger in targets:
        if not any(isinstance(f, RedactSecretsFilter) for f in logger.filters):
            logger.addFilter(RedactSecretsFilter())


# Feeds depend only on their URL (slug or token, ?lang=): they never set a cookie nor answer
# `Vary: Cookie`, which would stop a reverse proxy or CDN from caching them.
COOKIELESS_ENDPOINTS = frozenset({"calendars.public_feed", "calendars.subscription_feed"})


class FeedFriendlySessionInterface(SecureCookieSessionInterface):
    """The default signed-cookie session, left out of the cookieless endpoints' responses."""

    def save_session(self, app, session, response):
        if request.endpoint in COOKIELESS_ENDPOINTS:
            return
        super().save_session(app, session, response)


def register_security(app: Flask) -> None:
    """Check the settings and install headers, session timeouts and log redaction."""
    check_settings(app.config)
    if app.config.get("PROXY_COUNT"):
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
    app.session_interface = FeedFriendlySessionInterface()
    app.after_request(set_security_headers)
    app.before_request(refuse_nul_characters)
    app.before_request(enforce_session_timeouts)
    user_logged_in.connect(_on_login, app)
    user_loaded_from_cookie.connect(_on_cookie_login, app)
    app.add_template_global(csp_nonce)
    install_log_redaction(app.logger)
