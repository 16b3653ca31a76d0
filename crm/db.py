"""Declarative base, column types and mixins shared by every model."""

import datetime as dt
from collections.abc import Iterable
from typing import Annotated

from sqlalchemy import (
    ARRAY,
    DateTime,
    Integer,
    MetaData,
    String,
    TypeDecorator,
    any_,
    bindparam,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, registry
from sqlalchemy.sql.elements import ColumnElement

# The largest id: ids are PostgreSQL integers (32 bits), and a larger number there is an
# error, not "no such row"; SQLite's limit is 2**63 - 1 (beyond it, an OverflowError).
MAX_ID = 2**31 - 1
# The largest row count either database takes in a LIMIT or an OFFSET (a 64-bit integer).
MAX_OFFSET = 2**63 - 1

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Return the current instant as an aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """An instant stored in UTC, read back aware on every database.

    SQLite drops the time zone of a `DateTime(timezone=True)`; this type converts to UTC
    on the way in and attaches UTC on the way out, so SQLite and PostgreSQL behave alike.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC instant column")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        return _as_utc(value)

    def result_processor(self, dialect, coltype):
        """`_as_utc` itself where the driver gives datetimes: one call a value, not two.

        A page reads hundreds of instants (an organisation's 517 event starts, a month of the
        calendar), and TypeDecorator's own processor wraps `process_result_value` in another.
        """
        parse = self.impl_instance.result_processor(dialect, coltype)  # SQLite: from text
        if parse is None:
            return _as_utc
        return lambda value: _as_utc(parse(value))


def _as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """An instant as read back, in datetime.UTC: naive from SQLite, aware from PostgreSQL."""
    if value is None or value.tzinfo is dt.UTC:  # PostgreSQL's, in a UTC session
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


intpk = Annotated[int, mapped_column(Integer, primary_key=True)]
str80 = Annotated[str, mapped_column(String(80))]
str200 = Annotated[str, mapped_column(String(200))]
instant = Annotated[dt.datetime, mapped_column(UTCDateTime())]


class Base(DeclarativeBase):
    """Base class of every model; constraint names follow NAMING_CONVENTION."""

    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={dt.datetime: UTCDateTime()},
    )


class TimestampMixin:
    """`created_at` and `updated_at`, set by the application in UTC."""

    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, index=True
    )


class VersionedMixin:
    """Optimistic locking: a row's `version` goes up on every update.

    SQLAlchemy adds `WHERE version = :old` to each UPDATE and raises StaleDataError when
    another transaction got there first; services also compare the version the user saw.
    """

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.__table__.c.version}


class SearchableMixin:
    """Keeps `search_text`, a case-folded copy of the fields named in `__search_fields__`.

    SQLite's LIKE and lower() fold only ASCII, so "ærlig" would not find "Ærlig"; searching
    a Python-casefolded column with a casefolded pattern behaves the same on both databases.
    """

    __search_fields__: tuple[str, ...] = ()

    search_text: Mapped[str] = mapped_column(String(1000), default="", index=True)

    def refresh_search_text(self) -> None:
        """Recompute `search_text` from the searchable fields."""
        parts = [getattr(self, name) or "" for name in self.__search_fields__]
        self.search_text = fold(" ".join(str(p) for p in parts if p))[:1000]


def as_id(value) -> int | None:
    """An id typed or sent by a user as an int, or None if it cannot name a row."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


def id_equals(column, value: int) -> ColumnElement[bool]:
    """`column = value`, or false for a number past any id (the database cannot compare it)."""
    return column == value if abs(value) <= MAX_ID else false()


def fold(text: str) -> str:
    """Case-fold text for searching (handles æøå, unlike SQLite's lower())."""
    return " ".join(text.casefold().split())


def one_of(column, values: Iterable) -> ColumnElement[bool]:
    """`column IN (values)`; on PostgreSQL `column = ANY(values)`, the values one array.

    An IN list is a parameter per value, each processed on its own, and a new statement
    for each number of values, which PostgreSQL then parses and plans every time. As one
    array it is one prepared statement however many values (a page's 25 or 27 events).
    """
    from crm.extensions import db  # crm.extensions imports this module

    values = list(values)
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def like_pattern(query: str) -> str:
    """A LIKE pattern for a user's search text, with wildcards escaped."""
    q = fold(query).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{q}%"
