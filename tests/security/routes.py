"""The app's routes, read from `app.url_map`, and what each kind of user may do with them.

The lists below are the policy: a new route is checked automatically, and a route that must
be public (or self-service) has to be added here on purpose.
"""

from config import TestConfig
from crm import create_app

# Routes anyone may call without logging in (exact rule strings, then prefixes).
PUBLIC_RULES = frozenset(
    {
        "/login",
        "/healthz",
        "/accessibility",
        "/language",
        "/c/<slug>",  # a public calendar's page
        "/calendars/<slug>.ics",  # a public calendar's feed
        "/feeds/<token>.ics",  # a private subscription: the token is the key
        "/reminders/unsubscribe/<token>",  # a contact's unsubscribe link in a mail
    }
)
PUBLIC_PREFIXES = ("/static/", "/c/", "/feeds/")

# POST routes every logged-in user (viewers too) may use: their own session and settings.
SELF_SERVICE_RULES = frozenset(
    {"/logout", "/language", "/account/language", "/account/password", "/reminders/mine"}
)

# POST routes without a CSRF token, on purpose (the /api/ blueprint is exempt as a whole: it
# needs a bearer token or an X-CSRFToken header, tested by the API's tests).
CSRF_EXEMPT_RULES = frozenset(
    {
        "/reminders/unsubscribe/<token>",  # RFC 8058 one-click: mail clients POST without it
    }
)

# Routes only administrators may reach.
ADMIN_PREFIXES = ("/users", "/audit")

# GET pages that exist only to change data (forms): viewers get no 200 there.
EDITOR_PAGE_NAMES = ("new", "edit", "import")


def is_public(rule: str) -> bool:
    """True for routes on the public allowlist."""
    return rule in PUBLIC_RULES or rule.startswith(PUBLIC_PREFIXES)


def is_admin_only(rule: str) -> bool:
    """True for the administrators' routes."""
    return rule.startswith(ADMIN_PREFIXES)


def is_editor_page(endpoint: str) -> bool:
    """True for form pages (`organisations.new`, `auth.edit_user`, `calendars.import_upload`)."""
    name = endpoint.rsplit(".", 1)[-1]
    return any(name == n or name.startswith(f"{n}_") for n in EDITOR_PAGE_NAMES)


def all_routes() -> list[tuple[str, str, str]]:
    """(rule, method, endpoint) for every route of a freshly built app, sorted."""
    settings = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    app = create_app({**settings, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    routes = set()
    for rule in app.url_map.iter_rules():
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((rule.rule, method, rule.endpoint))
    return sorted(routes)


ROUTES = all_routes()
POST_ROUTES = [r for r in ROUTES if r[1] != "GET"]
