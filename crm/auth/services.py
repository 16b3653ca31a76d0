"""Rules for staff accounts, passwords and API tokens."""

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from crm.audit.services import record
from crm.auth.models import ApiToken, User, hash_token, new_token
from crm.db import utcnow
from crm.enums import Role
from crm.errors import NotFoundError, ServiceError
from crm.extensions import db

MIN_PASSWORD_LENGTH = 12
_DUMMY_PASSWORD = "not-a-real-password-at-all"  # noqa: S105


@functools.cache
def _hasher_for(params: tuple) -> tuple[PasswordHasher, str]:
    hasher = PasswordHasher(**dict(params))
    # Verified when the email is unknown, so that a wrong email costs as long as a wrong one.
    return hasher, hasher.hash(_DUMMY_PASSWORD)


def _hasher_and_dummy() -> tuple[PasswordHasher, str]:
    """argon2id with the library's (RFC 9106 low-memory) parameters unless ARGON2_PARAMS says."""
    params = current_app.config.get("ARGON2_PARAMS") or {}
    return _hasher_for(tuple(sorted(params.items())))


def _hasher() -> PasswordHasher:
    return _hasher_and_dummy()[0]


# werkzeug.security hashes ("scrypt:32768:8:1$salt$hash", "pbkdf2:sha256:...") of older installs.
_LEGACY_PREFIXES = ("scrypt:", "pbkdf2:")


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher().hash(password)


def check_password_rules(password: str) -> None:
    """Raise ServiceError if the password is too weak."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(
            _("The password must be at least %(n)d characters long.", n=MIN_PASSWORD_LENGTH),
            field="password",
        )


def normalise_email(email: str) -> str:
    """Staff emails are compared case-insensitively."""
    return email.strip().lower()


def get_user_by_email(email: str) -> User | None:
    """The user with this email, or None."""
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(*, email: str, password: str, role: Role | str, name: str = "") -> User:
    """Create a staff user (flushes)."""
    email = normalise_email(email)
    if not email or "@" not in email:
        raise ServiceError(_("Enter a valid email address."), field="email")
    if get_user_by_email(email):
        raise ServiceError(_("A user with this email already exists."), field="email")
    check_password_rules(password)
    user = User(
        email=email, name=name.strip(), role=Role(role), password_hash=hash_password(password)
    )
    db.session.add(user)
    db.session.flush()
    return user


def update_user(user: User, *, name: str, role: Role | str, is_active: bool, acting: User) -> User:
    """Change a user's name, role or active flag; an admin cannot demote or lock out themself."""
    role = Role(role)
    if user.id == acting.id and (role != Role.ADMIN or not is_active):
        raise ServiceError(_("You cannot remove your own administrator access."), field="role")
    if user.is_active_user and not is_active:
        user.session_version += 1
    user.name = name.strip()
    user.role = role
    user.is_active_user = is_active
    db.session.flush()
    return user


def set_password(user: User, password: str) -> None:
    """Set a new password and end the user's other sessions."""
    check_password_rules(password)
    user.password_hash = hash_password(password)
    user.session_version += 1
    db.session.flush()


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None (as slow for an unknown email).

    A hash made with weaker parameters or an older scheme is replaced by a current argon2id
    hash, since the password is at hand only now.
    """
    user = get_user_by_email(email)
    if user is None:
        _verify(_hasher_and_dummy()[1], password)
        return None
    if not _verify(user.password_hash, password) or not user.is_active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def needs_rehash(password_hash: str) -> bool:
    """True for a legacy (werkzeug) hash or an argon2 hash below the current parameters."""
    if password_hash.startswith(_LEGACY_PREFIXES):
        return True
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def _verify(password_hash: str, password: str) -> bool:
    if password_hash.startswith(_LEGACY_PREFIXES):
        # Accounts imported from werkzeug's scrypt/pbkdf2 hashes: upgraded at their next login.
        return check_password_hash(password_hash, password)
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def change_password(user: User, *, current_password: str, new_password: str) -> None:
    """The user changes their own password: the current one must be right (flushes)."""
    if not _verify(user.password_hash, current_password or ""):
        raise ServiceError(_("The current password is wrong."), field="current_password")
    if new_password == current_password:
        raise ServiceError(
            _("The new password must differ from the current one."), field="new_password"
        )
    try:
        set_password(user, new_password)
    except ServiceError as error:
        raise ServiceError(error.message, field="new_password") from None


def set_locale(user: User, locale: str | None) -> None:
    """Save the user's language (None: follow the browser)."""
    if locale and locale not in current_app.config["LANGUAGES"]:
        raise ServiceError(_("Choose a language from the list."), field="locale")
    user.locale = locale or None
    db.session.flush()


def end_sessions(user: User) -> None:
    """Invalidate every session of the user (logout everywhere)."""
    user.session_version += 1
    db.session.flush()


def load_user_from_session(user_id: str) -> User | None:
    """Flask-Login user loader: the id carries the session version, so old cookies fail."""
    try:
        ident, version = (int(part) for part in user_id.split(":"))
    except ValueError:
        return None
    user = db.session.get(User, ident)
    if user is None or user.session_version != version or not user.is_active:
        return None
    return user


def create_api_token(user: User, name: str = "") -> str:
    """Create a personal API token; returns the token, which is shown once and stored hashed."""
    token = new_token()
    row = ApiToken(user=user, name=name, token_hash=hash_token(token))
    db.session.add(row)
    db.session.flush()
    record("token_create", object_type="api_token", object_id=row.id, label=f"{user.email}: {name}")
    return token


def user_for_api_token(token: str) -> User | None:
    """The active user owning an unrevoked token, or None; records the token's last use."""
    row = db.session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None)
        )
    )
    if row is None or not row.user.is_active:
        return None
    row.last_used_at = utcnow()
    return row.user


def revoke_api_token(token_id: int, user: User) -> None:
    """Revoke one of the user's tokens (an admin may revoke anyone's)."""
    row = db.session.get(ApiToken, token_id)
    if row is None or (row.user_id != user.id and not user.is_admin):
        raise NotFoundError(_("No such token."))
    row.revoked_at = utcnow()
    record(
        "token_revoke",
        object_type="api_token",
        object_id=row.id,
        label=f"{row.user.email}: {row.name}",
    )
    db.session.flush()


def count_admins() -> int:
    """How many active administrators exist."""
    return db.session.scalar(
        select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.is_active_user)
    )
