"""Partner organisations: universities, NGOs, businesses, consulates, twin cities ..."""

from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import SearchableMixin, TimestampMixin, VersionedMixin, intpk
from crm.enums import OrganisationKind, TwinCityCategory, enum_column
from crm.extensions import db
from crm.tags import Tag, organisation_tag

if TYPE_CHECKING:
    from crm.contacts.models import Membership
    from crm.events.models import Participation


class Organisation(SearchableMixin, VersionedMixin, TimestampMixin, db.Model):
    """A partner of the hosting office."""

    __tablename__ = "organisation"
    __audited__ = True
    __search_fields__ = ("name", "city")
    __table_args__ = (
        CheckConstraint(
            "twin_city_since IS NULL OR (twin_city_since >= 1000 AND twin_city_since <= 2999)",
            name="twin_city_since_year",
        ),
    )

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrganisationKind] = mapped_column(
        enum_column(OrganisationKind), default=OrganisationKind.OTHER, index=True
    )
    country: Mapped[str | None] = mapped_column(String(2), index=True)
    city: Mapped[str] = mapped_column(String(120), default="")
    website: Mapped[str] = mapped_column(String(500), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    # A consulate records the country it represents.
    represented_country: Mapped[str | None] = mapped_column(String(2))
    # A twin city records its relation category (strategy 2c) and the year it began.
    twin_city_category: Mapped[TwinCityCategory | None] = mapped_column(
        enum_column(TwinCityCategory)
    )
    twin_city_since: Mapped[int | None]

    tags: Mapped[list[Tag]] = relationship(secondary=organisation_tag, order_by=Tag.name)
    memberships: Mapped[list["Membership"]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan"
    )
    participations: Mapped[list["Participation"]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return self.name
