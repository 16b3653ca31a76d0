"""Reminder rules, staff preferences, contact opt-ins and the outbox of mail."""

import datetime as dt
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import TimestampMixin, UTCDateTime, intpk, utcnow
from crm.enums import LabelledEnum, enum_column
from crm.extensions import db
from crm.i18n import translated

if TYPE_CHECKING:
    from crm.auth.models import User
    from crm.contacts.models import Contact
    from crm.events.models import Event


class RuleKind(LabelledEnum):
    """What a rule sends: each kind has its recipients and its timing."""

    EVENT_RESPONSIBLE = "event_responsible"
    EVENT_PARTICIPANT = "event_participant"
    FOLLOWUP_DIGEST = "followup_digest"
    FOLLOWUP_ASSIGNED = "followup_assigned"
    # Planned by crm.protocol (agreement expiry and notice dates), not by a rule row.
    AGREEMENT_DATE = "agreement_date"

    @property
    def label(self) -> str:
        return translated(_RULE_LABELS[self.value])

    @property
    def is_event_rule(self) -> bool:
        return self in (RuleKind.EVENT_RESPONSIBLE, RuleKind.EVENT_PARTICIPANT)

    @property
    def is_for_staff(self) -> bool:
        return self != RuleKind.EVENT_PARTICIPANT


class OutboxStatus(LabelledEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"

    @property
    def label(self) -> str:
        return translated(_STATUS_LABELS[self.value])


_RULE_LABELS = {
    "event_responsible": _l("Responsible staff member before an event"),
    "event_participant": _l("Participants who opted in, before an event"),
    "followup_digest": _l("Daily digest of due and overdue follow-ups"),
    "followup_assigned": _l("A follow-up was assigned to me"),
    "agreement_date": _l("An agreement's expiry or notice date is near"),
}
_STATUS_LABELS = {
    "queued": _l("Queued"),
    "sending": _l("Sending"),
    "sent": _l("Sent"),
    "failed": _l("Failed"),
    "cancelled": _l("Cancelled"),
    "skipped": _l("Skipped"),
}


class ReminderRule(TimestampMixin, db.Model):
    """What to send whom and when; admins edit these rows."""

    __tablename__ = "reminder_rule"

    id: Mapped[intpk]
    kind: Mapped[RuleKind] = mapped_column(enum_column(RuleKind, 30), index=True)
    # Event rules: how long before the event starts (real hours, so DST changes do not shift it).
    offset_hours: Mapped[int] = mapped_column(default=24)
    # The digest: the local time of day in the office's zone.
    send_time: Mapped[dt.time | None] = mapped_column(Time())
    is_active: Mapped[bool] = mapped_column(default=True)
    # The digest: the last office day whose digest has been planned (None: never). A day is
    # planned once, at its time or on the first run after it, so a follow-up that falls due
    # later that day waits for the next day's digest.
    digest_planned_on: Mapped[dt.date | None] = mapped_column()

    @property
    def offset(self) -> dt.timedelta:
        return dt.timedelta(hours=self.offset_hours)

    def __str__(self) -> str:
        return self.kind.label


class ReminderPreference(db.Model):
    """A staff member's choice for one rule; no row means the rule applies."""

    __tablename__ = "reminder_preference"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    rule_id: Mapped[int] = mapped_column(
        ForeignKey("reminder_rule.id", ondelete="CASCADE"), primary_key=True
    )
    is_enabled: Mapped[bool] = mapped_column(default=True)


class ReminderSubscription(db.Model):
    """A contact's consent to event reminders, and its withdrawal."""

    __tablename__ = "reminder_subscription"
    __table_args__ = (UniqueConstraint("contact_id"),)

    id: Mapped[intpk]
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    opted_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(80), default="")
    unsubscribed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    contact: Mapped["Contact"] = relationship()

    @property
    def is_active(self) -> bool:
        return self.opted_in_at is not None and self.unsubscribed_at is None


class OutboxMessage(db.Model):
    """One concrete mail: planned first, then claimed, sent and marked, exactly once."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        Index("ix_outbox_message_due", "status", "next_attempt_at"),
    )

    id: Mapped[intpk]
    idempotency_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[RuleKind] = mapped_column(enum_column(RuleKind, 30))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("reminder_rule.id", ondelete="SET NULL"))
    recipient_email: Mapped[str] = mapped_column(String(254))
    recipient_name: Mapped[str] = mapped_column(String(250), default="")
    language: Mapped[str] = mapped_column(String(5), default="nb")
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    # What the content was rendered from; planning re-renders a queued row when it changes.
    fingerprint: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[OutboxStatus] = mapped_column(
        enum_column(OutboxStatus), default=OutboxStatus.QUEUED
    )
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    # The start of the instance of a recurring event this reminder is for (its key names it
    # too); None when the reminder follows event.starts_at (a one-off event).
    occurs_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    message_id: Mapped[str] = mapped_column(String(250), default="")
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("event.id", ondelete="SET NULL"), index=True
    )
    followup_id: Mapped[int | None] = mapped_column(
        ForeignKey("follow_up.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    rule: Mapped[ReminderRule | None] = relationship()
    event: Mapped["Event | None"] = relationship()
    contact: Mapped["Contact | None"] = relationship()
    user: Mapped["User | None"] = relationship()

    @property
    def is_pending(self) -> bool:
        return self.status == OutboxStatus.QUEUED
