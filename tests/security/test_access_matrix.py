"""A generated matrix: every route × method × role, checked against the access policy.

The records in the URLs belong to someone else (created by another administrator). The
policy lives in tests/security/routes.py.
"""

import pytest
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from crm.contacts.models import Membership
from crm.events.models import Participation, ProgrammeItem
from crm.extensions import db as _db
from tests.security.routes import (
    ROUTES,
    SELF_SERVICE_RULES,
    is_admin_only,
    is_editor_page,
    is_public,
)

ROLES = ("anonymous", "viewer", "coordinator", "admin")
SUCCESS = range(200, 300)


@pytest.fixture
def world(db, make_user, make_org, make_contact, make_event):
    """One record of each kind, owned by another administrator; ids by URL parameter name."""
    owner = make_user(role="admin", email="owner@example.org")
    org = make_org()
    contact = make_contact()
    event = make_event(responsible_id=owner.id)
    membership = Membership(contact_id=contact.id, organisation_id=org.id, role="Rector")
    participation = Participation(event_id=event.id, organisation_id=org.id, role="host")
    item = ProgrammeItem(event_id=event.id, starts_at=event.starts_at, title="Welcome")
    db.session.add_all([membership, participation, item])
    db.session.commit()
    return {
        "org_id": org.id,
        "organisation_id": org.id,
        "contact_id": contact.id,
        "event_id": event.id,
        "user_id": owner.id,
        "membership_id": membership.id,
        "participation_id": participation.id,
        "item_id": item.id,
    }


def build_url(app, rule_text: str, method: str, endpoint: str, ids: dict) -> str:
    """The rule's URL with its parameters filled: known records by name, else 1 or "x"."""
    rule = next(
        r for r in app.url_map.iter_rules() if r.rule == rule_text and r.endpoint == endpoint
    )
    values = {}
    for name, converter in rule._converters.items():
        kind = type(converter).__name__
        if isinstance(converter, IntegerConverter):  # the app's own subclass for ids
            values[name] = ids.get(name, 1)
        elif kind == "AnyConverter":
            values[name] = sorted(converter.items)[0]
        else:
            values[name] = "css/app.css" if kind == "PathConverter" else "x"
    return app.url_map.bind("localhost").build(endpoint, values, method=method)


def row_counts() -> dict[str, int]:
    """Rows per table (audit entries included): a request that changed nothing keeps these."""
    counts = {
        table.name: _db.session.scalar(select(func.count()).select_from(table))
        for table in _db.metadata.sorted_tables
    }
    _db.session.rollback()  # end the read before the request runs
    return counts


def check(client, url, rule, method, endpoint, role) -> list[str]:
    """Call the route as `role` (the client is logged in as it) and list the policy breaches."""
    before = row_counts()
    with client.open(url, method=method, data={}) as response:
        status = response.status_code
        location = response.headers.get("Location", "")
    _db.session.rollback()
    changed = row_counts() != before
    where = f"{role} {method} {url} → {status}"
    problems = []
    if status >= 500:
        problems.append(f"{where}: server error")
    if is_public(rule):
        return problems
    if role == "anonymous":
        if rule.startswith("/api/"):
            ok = status == 401
        else:
            ok = status == 302 and location.startswith("/login")
        if not ok:
            problems.append(f"{where}: anonymous must be sent to log in")
    elif is_admin_only(rule) and role != "admin":
        if status != 403:
            problems.append(f"{where}: administrators only")
    elif role == "viewer" and method != "GET" and rule not in SELF_SERVICE_RULES:
        if status in SUCCESS:
            problems.append(f"{where}: a viewer's change was accepted")
    elif role == "viewer" and method == "GET" and is_editor_page(endpoint) and status == 200:
        problems.append(f"{where}: a viewer got an editing form")
    if changed and role in ("anonymous", "viewer") and rule not in SELF_SERVICE_RULES:
        problems.append(f"{where}: data changed")
    if changed and is_admin_only(rule) and role != "admin":
        problems.append(f"{where}: data changed")
    return problems


@pytest.mark.parametrize(("rule", "method", "endpoint"), ROUTES, ids=lambda v: str(v))
def test_route_answers_each_role_as_the_policy_says(
    app, client, make_user, session_login, world, rule, method, endpoint
):
    url = build_url(app, rule, method, endpoint, world)
    problems = check(client, url, rule, method, endpoint, "anonymous")
    for role in ROLES[1:]:
        client.delete_cookie("session")
        session_login(make_user(role=role))
        problems += check(client, url, rule, method, endpoint, role)
    assert not problems, "\n".join(problems)


def test_the_matrix_catches_an_unprotected_route(app, client, make_user, session_login, db):
    """The check itself: a route that lets anyone create data must be reported."""
    from crm.organisations.services import create_organisation

    def rogue():
        create_organisation(name="Planted")
        db.session.commit()
        return "ok"

    app.add_url_rule("/rogue", "rogue", rogue, methods=["POST"])
    anonymous = check(client, "/rogue", "/rogue", "POST", "rogue", "anonymous")
    assert any("log in" in p for p in anonymous) and any("data changed" in p for p in anonymous)
    session_login(make_user(role="viewer"))
    viewer = check(client, "/rogue", "/rogue", "POST", "rogue", "viewer")
    assert any("accepted" in p for p in viewer)
