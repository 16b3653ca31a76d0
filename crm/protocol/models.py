"""Programme item details, cooperation agreements and the gift register."""

import datetime as dt
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from crm.db import TimestampMixin, VersionedMixin, intpk
from crm.enums import LabelledEnum, TwinCityCategory, enum_column
from crm.events.models import Event
from crm.extensions import db
from crm.i18n import translated

if TYPE_CHECKING:
    from crm.auth.models import User
    from crm.contacts.models import Contact
    from crm.events.models import ProgrammeItem
    from crm.organisations.models import Organisation

# How long before an agreement's expiry it counts as "expiring".
EXPIRING_WITHIN = dt.timedelta(days=90)


class ProgrammeItemDetail(db.Model):
    """What a programme item needs beyond time, place and title (kept beside the events table)."""

    __tablename__ = "programme_item_detail"
    __audited__ = True

    item_id: Mapped[int] = mapped_column(
        ForeignKey("programme_item.id", ondelete="CASCADE"), primary_key=True
    )
    address: Mapped[str] = mapped_column(String(300), default="")
    our_hosts: Mapped[str] = mapped_column(Text, default="")
    partner_hosts: Mapped[str] = mapped_column(Text, default="")
    interpreter: Mapped[str] = mapped_column(String(200), default="")
    transport: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    shared_with_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"), index=True
    )

    # The backref gives ProgrammeItem a `detail` without touching the events feature's model;
    # delete-orphan removes the detail with its item.
    item: Mapped["ProgrammeItem"] = relationship(
        backref=backref("detail", uselist=False, cascade="all, delete-orphan")
    )
    shared_with: Mapped["Organisation | None"] = relationship()


agreement_party = Table(
    "agreement_party",
    db.metadata,
    Column(
        "agreement_id", Integer, ForeignKey("agreement.id", ondelete="CASCADE"), primary_key=True
    ),
    Column(
        "organisation_id",
        Integer,
        ForeignKey("organisation.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)


class AgreementState(LabelledEnum):
    ACTIVE = "active"
    EXPIRING = "expiring"
    EXPIRED = "expired"

    @property
    def label(self) -> str:
        return translated(_STATE_LABELS[self.value])


_STATE_LABELS = {
    "active": _l("Active"),
    "expiring": _l("Expiring soon"),
    "expired": _l("Expired"),
}


class Agreement(VersionedMixin, TimestampMixin, db.Model):
    """A cooperation agreement with partners or twin cities (strategy 2)."""

    __tablename__ = "agreement"
    __audited__ = True

    id: Mapped[intpk]
    title: Mapped[str] = mapped_column(String(300))
    category: Mapped[TwinCityCategory | None] = mapped_column(enum_column(TwinCityCategory))
    signed_on: Mapped[dt.date | None]
    valid_until: Mapped[dt.date | None] = mapped_column(index=True)
    renewal_on: Mapped[dt.date | None]
    notice_on: Mapped[dt.date | None] = mapped_column(index=True)
    goals: Mapped[str] = mapped_column(Text, default="")
    results: Mapped[str] = mapped_column(Text, default="")
    # One link per line.
    documents: Mapped[str] = mapped_column(Text, default="")
    responsible_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )

    parties: Mapped[list["Organisation"]] = relationship(
        secondary=agreement_party, order_by="Organisation.name"
    )
    responsible: Mapped["User | None"] = relationship()

    @property
    def document_links(self) -> list[str]:
        return [line.strip() for line in self.documents.splitlines() if line.strip()]

    def state_on(self, today: dt.date) -> AgreementState:
        """Active, expiring within 90 days, or expired, as seen on `today`."""
        if self.valid_until is None:
            return AgreementState.ACTIVE
        if self.valid_until < today:
            return AgreementState.EXPIRED
        if self.valid_until <= today + EXPIRING_WITHIN:
            return AgreementState.EXPIRING
        return AgreementState.ACTIVE

    def __str__(self) -> str:
        return self.title


class GiftDirection(LabelledEnum):
    GIVEN = "given"
    RECEIVED = "received"

    @property
    def label(self) -> str:
        return translated(_DIRECTION_LABELS[self.value])


_DIRECTION_LABELS = {"given": _l("Given"), "received": _l("Received")}


class Gift(VersionedMixin, TimestampMixin, db.Model):
    """A gift given or received, as public bodies must be able to report."""

    __tablename__ = "gift"
    __audited__ = True

    id: Mapped[intpk]
    description: Mapped[str] = mapped_column(String(300))
    direction: Mapped[GiftDirection] = mapped_column(enum_column(GiftDirection), index=True)
    given_on: Mapped[dt.date] = mapped_column(index=True)
    giver: Mapped[str] = mapped_column(String(300), default="")
    recipient: Mapped[str] = mapped_column(String(300), default="")
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact.id", ondelete="SET NULL"), index=True
    )
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("event.id", ondelete="SET NULL"), index=True
    )
    # Integer øre: money never goes through floats.
    value_ore: Mapped[int | None]
    location: Mapped[str] = mapped_column(String(300), default="")
    notes: Mapped[str] = mapped_column(Text, default="")

    organisation: Mapped["Organisation | None"] = relationship()
    contact: Mapped["Contact | None"] = relationship()
    event: Mapped["Event | None"] = relationship()


class FollowUpProposal(db.Model):
    """Remembers that done-event follow-ups were proposed (and created) for a participant."""

    __tablename__ = "followup_proposal"
    __table_args__ = (UniqueConstraint("event_id", "participation_id"),)

    id: Mapped[intpk]
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    participation_id: Mapped[int] = mapped_column(
        ForeignKey("participation.id", ondelete="CASCADE")
    )


DETAIL_COLUMNS = (
    "address",
    "our_hosts",
    "partner_hosts",
    "interpreter",
    "transport",
    "notes",
    "shared_with_organisation_id",
)


def _title_key(item) -> str:
    return " ".join((item.title or "").casefold().split())


def carry_details_over(old_items, new_items) -> None:
    """Give re-created programme items the details of the items they replace.

    The event form replaces the whole programme with new rows; an item with the same title
    (and the same start, or the only one of that title) keeps its address, hosts, interpreter.
    """
    with_detail = [item for item in old_items if item.detail is not None]
    if not with_detail:
        return
    taken: set[int] = set()
    for new in new_items:
        if getattr(new, "detail", None) is not None or new in old_items:
            continue
        title = _title_key(new)
        same_title = [
            old for old in with_detail if _title_key(old) == title and id(old) not in taken
        ]
        exact = [old for old in same_title if old.starts_at == new.starts_at]
        match = exact[0] if exact else (same_title[0] if len(same_title) == 1 else None)
        if match is None:
            continue
        taken.add(id(match))
        new.detail = ProgrammeItemDetail(
            **{name: getattr(match.detail, name) for name in DETAIL_COLUMNS}
        )


@sa_event.listens_for(Event.programme, "bulk_replace")
def _keep_details_on_replace(target, values, initiator):
    carry_details_over(list(target.programme), values)
