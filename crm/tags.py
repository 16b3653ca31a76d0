"""Free tags shared by organisations, contacts and events."""

from sqlalchemy import Column, ForeignKey, String, Table, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import intpk
from crm.extensions import db

# A tag's length: the forms refuse a longer one; files and the API have theirs cut to it.
TAG_MAX = 60


class Tag(db.Model):
    """A short label, stored lower-case so that "NTNU" and "ntnu" are one tag."""

    __tablename__ = "tag"
    __table_args__ = (UniqueConstraint("name"),)

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(TAG_MAX))

    def __str__(self) -> str:
        return self.name


def _link_table(name: str, owner: str) -> Table:
    return Table(
        name,
        db.metadata,
        Column(f"{owner}_id", ForeignKey(f"{owner}.id", ondelete="CASCADE"), primary_key=True),
        Column("tag_id", ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True, index=True),
    )


organisation_tag = _link_table("organisation_tag", "organisation")
contact_tag = _link_table("contact_tag", "contact")
event_tag = _link_table("event_tag", "event")


def parse_tags(text: str | list[str] | None) -> list[str]:
    """Split "a, b ,B" (or a list) into unique, lower-case tag names, in order."""
    if text is None:
        return []
    items = text if isinstance(text, list) else text.split(",")
    seen: list[str] = []
    for item in items:
        name = " ".join(str(item).split()).lower()[:TAG_MAX]
        if name and name not in seen:
            seen.append(name)
    return seen


def get_tags(names: list[str]) -> list[Tag]:
    """Return Tag rows for the names, creating the missing ones (flushes, never commits)."""
    if not names:
        return []
    existing = {t.name: t for t in db.session.scalars(select(Tag).where(Tag.name.in_(names)))}
    tags = []
    for name in names:
        tag = existing.get(name)
        if tag is None:
            tag = Tag(name=name)
            db.session.add(tag)
            existing[name] = tag
        tags.append(tag)
    return tags
