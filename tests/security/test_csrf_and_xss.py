"""Every form POST needs a CSRF token; a record named like a script is shown as text."""

from sqlalchemy import func, select

from crm.contacts.models import Membership
from crm.events.models import Participation
from crm.extensions import db as _db
from tests.conftest import PASSWORD
from tests.security.routes import CSRF_EXEMPT_RULES, POST_ROUTES, ROUTES
from tests.security.test_access_matrix import build_url

PAYLOAD = '"><script>alert(1)</script>'
ESCAPED = "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"


def total_rows() -> int:
    """All rows in all tables."""
    total = sum(
        _db.session.scalar(select(func.count()).select_from(table))
        for table in _db.metadata.sorted_tables
    )
    _db.session.rollback()
    return total


def test_every_post_route_refuses_a_missing_csrf_token(app, client, make_user, session_login):
    app.config["WTF_CSRF_ENABLED"] = True
    user = session_login(make_user(role="admin"))
    before = total_rows()
    accepted = []
    for rule, method, endpoint in POST_ROUTES:
        if rule.startswith("/api/") or rule in CSRF_EXEMPT_RULES:
            continue
        url = build_url(app, rule, method, endpoint, {})
        response = client.open(url, method=method, data={"email": user.email})
        if response.status_code != 400:
            accepted.append(f"{method} {url} → {response.status_code}")
    assert not accepted, "\n".join(accepted)
    assert total_rows() == before


def test_login_without_csrf_token_is_refused_and_counts_nothing(app, client, make_user):
    app.config["WTF_CSRF_ENABLED"] = True
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_login_with_csrf_token_works(app, client, make_user):
    app.config["WTF_CSRF_ENABLED"] = True
    user = make_user()
    page = client.get("/login").text
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def test_script_in_names_is_escaped_on_every_page(
    app, client, db, make_org, make_contact, make_event, login_as
):
    org = make_org(name=PAYLOAD, city=PAYLOAD, tags=PAYLOAD)
    contact = make_contact(first_name=PAYLOAD, last_name=PAYLOAD, title=PAYLOAD)
    event = make_event(title=PAYLOAD, venue=PAYLOAD, description=PAYLOAD)
    db.session.add_all(
        [
            Membership(contact_id=contact.id, organisation_id=org.id, role=PAYLOAD),
            Participation(event_id=event.id, contact_id=contact.id, role="guest"),
        ]
    )
    db.session.commit()
    admin = login_as("admin", name=PAYLOAD)
    ids = {"org_id": org.id, "contact_id": contact.id, "event_id": event.id, "user_id": admin.id}
    shown_escaped = []
    for rule, method, endpoint in ROUTES:
        if method != "GET" or rule.startswith("/static/"):
            continue
        url = build_url(app, rule, method, endpoint, ids)
        response = client.get(url, query_string={"q": PAYLOAD})
        if not response.mimetype.startswith("text/html"):
            continue
        assert PAYLOAD not in response.text, url
        if ESCAPED in response.text:
            shown_escaped.append(rule)
    # the names were on the pages, as text
    assert "/organisations/<int:org_id>" in shown_escaped
    assert "/audit/" in shown_escaped
    assert "/" in shown_escaped


def test_a_nul_character_is_refused_before_anything_reads_it(client, login_as, db):
    """PostgreSQL cannot store NUL; a form or query carrying one gets a clear 400."""
    from crm.contacts.models import Contact
    from crm.events.models import Event
    from tests.contacts.test_views import contact_form
    from tests.events.test_views import event_form

    login_as("coordinator", locale="en")
    for response in (
        client.post("/events/new", data=event_form(title="nul\x00byte")),
        client.post("/contacts/new", data=contact_form(first_name="Å\x00se")),
        client.get("/contacts/?q=a%00b"),
    ):
        assert response.status_code == 400
        assert "contained a NUL character, which cannot be stored" in response.text
    api = client.get("/api/contacts?q=a%00b")  # the API names the field itself
    assert api.status_code == 422 and api.json["error"]["fields"]["q"]
    for model in (Event, Contact):
        assert db.session.scalar(db.select(db.func.count()).select_from(model)) == 0
    assert client.get("/contacts/?q=a").status_code == 200  # the rest still reads as before
