"""Staff users and their personal API tokens."""

import datetime as dt
import hashlib
import secrets

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import TimestampMixin, UTCDateTime, intpk
from crm.enums import Role, enum_column
from crm.extensions import db


class User(UserMixin, TimestampMixin, db.Model):
    """A member of the hosting office's staff."""

    __tablename__ = "user"
    __table_args__ = (UniqueConstraint("email"),)
    __audited__ = True
    # Changed by every login and logout: the login/logout entries already say so.
    __audit_exclude__ = ("last_login_at", "session_version")

    id: Mapped[intpk]
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(120), default="")
    role: Mapped[Role] = mapped_column(enum_column(Role), default=Role.VIEWER)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active_user: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(5))
    # Bumped on logout and password change: sessions carrying an older value are refused.
    session_version: Mapped[int] = mapped_column(default=1)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    tokens: Mapped[list["ApiToken"]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def is_active(self) -> bool:
        return self.is_active_user

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def display_name(self) -> str:
        return self.name or self.email

    @property
    def can_edit(self) -> bool:
        return self.role in (Role.ADMIN, Role.COORDINATOR)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def __str__(self) -> str:
        return self.display_name


def hash_token(token: str) -> str:
    """SHA-256 of a random token: enough for a high-entropy secret, and indexable."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A URL-safe random token of 256 bits."""
    return secrets.token_urlsafe(32)


class ApiToken(TimestampMixin, db.Model):
    """A personal API token; only its hash is stored."""

    __tablename__ = "api_token"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80), default="")
    token_hash: Mapped[str] = mapped_column(String(64))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(back_populates="tokens")


class LoginAttempt(db.Model):
    """A failed login, kept for the throttling window (shared by every worker and host)."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_email_at", "email", "at"),
        Index("ix_login_attempt_ip_at", "ip", "at"),
    )

    id: Mapped[intpk]
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    # The email as typed (normalised), whether or not such a user exists.
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(45))
