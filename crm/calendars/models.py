"""Calendars, their subscriptions, each event's cached VEVENT, and staged imports."""

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import TimestampMixin, UTCDateTime, intpk, utcnow
from crm.extensions import db

if TYPE_CHECKING:
    from crm.auth.models import User
    from crm.contacts.models import Contact
    from crm.events.models import Event
    from crm.organisations.models import Organisation

calendar_event = Table(
    "calendar_event",
    db.metadata,
    Column("calendar_id", ForeignKey("calendar.id", ondelete="CASCADE"), primary_key=True),
    Column("event_id", ForeignKey("event.id", ondelete="CASCADE"), primary_key=True, index=True),
)


def _split(text: str) -> list[str]:
    return [part for part in (text or "").split(",") if part]


class Calendar(TimestampMixin, db.Model):
    """A named set of events: those its rule selects plus those added by hand.

    The rule's lists are stored comma-separated; an empty list means "any". A calendar
    whose rule is switched off holds only the events added by hand.
    """

    __tablename__ = "calendar"
    __table_args__ = (UniqueConstraint("slug"),)

    id: Mapped[intpk]
    slug: Mapped[str] = mapped_column(String(60))
    name_nb: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    description_nb: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    # A public calendar has a feed without login and a public page (only public events).
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    rule_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    rule_kinds: Mapped[str] = mapped_column(String(200), default="")
    rule_visibilities: Mapped[str] = mapped_column(String(100), default="")
    rule_tags: Mapped[str] = mapped_column(String(500), default="")

    events: Mapped[list["Event"]] = relationship(secondary=calendar_event)
    subscriptions: Mapped[list["Subscription"]] = relationship(
        back_populates="calendar", cascade="all, delete-orphan", order_by="Subscription.id"
    )

    @property
    def kinds(self) -> list[str]:
        return _split(self.rule_kinds)

    @property
    def visibilities(self) -> list[str]:
        return _split(self.rule_visibilities)

    @property
    def tags(self) -> list[str]:
        return _split(self.rule_tags)

    def name(self, lang: str) -> str:
        """The calendar's name in a language ("nb" or "en"), else the other one."""
        return (self.name_en if lang == "en" else self.name_nb) or self.name_nb or self.name_en

    def description(self, lang: str) -> str:
        """The calendar's description in a language, else the other one."""
        first, second = (
            (self.description_en, self.description_nb)
            if lang == "en"
            else (self.description_nb, self.description_en)
        )
        return first or second

    def __str__(self) -> str:
        return self.name_nb or self.slug


class Subscription(TimestampMixin, db.Model):
    """A secret feed address given to an organisation, a contact or a staff user.

    Only the SHA-256 of the token is stored; the token is shown once, when it is made.
    """

    __tablename__ = "subscription"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        CheckConstraint(
            "(CASE WHEN organisation_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN contact_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN user_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_subscriber",
        ),
    )

    id: Mapped[intpk]
    calendar_id: Mapped[int] = mapped_column(
        ForeignKey("calendar.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200), default="")
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    last_fetched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    calendar: Mapped[Calendar] = relationship(back_populates="subscriptions")
    organisation: Mapped["Organisation | None"] = relationship()
    contact: Mapped["Contact | None"] = relationship()
    user: Mapped["User | None"] = relationship()

    @property
    def subscriber(self):
        return self.organisation or self.contact or self.user

    @property
    def is_staff(self) -> bool:
        """A staff user's subscription also sees internal events."""
        return self.user_id is not None

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class EventIcal(db.Model):
    """An event's VEVENT, serialised with `icalendar` when the event changed.

    Feeds are assembled from these pieces, so a request never re-serialises events.
    `cancelled_at` says since when the event is cancelled: it leaves feeds 30 days later.
    """

    __tablename__ = "event_ical"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("event.id", ondelete="CASCADE"), primary_key=True
    )
    vevent: Mapped[str] = mapped_column(Text)
    tzid: Mapped[str | None] = mapped_column(String(64))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class ImportBatch(TimestampMixin, db.Model):
    """An uploaded .ics file kept between preview and confirm, so both see the same bytes."""

    __tablename__ = "import_batch"

    id: Mapped[intpk]
    calendar_id: Mapped[int] = mapped_column(
        ForeignKey("calendar.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255), default="")
    content: Mapped[bytes] = mapped_column(LargeBinary)
    imported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    calendar: Mapped[Calendar] = relationship()
