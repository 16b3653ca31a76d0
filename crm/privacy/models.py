"""Consent and legal basis per purpose, and each contact's privacy state."""

import datetime as dt
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import TimestampMixin, UTCDateTime, intpk
from crm.enums import LabelledEnum, enum_column
from crm.extensions import db
from crm.i18n import translated

if TYPE_CHECKING:
    from crm.contacts.models import Contact


class Purpose(LabelledEnum):
    """What the office uses a contact's data for, beyond keeping the record."""

    EVENT_REMINDERS = "event_reminders"
    NEWSLETTER = "newsletter"
    INVITATIONS = "invitations"

    @property
    def label(self) -> str:
        return translated(_PURPOSE_LABELS[self.value])


class LegalBasis(LabelledEnum):
    """The lawful bases of GDPR article 6(1)."""

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTERESTS = "vital_interests"
    PUBLIC_TASK = "public_task"
    LEGITIMATE_INTEREST = "legitimate_interest"

    @property
    def label(self) -> str:
        return translated(_BASIS_LABELS[self.value])


_PURPOSE_LABELS = {
    "event_reminders": _l("Event reminders"),
    "newsletter": _l("Newsletter"),
    "invitations": _l("Invitations to events"),
}
_BASIS_LABELS = {
    "consent": _l("Consent"),
    "contract": _l("Contract"),
    "legal_obligation": _l("Legal obligation"),
    "vital_interests": _l("Vital interests"),
    "public_task": _l("Public task"),
    "legitimate_interest": _l("Legitimate interest"),
}


class Consent(TimestampMixin, db.Model):
    """A contact's legal basis for one purpose, and when (and how) consent was given or withdrawn.

    One row per contact and purpose holds the current state; the audit trail keeps each change.
    """

    __tablename__ = "consent"
    __audited__ = True
    __table_args__ = (UniqueConstraint("contact_id", "purpose"),)

    id: Mapped[intpk]
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[Purpose] = mapped_column(enum_column(Purpose, 30))
    legal_basis: Mapped[LegalBasis] = mapped_column(enum_column(LegalBasis, 30))
    granted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    granted_source: Mapped[str] = mapped_column(String(200), default="")
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    withdrawn_source: Mapped[str] = mapped_column(String(200), default="")

    contact: Mapped["Contact"] = relationship()

    @property
    def is_active(self) -> bool:
        """True while the purpose may be pursued: not withdrawn, and granted if consent-based."""
        if self.withdrawn_at is not None:
            return False
        return self.legal_basis != LegalBasis.CONSENT or self.granted_at is not None

    def __str__(self) -> str:
        # Never the person's name: the label stays in the audit trail.
        return f"{self.purpose.label} #{self.contact_id}"


class ContactPrivacy(db.Model):
    """A contact's restriction of processing, erasure and retention-review state.

    No row means nothing special: not restricted, not erased, not flagged.
    """

    __tablename__ = "contact_privacy"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True
    )
    # Restriction (GDPR art. 18): no mail, no export, no feed while set.
    restricted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    restriction_reason: Mapped[str] = mapped_column(Text, default="")
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # When retention last deleted the dietary and access needs.
    sensitive_cleared_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The retention job flags contacts without activity for years; a person reviews them.
    review_flagged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_activity_on: Mapped[dt.date | None]

    contact: Mapped["Contact"] = relationship()

    @property
    def is_restricted(self) -> bool:
        return self.restricted_at is not None

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None
