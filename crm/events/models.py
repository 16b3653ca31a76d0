"""Events, their programme items, participants and countries."""

import datetime as dt
import uuid
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import SearchableMixin, TimestampMixin, UTCDateTime, VersionedMixin, intpk
from crm.enums import EventKind, EventStatus, ParticipationRole, Visibility, enum_column
from crm.extensions import db
from crm.tags import Tag, event_tag

if TYPE_CHECKING:
    from crm.auth.models import User
    from crm.contacts.models import Contact
    from crm.organisations.models import Organisation


def new_uid() -> str:
    """A globally unique, stable iCalendar UID."""
    return f"{uuid.uuid4()}@vertskap"


class Event(SearchableMixin, VersionedMixin, TimestampMixin, db.Model):
    """Something the office hosts or takes part in.

    A timed event keeps its instants in UTC with its IANA zone beside them. An all-day
    event's truth is its dates (`start_on`, inclusive `end_on`); `starts_at`/`ends_at` then
    hold the zone's midnights around them, only so that one indexed range query finds both.
    """

    __tablename__ = "event"
    __audited__ = True
    __search_fields__ = ("title", "venue")
    __table_args__ = (
        UniqueConstraint("uid"),
        CheckConstraint("ends_at >= starts_at", name="ends_after_start"),
        CheckConstraint(
            "expected_attendance IS NULL OR expected_attendance >= 0", name="expected_positive"
        ),
        CheckConstraint(
            "actual_attendance IS NULL OR actual_attendance >= 0", name="actual_positive"
        ),
        Index("ix_event_range", "starts_at", "ends_at"),
        # "Overlaps [start, end)": ends after the start, starts before the end. Led by ends_at
        # so that a month reads its own events, not every earlier one (see `overlapping`).
        Index("ix_event_ends", "ends_at", "starts_at"),
        # Recurring series, the few whose instances may fall after their first end.
        Index(
            "ix_event_recurring",
            "starts_at",
            postgresql_where=text("rrule <> ''"),
            sqlite_where=text("rrule <> ''"),
        ),
        # The live events' starts, read without the rows: an organisation's page orders its
        # few hundred events by them (events.services.taken_part).
        Index(
            "ix_event_live",
            "id",
            "starts_at",
            postgresql_where=text("deleted_at IS NULL"),
            sqlite_where=text("deleted_at IS NULL"),
        ),
        # The event list filtered by kind, and counted, over a range of dates.
        Index("ix_event_kind_range", "kind", "ends_at", "starts_at"),
    )

    id: Mapped[intpk]
    uid: Mapped[str] = mapped_column(String(255), default=new_uid)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[EventKind] = mapped_column(enum_column(EventKind), default=EventKind.OTHER)
    status: Mapped[EventStatus] = mapped_column(
        enum_column(EventStatus), default=EventStatus.CONFIRMED, index=True
    )
    visibility: Mapped[Visibility] = mapped_column(
        enum_column(Visibility), default=Visibility.INTERNAL, index=True
    )
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Oslo")
    is_all_day: Mapped[bool] = mapped_column(default=False)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    start_on: Mapped[dt.date | None]
    end_on: Mapped[dt.date | None]
    venue: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    outcome_notes: Mapped[str] = mapped_column(Text, default="")
    expected_attendance: Mapped[int | None]
    actual_attendance: Mapped[int | None]
    responsible_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    # Recurrence (RFC 5545): an RRULE value, and EXDATE/RDATE values one per line.
    rrule: Mapped[str] = mapped_column(String(500), default="")
    exdates: Mapped[str] = mapped_column(Text, default="")
    rdates: Mapped[str] = mapped_column(Text, default="")
    # iCalendar bookkeeping: SEQUENCE goes up when time, place or status changes.
    sequence: Mapped[int] = mapped_column(default=0)
    # A deleted event stays (as CANCELLED in feeds) for a while so subscribers drop it.
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)

    responsible: Mapped["User | None"] = relationship()
    tags: Mapped[list[Tag]] = relationship(secondary=event_tag, order_by=Tag.name)
    countries: Mapped[list["EventCountry"]] = relationship(
        cascade="all, delete-orphan", order_by="EventCountry.country"
    )
    programme: Mapped[list["ProgrammeItem"]] = relationship(
        back_populates="event",
        cascade="all, delete-orphan",
        order_by="(ProgrammeItem.starts_at, ProgrammeItem.id)",
    )
    participations: Mapped[list["Participation"]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="Participation.id"
    )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def local_start(self) -> dt.datetime:
        return self.starts_at.astimezone(self.zone)

    @property
    def local_end(self) -> dt.datetime:
        return self.ends_at.astimezone(self.zone)

    @property
    def country_codes(self) -> list[str]:
        return [c.country for c in self.countries]

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def __str__(self) -> str:
        return self.title


class EventCountry(db.Model):
    """A country involved in an event (ISO 3166 alpha-2)."""

    __tablename__ = "event_country"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("event.id", ondelete="CASCADE"), primary_key=True
    )
    country: Mapped[str] = mapped_column(String(2), primary_key=True)

    # The events of a country, read from the index alone (the event list's country filter).
    __table_args__ = (Index("ix_event_country_country_event", "country", "event_id"),)


class ProgrammeItem(db.Model):
    """One slot of a visit's programme: when, where, what, who."""

    __tablename__ = "programme_item"
    __audited__ = True
    __table_args__ = (
        CheckConstraint("ends_at IS NULL OR ends_at >= starts_at", name="ends_after_start"),
        # Conflict checks look for items overlapping a window: ends after it starts and
        # starts before it ends (at 24,000 items: 0.2 ms instead of a 17 ms scan and join).
        Index("ix_programme_item_range", "ends_at", "starts_at"),
    )

    id: Mapped[intpk]
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    place: Mapped[str] = mapped_column(String(300), default="")
    title: Mapped[str] = mapped_column(String(300))
    who: Mapped[str] = mapped_column(Text, default="")

    event: Mapped[Event] = relationship(back_populates="programme")

    @property
    def local_start(self) -> dt.datetime:
        return self.starts_at.astimezone(self.event.zone)

    @property
    def local_end(self) -> dt.datetime | None:
        return self.ends_at.astimezone(self.event.zone) if self.ends_at else None


class Participation(db.Model):
    """An organisation or a contact taking part in an event, in a role."""

    __tablename__ = "participation"
    __audited__ = True
    __table_args__ = (
        CheckConstraint(
            "(organisation_id IS NULL) <> (contact_id IS NULL)", name="one_participant"
        ),
        # What one organisation or contact takes part in, read from the index alone
        # (events.services.taken_part); they also serve the foreign keys.
        Index("ix_participation_organisation_taking", "organisation_id", "event_id", "role", "id"),
        Index("ix_participation_contact_taking", "contact_id", "event_id", "role", "id"),
    )

    id: Mapped[intpk]
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE")
    )
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    role: Mapped[ParticipationRole] = mapped_column(
        enum_column(ParticipationRole), default=ParticipationRole.GUEST
    )

    event: Mapped[Event] = relationship(back_populates="participations")
    organisation: Mapped["Organisation | None"] = relationship(back_populates="participations")
    contact: Mapped["Contact | None"] = relationship(back_populates="participations")

    @property
    def participant(self):
        return self.organisation or self.contact
