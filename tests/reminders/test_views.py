"""Reminder pages: rules, my reminders, the outbox with retry, contact opt-in, unsubscribe."""

import datetime as dt

import pytest

from crm.reminders.models import OutboxStatus, ReminderPreference, ReminderRule
from crm.reminders.services import is_subscribed, unsubscribe_token
from tests.reminders.conftest import rows

NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("role", ["coordinator", "viewer"])
def test_only_admins_see_rules_and_outbox(client, login_as, rules, queue_mail, role):
    row = queue_mail("x", due_at=NOW, status=OutboxStatus.FAILED)
    login_as(role)
    assert client.get("/reminders/rules").status_code == 403
    assert client.get(f"/reminders/rules/{rules['event_responsible'].id}/edit").status_code == 403
    assert client.get("/reminders/outbox").status_code == 403
    assert client.post(f"/reminders/outbox/{row.id}/retry").status_code == 403


def test_admin_edits_a_rule(client, login_as, rules, db):
    login_as("admin")
    page = client.get("/reminders/rules")
    assert page.status_code == 200 and "24" in page.text
    rule = rules["event_responsible"]
    response = client.post(f"/reminders/rules/{rule.id}/edit", data={"offset_hours": "6"})
    assert response.status_code == 302
    db.session.expire_all()
    assert rule.offset_hours == 6
    assert rule.is_active is False  # the unchecked box switched it off


@pytest.mark.parametrize(
    "kind, data, field",
    [
        ("event_responsible", {"offset_hours": "0", "is_active": "y"}, "offset_hours"),
        ("event_participant", {"offset_hours": "99999", "is_active": "y"}, "offset_hours"),
        ("event_participant", {"offset_hours": "", "is_active": "y"}, "offset_hours"),
        ("followup_digest", {"send_time": "seven", "is_active": "y"}, "send_time"),
    ],
)
def test_bad_rule_input_is_shown_and_changes_nothing(
    client, login_as, rules, db, kind, data, field
):
    login_as("admin")
    rule = rules[kind]
    before = (rule.offset_hours, rule.send_time, rule.is_active)
    response = client.post(f"/reminders/rules/{rule.id}/edit", data=data)
    assert response.status_code == 200
    assert f'id="{field}-error"' in response.text
    db.session.expire_all()
    rule = db.session.get(ReminderRule, rule.id)
    assert (rule.offset_hours, rule.send_time, rule.is_active) == before


def test_digest_time_is_editable(client, login_as, rules, db):
    login_as("admin")
    rule = rules["followup_digest"]
    client.post(f"/reminders/rules/{rule.id}/edit", data={"send_time": "08:30", "is_active": "y"})
    db.session.expire_all()
    assert rule.send_time == dt.time(8, 30)


def test_outbox_shows_failures_first_and_retry_requeues(client, login_as, queue_mail, db):
    queue_mail("ok", due_at=NOW, status=OutboxStatus.SENT, email="sent@example.org")
    failed = queue_mail(
        "bad",
        due_at=NOW - dt.timedelta(days=1),
        status=OutboxStatus.FAILED,
        email="failed@example.org",
        attempts=6,
        last_error="SMTPRecipientsRefused: nope",
    )
    login_as("admin")
    page = client.get("/reminders/outbox")
    assert page.status_code == 200
    assert page.text.index("failed@example.org") < page.text.index("sent@example.org")
    assert "SMTPRecipientsRefused: nope" in page.text
    assert client.get("/reminders/outbox?status=failed").text.count("table-danger") == 1

    response = client.post(f"/reminders/outbox/{failed.id}/retry")
    assert response.status_code == 302
    row = rows(db, idempotency_key="bad")[0]
    assert (row.status, row.attempts) == (OutboxStatus.QUEUED, 0)
    # a sent mail cannot be retried
    sent = rows(db, idempotency_key="ok")[0]
    client.post(f"/reminders/outbox/{sent.id}/retry")
    assert rows(db, idempotency_key="ok")[0].status == OutboxStatus.SENT


def test_my_reminders_switches_rules_off_and_on(client, login_as, rules, db):
    user = login_as("viewer")
    page = client.get("/reminders/mine")
    assert page.status_code == 200
    assert f'value="{rules["event_participant"].id}"' not in page.text  # not a staff rule
    client.post("/reminders/mine", data={"rule": [str(rules["followup_digest"].id)]})
    prefs = {
        p.rule_id: p.is_enabled
        for p in db.session.scalars(db.select(ReminderPreference).filter_by(user_id=user.id))
    }
    assert prefs[rules["followup_digest"].id] is True
    assert prefs[rules["event_responsible"].id] is False
    assert prefs[rules["followup_assigned"].id] is False


def test_coordinator_records_contact_opt_in_and_out(client, login_as, make_contact, db):
    contact = make_contact(email="astrid@example.se")
    nomail = make_contact(email="")
    login_as("coordinator")
    url = f"/reminders/contacts/{contact.id}/subscription"
    assert client.post(url, data={"action": "opt_in"}).status_code == 302
    assert is_subscribed(contact.id)
    client.post(url, data={"action": "opt_out"})
    assert not is_subscribed(contact.id)
    client.post(f"/reminders/contacts/{nomail.id}/subscription", data={"action": "opt_in"})
    assert not is_subscribed(nomail.id)


def test_viewer_cannot_change_opt_in(client, login_as, make_contact):
    contact = make_contact(email="astrid@example.se")
    login_as("viewer")
    url = f"/reminders/contacts/{contact.id}/subscription"
    assert client.post(url, data={"action": "opt_in"}).status_code == 403


def test_unsubscribe_page_needs_no_login_and_a_valid_token(client, make_contact, app):
    contact = make_contact(email="astrid@example.se", preferred_language="en")
    token = unsubscribe_token(contact.id)
    page = client.get(f"/reminders/unsubscribe/{token}")
    assert page.status_code == 200 and "astrid@example.se" in page.text
    assert not is_subscribed(contact.id)
    assert client.get(f"/reminders/unsubscribe/{token}x").status_code == 404
    assert client.post(f"/reminders/unsubscribe/{token[:-2]}").status_code == 404
    assert client.post(f"/reminders/unsubscribe/{token}").status_code == 200


def test_one_click_unsubscribe_works_with_csrf_on(make_contact, app, db):
    from crm.reminders.services import opt_in

    app.config["WTF_CSRF_ENABLED"] = True
    contact = make_contact(email="astrid@example.se")
    opt_in(contact)
    db.session.commit()
    client = app.test_client()
    response = client.post(
        f"/reminders/unsubscribe/{unsubscribe_token(contact.id)}",
        data={"List-Unsubscribe": "One-Click"},
    )
    assert response.status_code == 200
    assert not is_subscribed(contact.id)
