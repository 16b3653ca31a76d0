"""People: contacts and their memberships in organisations."""

import datetime as dt
import re
import unicodedata
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import SearchableMixin, TimestampMixin, VersionedMixin, intpk
from crm.enums import Language, enum_column
from crm.extensions import db
from crm.tags import Tag, contact_tag

if TYPE_CHECKING:
    from crm.events.models import Participation
    from crm.organisations.models import Organisation


def normalise_name(text: str) -> str:
    """A comparison key for a name: "Bjørn Sæther" == "bjoern saether" == "Saether Bjorn".

    Stored as `Contact.name_key`: a change here needs a migration that computes it again."""
    text = (text or "").casefold()
    # ø and æ have no Unicode decomposition, so they are spelled out before accents go.
    text = text.replace("æ", "ae").replace("ø", "o").replace("å", "a")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^a-z0-9]+", " ", text)
    # "Aase"/"Åse"/"Ase" and "Bjoern"/"Bjørn"/"Bjorn" are one spelling each.
    text = text.replace("aa", "a").replace("oe", "o")
    return " ".join(sorted(text.split()))


NAME_KEY_LENGTH = 250


def full_name(first_name: str | None, last_name: str | None) -> str:
    """A contact's name as shown: the parts there are, first name first."""
    return " ".join(part for part in (first_name, last_name) if part)


def name_key(first_name: str, last_name: str) -> str:
    """The comparison key of a contact's full name (as stored: at most NAME_KEY_LENGTH)."""
    return normalise_name(f"{first_name or ''} {last_name or ''}")[:NAME_KEY_LENGTH]


class Contact(SearchableMixin, VersionedMixin, TimestampMixin, db.Model):
    """A person the office deals with. Dietary and access needs are sensitive data."""

    __tablename__ = "contact"
    # The list is ordered by name: without this index PostgreSQL sorts 100,000 rows per page.
    __table_args__ = (
        Index("ix_contact_name_order", "last_name", "first_name", "id"),
        # Duplicate checks look addresses up case-insensitively (crm/imports/duplicates.py).
        Index("ix_contact_email_lower", func.lower(text("email"))),
        # ... and look similar names up by their key (a few contacts each, not every member).
        Index("ix_contact_name_key", "name_key"),
        # ... and search the few contacts with other addresses, not every contact.
        Index(
            "ix_contact_other_emails",
            "id",
            postgresql_where=text("other_emails <> ''"),
            sqlite_where=text("other_emails <> ''"),
        ),
    )
    __audited__ = True
    __search_fields__ = ("first_name", "last_name", "email", "title")

    id: Mapped[intpk]
    first_name: Mapped[str] = mapped_column(String(120), default="")
    last_name: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="", index=True)
    other_emails: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    languages: Mapped[str] = mapped_column(String(200), default="")
    preferred_language: Mapped[Language] = mapped_column(
        enum_column(Language, 5), default=Language.EN
    )
    nationality: Mapped[str | None] = mapped_column(String(2), index=True)
    dietary_needs: Mapped[str] = mapped_column(Text, default="")
    access_needs: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    # name_key(first_name, last_name), kept with search_text (crm.db.SearchableMixin).
    name_key: Mapped[str] = mapped_column(String(NAME_KEY_LENGTH), default="", server_default="")

    tags: Mapped[list[Tag]] = relationship(secondary=contact_tag, order_by=Tag.name)
    memberships: Mapped[list["Membership"]] = relationship(
        back_populates="contact", cascade="all, delete-orphan"
    )
    participations: Mapped[list["Participation"]] = relationship(
        back_populates="contact", cascade="all, delete-orphan"
    )

    def refresh_search_text(self) -> None:
        """Also keep the key duplicate checks compare names by."""
        super().refresh_search_text()
        self.name_key = name_key(self.first_name, self.last_name)

    @property
    def name(self) -> str:
        return full_name(self.first_name, self.last_name)

    @property
    def all_emails(self) -> list[str]:
        return split_emails(self.email, self.other_emails)

    def __str__(self) -> str:
        return self.name


def split_emails(email: str, other_emails: str) -> list[str]:
    """A contact's addresses: `email` first, then `other_emails` (comma or line separated)."""
    extra = [e.strip() for e in (other_emails or "").replace(",", "\n").splitlines()]
    return [e for e in [email, *extra] if e]


class Membership(db.Model):
    """A contact's role in an organisation, from a date to a date (both optional)."""

    __tablename__ = "membership"
    __audited__ = True

    id: Mapped[intpk]
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(200), default="")
    starts_on: Mapped[dt.date | None]
    ends_on: Mapped[dt.date | None]

    contact: Mapped[Contact] = relationship(back_populates="memberships")
    organisation: Mapped["Organisation"] = relationship(back_populates="memberships")

    @property
    def is_current(self) -> bool:
        return self.ends_on is None or self.ends_on >= dt.date.today()
