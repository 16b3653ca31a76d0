"""Audit entries: an append-only record of changes and security events."""

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import UTCDateTime, intpk, utcnow
from crm.extensions import db

if TYPE_CHECKING:
    from crm.auth.models import User


class AuditEntry(db.Model):
    """One thing that happened: an action by an actor on an object, with the changed fields.

    `changes` is `{field: [old, new]}`; values of sensitive fields are "(changed)". Rows are
    never updated or deleted (a flush guard in crm.audit.services refuses it).
    """

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_object", "object_type", "object_id"),
        Index("ix_audit_entry_at", "at"),
    )

    id: Mapped[intpk]
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The staff user, when there was one; kept as NULL if the user is deleted (actor stays).
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    # Who it was, readable forever: the user's email, or "system", "cli", "anonymous" ...
    actor: Mapped[str] = mapped_column(String(254), default="system")
    action: Mapped[str] = mapped_column(String(30), index=True)
    object_type: Mapped[str | None] = mapped_column(String(60))
    object_id: Mapped[int | None]
    object_label: Mapped[str] = mapped_column(String(300), default="")
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(45))

    user: Mapped["User | None"] = relationship(viewonly=True)
