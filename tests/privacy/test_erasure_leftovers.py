"""Erasure reaches the person's follow-ups, the mail about them and only their part of the trail."""

import datetime as dt

import pytest
from sqlalchemy import String, Text, select

from crm.audit.models import AuditEntry
from crm.privacy import services

UTC = dt.UTC
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
NAME = "Katharina Müller"
EMAIL = "k.mueller@darmstadt.example"
TRACES = ("Katharina", "Müller", "k.mueller", EMAIL)


@pytest.fixture
def katharina(db, make_contact, make_user):
    """A contact with follow-ups (one open, one done) naming her, mail about her and a gift."""
    from crm.followups.models import FollowUpStatus
    from crm.followups.services import create_followup
    from crm.protocol.models import Gift, GiftDirection
    from crm.reminders.models import OutboxMessage, OutboxStatus, RuleKind
    from crm.reminders.services import ensure_default_rules

    ensure_default_rules()
    contact = make_contact(first_name="Katharina", last_name="Müller", email=EMAIL)
    staff = make_user(name="Ola Nordmann", email="ola@vertskap.example")
    # Assigned by nobody in particular: queues "a follow-up was assigned to you" for Ola.
    create_followup(
        title=f"Send photos to {NAME} ({EMAIL})",
        due_on=dt.date(2026, 6, 10),
        assignee_id=staff.id,
        contact_id=contact.id,
        now=NOW,
    )
    done = create_followup(
        title=f"Thank-you letter ({NAME})",
        due_on=dt.date(2026, 5, 20),
        assignee_id=staff.id,
        contact_id=contact.id,
        outcome=f"Sent to {EMAIL}; {NAME} answered",
        now=NOW,
    )
    done.status = FollowUpStatus.DONE
    done.closed_at = NOW
    db.session.flush()
    # The assignment mail for the done one went out already.
    sent = db.session.scalar(select(OutboxMessage).where(OutboxMessage.followup_id == done.id))
    sent.status, sent.sent_at = OutboxStatus.SENT, NOW
    db.session.add(
        OutboxMessage(
            idempotency_key="event_participant:r1:e1:c1",
            kind=RuleKind.EVENT_PARTICIPANT,
            recipient_email=EMAIL,
            recipient_name=NAME,
            subject="Reminder",
            body_text=f"Dear {NAME}",
            body_html=f"<p>Dear {NAME}</p>",
            due_at=NOW,
            next_attempt_at=NOW,
            contact_id=contact.id,
        )
    )
    db.session.add(
        Gift(
            description="Book about Trondheim",
            direction=GiftDirection.GIVEN,
            given_on=dt.date(2026, 5, 1),
            giver="The mayor",
            recipient=NAME,
            value_ore=45000,
            contact_id=contact.id,
            notes="She collects city books",
        )
    )
    db.session.commit()
    return contact


def text_of(db, model) -> list[str]:
    """Every text value in the model's table, read with a plain SELECT of its text columns."""
    columns = [c for c in model.__table__.columns if isinstance(c.type, String | Text)]
    return [value for row in db.session.execute(select(*columns)) for value in row if value]


def traces_in(values) -> list[str]:
    return [v for v in values if any(t.casefold() in v.casefold() for t in TRACES)]


def test_the_fixture_holds_her_name_in_follow_ups_and_mail(db, katharina):
    from crm.followups.models import FollowUp
    from crm.reminders.models import OutboxMessage

    assert traces_in(text_of(db, FollowUp))
    assert traces_in(text_of(db, OutboxMessage))


def test_erasure_clears_follow_up_text_but_keeps_status_due_date_and_assignee(db, katharina):
    from crm.followups.models import FollowUp

    before = {
        f.id: (f.status, f.due_on, f.assignee_id)
        for f in db.session.scalars(select(FollowUp).where(FollowUp.contact_id == katharina.id))
    }
    services.erase_contact(katharina, reason="request", now=NOW)
    db.session.commit()
    db.session.expire_all()

    assert traces_in(text_of(db, FollowUp)) == []
    followups = db.session.scalars(select(FollowUp).where(FollowUp.contact_id == katharina.id))
    after = {f.id: (f.status, f.due_on, f.assignee_id) for f in followups}
    assert after == before  # still counted: open/done, when, whose
    for followup in db.session.scalars(select(FollowUp)):
        assert followup.title == "Follow-up about an erased contact"
        assert followup.outcome == ""


def test_erasure_clears_mail_to_and_about_her_and_cancels_what_is_pending(db, katharina):
    from crm.reminders.models import OutboxMessage, OutboxStatus

    services.erase_contact(katharina, reason="request", now=NOW)
    db.session.commit()
    db.session.expire_all()

    assert traces_in(text_of(db, OutboxMessage)) == []
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [r.status for r in rows] == [
        OutboxStatus.CANCELLED,  # Ola's mail about the open follow-up
        OutboxStatus.SENT,  # the one about the done follow-up stays a record of what was sent
        OutboxStatus.CANCELLED,  # the reminder to her
    ]
    assert rows[1].sent_at == NOW
    assert rows[0].recipient_email == "ola@vertskap.example"  # staff stay the recipients
    assert rows[2].recipient_email == ""
    (erase,) = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "erase"))
    assert erase.changes["mail_cancelled"] == [None, 2]


def test_pending_mail_about_an_erased_contact_is_never_sent(db, katharina, monkeypatch):
    from crm.reminders import jobs, mailer

    sent = []

    class Sender:
        def __init__(self, config):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

        def send(self, message):
            sent.append(message)

    monkeypatch.setattr(mailer, "SmtpSender", Sender)
    services.erase_contact(katharina, reason="request", now=NOW)
    db.session.commit()

    result = jobs.dispatch_due(now=NOW + dt.timedelta(minutes=5))

    assert result.sent == 0
    assert sent == []


def test_erasure_keeps_the_gift_in_the_trail_without_her(db, katharina):
    from crm.audit.services import ERASED
    from crm.protocol.models import Gift

    gift_id = db.session.scalar(select(Gift.id))
    services.erase_contact(katharina, reason="request", now=NOW)
    db.session.commit()
    db.session.expire_all()

    about_gift = select(AuditEntry).where(
        AuditEntry.object_type == "gift", AuditEntry.object_id == gift_id
    )
    entries = db.session.scalars(about_gift.order_by(AuditEntry.id)).all()
    create = next(e for e in entries if e.action == "create")
    assert create.changes["description"] == [None, "Book about Trondheim"]
    assert create.changes["direction"] == [None, "given"]
    assert create.changes["value_ore"] == [None, 45000]
    assert create.changes["given_on"] == [None, "2026-05-01"]
    assert create.changes["giver"] == [None, "The mayor"]  # not her: kept, as on the record
    assert create.changes["recipient"] == [None, ERASED]
    assert create.changes["notes"] == [None, ERASED]
    for entry in entries:
        assert traces_in([str(entry.changes), entry.object_label]) == [], entry
