"""Follow-ups and interactions: what to do after a visit, and what happened."""

import datetime as dt
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import TimestampMixin, UTCDateTime, VersionedMixin, intpk
from crm.enums import LabelledEnum, enum_column
from crm.extensions import db

if TYPE_CHECKING:
    from crm.auth.models import User
    from crm.contacts.models import Contact
    from crm.events.models import Event
    from crm.organisations.models import Organisation


class FollowUpStatus(LabelledEnum):
    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"

    @property
    def label(self) -> str:
        return str(_FOLLOWUP_LABELS[self.value])


class InteractionKind(LabelledEnum):
    MET = "met"
    CALLED = "called"
    EMAILED = "emailed"
    GIFT_GIVEN = "gift_given"
    GIFT_RECEIVED = "gift_received"
    VISIT = "visit"
    OTHER = "other"

    @property
    def label(self) -> str:
        return str(_INTERACTION_LABELS[self.value])


_FOLLOWUP_LABELS = {
    "open": _l("Open"),
    "done": _l("Done"),
    "dropped": _l("Dropped"),
}
_INTERACTION_LABELS = {
    "met": _l("Met"),
    "called": _l("Called"),
    "emailed": _l("Emailed"),
    "gift_given": _l("Gift given"),
    "gift_received": _l("Gift received"),
    "visit": _l("Visit"),
    "other": _l("Other"),
}


class FollowUp(VersionedMixin, TimestampMixin, db.Model):
    """A task: what to do, by when, by whom; about an event, a contact or an organisation."""

    __tablename__ = "follow_up"

    id: Mapped[intpk]
    title: Mapped[str] = mapped_column(String(300))
    due_on: Mapped[dt.date | None] = mapped_column(index=True)
    status: Mapped[FollowUpStatus] = mapped_column(
        enum_column(FollowUpStatus), default=FollowUpStatus.OPEN, index=True
    )
    outcome: Mapped[str] = mapped_column(Text, default="")
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("event.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    assignee: Mapped["User | None"] = relationship(foreign_keys=[assignee_id])
    created_by: Mapped["User | None"] = relationship(foreign_keys=[created_by_id])
    event: Mapped["Event | None"] = relationship()
    contact: Mapped["Contact | None"] = relationship()
    organisation: Mapped["Organisation | None"] = relationship()

    @property
    def is_open(self) -> bool:
        return self.status == FollowUpStatus.OPEN

    def is_overdue(self, today: dt.date) -> bool:
        """True when still open after its due date."""
        return self.is_open and self.due_on is not None and self.due_on < today

    @property
    def subject(self):
        """Whom or what the follow-up is about (contact, organisation, else event)."""
        return self.contact or self.organisation or self.event

    def __str__(self) -> str:
        return self.title


class Interaction(TimestampMixin, db.Model):
    """A dated note in a contact's or organisation's timeline: met, called, gift given ..."""

    __tablename__ = "interaction"
    __table_args__ = (
        CheckConstraint(
            "contact_id IS NOT NULL OR organisation_id IS NOT NULL", name="has_subject"
        ),
    )

    id: Mapped[intpk]
    kind: Mapped[InteractionKind] = mapped_column(
        enum_column(InteractionKind), default=InteractionKind.OTHER
    )
    occurred_on: Mapped[dt.date] = mapped_column(index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    contact: Mapped["Contact | None"] = relationship()
    organisation: Mapped["Organisation | None"] = relationship()
    event: Mapped["Event | None"] = relationship()
    created_by: Mapped["User | None"] = relationship()
