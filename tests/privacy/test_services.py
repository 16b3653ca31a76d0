"""GDPR rights with fixed clocks: consent, export, erasure, restriction, retention."""

import datetime as dt
import json

import pytest
from sqlalchemy import func, inspect, select

from crm.audit.models import AuditEntry
from crm.contacts.models import Contact
from crm.contacts.services import add_membership, contact_query
from crm.errors import ServiceError
from crm.privacy import services
from crm.privacy.models import Consent, ContactPrivacy

UTC = dt.UTC
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = dt.timedelta(days=1)


def entries(db, action):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


@pytest.fixture
def person(db, make_contact, make_org, make_event):
    """A contact with a row in every table that refers to contacts."""
    from crm.calendars.models import Calendar, Subscription
    from crm.events.models import Participation
    from crm.followups.models import FollowUp, Interaction
    from crm.protocol.models import Gift, GiftDirection
    from crm.reminders.models import OutboxMessage, OutboxStatus, RuleKind

    org = make_org(name="Consulate of Sweden", kind="consulate")
    contact = make_contact(
        first_name="Astrid",
        last_name="Lindqvist",
        email="astrid@example.se",
        other_emails="a.lindqvist@gov.se",
        phone="+46 70 000 00 00",
        dietary_needs="vegetarian",
        access_needs="wheelchair",
        notes="Prefers morning meetings",
        tags="consul",
    )
    add_membership(contact, organisation_id=org.id, role="Consul")
    services.restrict_contact(contact, reason="checking", now=NOW)
    services.lift_restriction(contact, now=NOW)
    event = make_event(title="Midsummer reception", starts_at=NOW - 10 * DAY)
    calendar = Calendar(slug="partners", name_nb="Partnere", name_en="Partners")
    db.session.add(calendar)
    db.session.flush()
    db.session.add_all(
        [
            Participation(event_id=event.id, contact_id=contact.id),
            Interaction(contact_id=contact.id, occurred_on=dt.date(2026, 5, 1), note="Lunch"),
            FollowUp(title="Send photos", contact_id=contact.id),
            Subscription(calendar_id=calendar.id, token_hash="a" * 64, contact_id=contact.id),
            Gift(
                description="Book about Trondheim",
                direction=GiftDirection.GIVEN,
                given_on=dt.date(2026, 5, 1),
                giver="The mayor",
                recipient="Astrid Lindqvist",
                contact_id=contact.id,
                notes="She collects city books",
            ),
        ]
    )
    for key, status in (("sent", OutboxStatus.SENT), ("queued", OutboxStatus.QUEUED)):
        db.session.add(
            OutboxMessage(
                idempotency_key=key,
                kind=RuleKind.EVENT_PARTICIPANT,
                recipient_email="astrid@example.se",
                recipient_name="Astrid Lindqvist",
                subject="Reminder",
                body_text="Dear Astrid Lindqvist",
                body_html="<p>Dear Astrid Lindqvist</p>",
                due_at=NOW,
                next_attempt_at=NOW,
                status=status,
                contact_id=contact.id,
            )
        )
    services.record_consent(
        contact, purpose="event_reminders", legal_basis="consent", source="signed form", now=NOW
    )
    db.session.commit()
    return contact


def tables_referring_to_contacts(db) -> set[str]:
    """Every table with a foreign key to contact.id, read from the live database schema."""
    inspector = inspect(db.engine)
    found = set()
    for table in inspector.get_table_names():
        for fk in inspector.get_foreign_keys(table):
            if fk["referred_table"] == "contact" and fk["referred_columns"] == ["id"]:
                found.add(table)
    return found


def test_export_covers_every_table_that_refers_to_contacts(db):
    referring = tables_referring_to_contacts(db)
    assert {"membership", "participation", "consent"} <= referring  # the inspection works
    missing = referring - services.EXPORTED_TABLES
    assert not missing, f"tables about contacts missing from the GDPR export: {sorted(missing)}"
    metadata_tables = {
        t.name
        for t in db.metadata.sorted_tables
        for fk in t.foreign_keys
        if fk.column.table.name == "contact"
    }
    assert metadata_tables - services.EXPORTED_TABLES == set()


def test_export_holds_a_row_from_every_referring_table_and_is_audited(db, person):
    data = services.export_contact(person, now=NOW)
    db.session.commit()
    sections = data["sections"]
    for table in tables_referring_to_contacts(db):
        assert sections[table], f"{table} is empty in the export"
    assert sections["contact"]["dietary_needs"] == "vegetarian"
    assert sections["membership"][0]["organisation"] == "Consulate of Sweden"
    assert sections["participation"][0]["event"] == "Midsummer reception"
    assert {m["status"] for m in sections["outbox_message"]} == {"sent", "queued"}
    assert all("token_hash" not in s for s in sections["subscription"])
    assert {e["action"] for e in sections["audit_entry"]} >= {"create", "restrict", "unrestrict"}
    assert data["exported_at"] == NOW.isoformat()
    json.loads(services.export_as_json(data))
    text = services.export_as_csv(data)
    assert text.startswith("\ufeffsection,row,field,value")
    assert "'+46 70 000 00 00" in text  # spreadsheet-safe
    (entry,) = entries(db, "export")
    assert entry.object_id == person.id and entry.changes["format"] == [None, "json"]


def test_restricted_contact_is_exported_only_for_the_person_themselves(db, person):
    services.restrict_contact(person, reason="contests accuracy", now=NOW)
    with pytest.raises(ServiceError, match="restricted"):
        services.export_contact(person)
    data = services.export_contact(person, for_data_subject=True)
    assert data["sections"]["contact_privacy"][0]["restricted_at"] == NOW.isoformat()
    assert entries(db, "export")[0].changes["for_data_subject"] == [None, True]


def test_restriction_stops_mail_cancels_queue_and_revokes_feeds(db, person):
    from crm.calendars.models import Subscription
    from crm.reminders.models import OutboxMessage

    assert services.may_email(person, "event_reminders")
    services.restrict_contact(person, reason="objection", now=NOW)
    db.session.commit()
    assert services.is_restricted(person)
    assert not services.may_email(person, "event_reminders")
    assert not services.may_email(person.id, "newsletter")
    statuses = {
        m.idempotency_key: m.status.value for m in db.session.scalars(select(OutboxMessage))
    }
    assert statuses == {"sent": "sent", "queued": "cancelled"}
    assert db.session.scalar(select(Subscription.revoked_at)) == NOW
    assert entries(db, "restrict")[-1].changes["feeds_revoked"] == [None, 1]
    with pytest.raises(ServiceError):
        services.restrict_contact(person, reason="again")


def test_consent_withdrawal_and_basis_decide_may_email(db, make_contact):
    kari = make_contact(first_name="Kari", email="kari@example.no")
    assert services.may_email(kari, "newsletter")  # nothing recorded: the purpose's opt-in rules
    services.record_consent(
        kari, purpose="newsletter", legal_basis="legitimate_interest", source="member list"
    )
    assert services.may_email(kari, "newsletter")
    services.withdraw_consent(kari, purpose="newsletter", source="email", now=NOW)
    assert not services.may_email(kari, "newsletter")
    assert services.mailable_contact_ids({kari.id}, "event_reminders") == {kari.id}
    with pytest.raises(ServiceError):
        services.may_email(kari, "telepathy")
    with pytest.raises(ServiceError) as raised:
        services.record_consent(kari, purpose="newsletter", legal_basis="consent", source=" ")
    assert raised.value.field == "source"


def test_event_reminder_consent_follows_the_reminder_subscription(db, make_contact):
    from crm.reminders.services import is_subscribed

    kari = make_contact(first_name="Kari", email="kari@example.no")
    services.record_consent(kari, purpose="event_reminders", legal_basis="consent", source="form")
    assert is_subscribed(kari.id)
    services.withdraw_consent(kari, purpose="event_reminders", source="phone")
    assert not is_subscribed(kari.id)


def test_withdrawn_consent_stops_mail_at_the_next_dispatch(
    app, db, make_contact, make_event, make_user
):
    """Planned while consent was given; withdrawn before dispatch: cancelled, never sent."""
    from crm.events.models import Participation
    from crm.reminders import jobs
    from crm.reminders.models import OutboxMessage, OutboxStatus
    from crm.reminders.services import ensure_default_rules

    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=9, SMTP_TIMEOUT=1)  # nothing may be sent
    ensure_default_rules()
    now = dt.datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    kari = make_contact(first_name="Kari", email="kari@example.no")
    event = make_event(title="Visit", starts_at=now + dt.timedelta(hours=30))
    db.session.add(Participation(event_id=event.id, contact_id=kari.id))
    services.record_consent(kari, purpose="event_reminders", legal_basis="consent", source="form")
    db.session.commit()
    jobs.plan_reminders(now=now)
    db.session.commit()
    (row,) = db.session.scalars(select(OutboxMessage).where(OutboxMessage.contact_id == kari.id))
    assert row.status == OutboxStatus.QUEUED
    # The consent row alone says no (as after a withdrawal recorded by SQL or another path).
    consent = db.session.scalar(select(Consent))
    consent.withdrawn_at = now
    db.session.commit()
    result = jobs.dispatch_due(now=row.due_at)
    db.session.expire_all()
    assert result.sent == 0
    assert db.session.get(OutboxMessage, row.id).status == OutboxStatus.CANCELLED


def test_restricted_contact_is_not_planned(app, db, make_contact, make_event):
    from crm.events.models import Participation
    from crm.reminders import jobs
    from crm.reminders.models import OutboxMessage
    from crm.reminders.services import ensure_default_rules, opt_in

    ensure_default_rules()
    now = dt.datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    kari = make_contact(first_name="Kari", email="kari@example.no")
    event = make_event(title="Visit", starts_at=now + dt.timedelta(hours=30))
    db.session.add(Participation(event_id=event.id, contact_id=kari.id))
    opt_in(kari, source="test")
    services.restrict_contact(kari, reason="objection")
    db.session.commit()
    jobs.plan_reminders(now=now)
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.contact_id == kari.id)
        )
        == 0
    )


def test_erasure_anonymises_keeps_aggregates_and_redacts_the_trail(db, person):
    from crm.calendars.models import Subscription
    from crm.events.models import Participation
    from crm.followups.models import Interaction
    from crm.protocol.models import Gift
    from crm.reminders.models import OutboxMessage

    contact_id = person.id
    services.erase_contact(person, reason="request 2026-06-01", now=NOW)
    db.session.commit()
    db.session.expire_all()
    contact = db.session.get(Contact, contact_id)
    assert contact.name == f"Erased contact #{contact_id}"
    for key in (
        "email",
        "other_emails",
        "phone",
        "title",
        "dietary_needs",
        "access_needs",
        "notes",
    ):
        assert getattr(contact, key) == "", key
    assert contact.nationality is None and contact.tags == []
    assert [m.role for m in contact.memberships] == [""]  # the organisation keeps its count
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Participation)
            .where(Participation.contact_id == contact_id)
        )
        == 1
    )
    assert db.session.scalar(select(Interaction.note)) == ""
    mails = {m.idempotency_key: m for m in db.session.scalars(select(OutboxMessage))}
    assert mails["queued"].status.value == "cancelled"
    assert mails["sent"].status.value == "sent"
    assert all(m.recipient_email == "" and "Astrid" not in m.body_text for m in mails.values())
    assert db.session.scalar(select(Subscription.revoked_at)) == NOW
    gift = db.session.scalar(select(Gift))
    assert (gift.recipient, gift.notes, gift.giver) == (contact.name, "", "The mayor")
    assert gift.given_on == dt.date(2026, 5, 1)  # the register keeps the gift itself
    assert db.session.get(ContactPrivacy, contact_id).erased_at == NOW
    assert not services.may_email(contact, "event_reminders")
    # Searching the old name or address finds nothing, in the contacts or in the trail.
    for term in ("Astrid", "Lindqvist", "astrid@example.se", "a.lindqvist@gov.se"):
        assert db.session.scalars(contact_query(q=term)).all() == []
    about_them = select(AuditEntry).where(
        AuditEntry.object_type == "contact", AuditEntry.object_id == contact_id
    )
    assert len(db.session.scalars(about_them).all()) >= 3
    for entry in db.session.scalars(about_them):
        text = json.dumps(entry.changes) + entry.object_label
        assert "Astrid" not in text and "astrid@" not in text and "Lindqvist" not in text, entry
    membership_roles = [
        e.changes.get("role")
        for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.object_type == "membership")
        )
    ]
    assert ["(erased)", None] in membership_roles and ["Consul", ""] not in membership_roles
    (erase,) = entries(db, "erase")
    assert erase.changes["mail_cancelled"] == [None, 1]
    assert erase.changes["entries_redacted"][1] >= 3
    with pytest.raises(ServiceError):
        services.erase_contact(contact)


def test_retention_deletes_needs_days_after_the_last_event(app, db, make_contact, make_event):
    from crm.events.models import Participation

    past = make_event(title="Past", starts_at=NOW - 40 * DAY)
    recent = make_event(title="Recent", starts_at=NOW - 10 * DAY)
    old_guest = make_contact(first_name="Old", dietary_needs="halal", access_needs="ramp")
    recent_guest = make_contact(first_name="Recent", dietary_needs="vegan")
    future_guest = make_contact(first_name="Future", dietary_needs="kosher")  # no event yet
    db.session.add_all(
        [
            Participation(event_id=past.id, contact_id=old_guest.id),
            Participation(event_id=past.id, contact_id=recent_guest.id),
            Participation(event_id=recent.id, contact_id=recent_guest.id),
        ]
    )
    db.session.commit()
    result = services.run_retention(now=NOW)
    db.session.commit()
    assert result.cleared == 1
    db.session.expire_all()
    assert (old_guest.dietary_needs, old_guest.access_needs) == ("", "")
    assert recent_guest.dietary_needs == "vegan" and future_guest.dietary_needs == "kosher"
    assert db.session.get(ContactPrivacy, old_guest.id).sensitive_cleared_at == NOW
    (entry,) = [e for e in entries(db, "retention") if e.object_id == old_guest.id]
    assert entry.changes["dietary_needs"] == ["(changed)", ""]
    assert "halal" not in json.dumps([e.changes for e in db.session.scalars(select(AuditEntry))])
    app.config["RETENTION_SENSITIVE_DAYS"] = 5
    assert services.run_retention(now=NOW).cleared == 1  # the recent guest's turn now


def test_retention_flags_contacts_without_activity_for_years(app, db, make_contact, make_event):
    from crm.events.models import Participation
    from crm.followups.models import Interaction

    long_ago = NOW - dt.timedelta(days=365 * 4)
    idle = make_contact(first_name="Idle", created_at=long_ago)
    met = make_contact(first_name="Met", created_at=long_ago)
    guest = make_contact(first_name="Guest", created_at=long_ago)
    new = make_contact(first_name="New", created_at=NOW - DAY)
    event = make_event(title="Recent", starts_at=NOW - 100 * DAY)
    db.session.add_all(
        [
            Interaction(contact_id=met.id, occurred_on=(NOW - 30 * DAY).date()),
            Participation(event_id=event.id, contact_id=guest.id),
        ]
    )
    db.session.commit()
    result = services.run_retention(now=NOW)
    db.session.commit()
    assert result.flagged == 1
    flagged = set(
        db.session.scalars(
            select(Contact.id).where(
                Contact.id.in_(
                    select(ContactPrivacy.contact_id).where(
                        ContactPrivacy.review_flagged_at.is_not(None)
                    )
                )
            )
        )
    )
    assert flagged == {idle.id}
    assert new.id not in flagged
    assert services.run_retention(now=NOW + DAY).flagged == 0  # flagged once
    services.keep_after_review(idle, now=NOW + DAY)
    assert services.run_retention(now=NOW + 2 * DAY).flagged == 0
    app.config["RETENTION_REVIEW_YEARS"] = 0
    assert services.run_retention(now=NOW + 3 * DAY).flagged == 4
    assert next(e.object_id for e in entries(db, "retention")) == idle.id


def test_retention_command_and_nightly_job(runner, app, db, make_contact):
    from crm.reminders.scheduler import build_scheduler

    make_contact(created_at=NOW - dt.timedelta(days=365 * 5))
    result = runner.invoke(args=["crm", "retention"])
    assert result.exit_code == 0, result.output
    assert "flagged 1" in result.output
    scheduler = build_scheduler(app)
    job = scheduler.get_job("nightly_retention")
    assert job is not None and "hour='3'" in str(job.trigger)


def test_erasure_leaves_no_trace_of_the_name_anywhere_in_the_trail(db, person):
    services.erase_contact(person, now=NOW)
    db.session.commit()
    for entry in db.session.scalars(select(AuditEntry)):
        text = json.dumps(entry.changes) + entry.object_label
        assert "Astrid" not in text and "Lindqvist" not in text, entry
