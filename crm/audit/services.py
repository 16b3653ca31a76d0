"""Recording and reading the audit trail.

Models opt in with `__audited__ = True`; every flush then records their creates, updates
(old → new per field) and deletes in the same transaction, with the current user (or
"cli"/"system" outside a request). Other events (logins, exports, erasures, merges, token
changes) are recorded with `record(...)`. Entries are never changed: a flush guard refuses it.
"""

import datetime as dt
import decimal
import enum
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from zoneinfo import ZoneInfo

import click
from flask import current_app, g, has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, event, insert, inspect, select
from sqlalchemy.orm import Session

from crm.audit.models import AuditEntry
from crm.db import id_equals, utcnow
from crm.extensions import db

HIDDEN = "(changed)"
ERASED = "(erased)"
MAX_VALUE_LENGTH = 1000

# Values never written to the trail, in any audited model; a model adds its own with
# `__audit_sensitive__ = ("field", ...)`. Free-text notes may hold anything about a person.
SENSITIVE_FIELDS = frozenset(
    {"password_hash", "token_hash", "dietary_needs", "access_needs", "notes"}
)
# Bookkeeping columns whose changes say nothing a reader needs.
IGNORED_FIELDS = frozenset({"id", "created_at", "updated_at", "version", "search_text"})

ACTIONS = {
    "create": _l("Created"),
    "update": _l("Changed"),
    "delete": _l("Deleted"),
    "login": _l("Logged in"),
    "login_failed": _l("Failed login"),
    "logout": _l("Logged out"),
    "password_change": _l("Changed password"),
    "export": _l("Exported"),
    "erase": _l("Erased"),
    "merge": _l("Merged"),
    "token_create": _l("Created token"),
    "token_revoke": _l("Revoked token"),
}


class AuditError(RuntimeError):
    """Someone tried to change or delete an audit entry."""


_actor_override: ContextVar[Any] = ContextVar("audit_actor", default=None)
_redacting: ContextVar[bool] = ContextVar("audit_redacting", default=False)


@contextmanager
def acting_as(actor: Any) -> Iterator[None]:
    """Record changes made inside the block as done by `actor`: a label ("scheduler") or a user."""
    token = _actor_override.set(actor)
    try:
        yield
    finally:
        _actor_override.reset(token)


def current_actor() -> tuple[int | None, str, str | None]:
    """(user id, actor label, ip) of whoever is acting now."""
    override = _actor_override.get()
    ip = request.remote_addr if has_request_context() else None
    if override is not None:
        if isinstance(override, str):
            return None, override, ip
        return override.id, override.email, ip
    if has_request_context():
        # The user Flask-Login already loaded this request: never a query in the middle of a flush.
        user = g.get("_login_user")
        if user is not None and getattr(user, "is_authenticated", False):
            return user.id, user.email, ip
        return None, "anonymous", ip
    if click.get_current_context(silent=True) is not None:
        return None, "cli", None
    return None, "system", None


def is_audited(obj: Any) -> bool:
    """True for instances of models that opted in with `__audited__ = True`."""
    return bool(getattr(type(obj), "__audited__", False))


def is_sensitive(cls: type, field: str) -> bool:
    """True when the field's values must not appear in the trail."""
    return (
        field in SENSITIVE_FIELDS
        or field.endswith("_hash")
        or field in getattr(cls, "__audit_sensitive__", ())
    )


def _plain(value: Any) -> Any:
    """A JSON-friendly copy of a column value."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    text = str(value)
    return text if len(text) <= MAX_VALUE_LENGTH else text[: MAX_VALUE_LENGTH - 1] + "…"


def _shown(cls: type, field: str, value: Any) -> Any:
    """The value as the trail shows it: hidden for sensitive fields unless empty."""
    if value in (None, "") or not is_sensitive(cls, field):
        return _plain(value)
    return HIDDEN


def _label(obj: Any) -> str:
    """A readable name for the object: its str() when the model defines one."""
    if type(obj).__str__ is not object.__str__:
        return str(obj)[:300]
    return f"{type(obj).__name__} #{_object_id(obj) or '?'}"


def _object_id(obj: Any) -> int | None:
    # from the attributes: a new object has its id after the INSERT but no identity key yet
    ident = inspect(type(obj)).primary_key_from_instance(obj)
    if len(ident) == 1 and isinstance(ident[0], int):
        return ident[0]
    return None


def _fields(obj: Any) -> list[str]:
    cls = type(obj)
    skip = IGNORED_FIELDS | set(getattr(cls, "__audit_exclude__", ()))
    return [attr.key for attr in inspect(cls).column_attrs if attr.key not in skip]


def _tag_relationships(obj: Any) -> list[str]:
    """Many-to-many relationships (tags): their changes are part of the owner's record."""
    cls = type(obj)
    skip = set(getattr(cls, "__audit_exclude__", ()))
    return [
        rel.key
        for rel in inspect(cls).relationships
        if rel.secondary is not None and not rel.viewonly and rel.key not in skip
    ]


def _names(items) -> list[str]:
    return sorted(str(item) for item in items)


def snapshot(obj: Any, *, as_new: bool) -> dict[str, list]:
    """Each non-empty field: `[None, value]` for a new record, `[value, None]` for a deleted one."""
    state = inspect(obj)
    cls = type(obj)
    changes: dict[str, list] = {}
    for key in _fields(obj):
        value = state.dict.get(key)
        if value in (None, ""):
            continue
        shown = _shown(cls, key, value)
        changes[key] = [None, shown] if as_new else [shown, None]
    for key in _tag_relationships(obj):
        hist = state.attrs[key].history
        items = [*hist.unchanged, *(hist.added if as_new else hist.deleted)]
        if not items and not as_new:
            items = state.dict.get(key) or []
        if items:
            changes[key] = [[], _names(items)] if as_new else [_names(items), []]
    return changes


def _unloaded_old_values(session: Session, obj: Any) -> dict[str, Any]:
    """Old values of changed fields that were never loaded (expired after a commit)."""
    state = inspect(obj)
    if state.key is None:
        return {}
    mapper = state.mapper
    missing = [
        key
        for key in _fields(obj)
        if state.attrs[key].history.added and not state.attrs[key].history.deleted
    ]
    if not missing:
        return {}
    columns = [mapper.column_attrs[key].columns[0] for key in missing]
    where = [col == value for col, value in zip(mapper.primary_key, state.key[1], strict=True)]
    row = session.connection().execute(select(*columns).where(*where)).one_or_none()
    return dict(zip(missing, row, strict=True)) if row is not None else {}


def diff(obj: Any, old_values: dict[str, Any] | None = None) -> dict[str, list]:
    """The fields changed in this flush: `{field: [old, new]}`."""
    state = inspect(obj)
    cls = type(obj)
    old_values = old_values or {}
    changes: dict[str, list] = {}
    for key in _fields(obj):
        hist = state.attrs[key].history
        if not hist.has_changes():
            continue
        old = hist.deleted[0] if hist.deleted else old_values.get(key)
        new = hist.added[0] if hist.added else None
        if old == new:
            continue
        changes[key] = [_shown(cls, key, old), _shown(cls, key, new)]
    for key in _tag_relationships(obj):
        hist = state.attrs[key].history
        if not hist.has_changes():
            continue
        old = _names([*hist.unchanged, *hist.deleted])
        new = _names([*hist.unchanged, *hist.added])
        if old != new:
            changes[key] = [old, new]
    return changes


def _row(action: str, obj: Any, changes: dict, actor: tuple) -> dict:
    user_id, label, ip = actor
    return {
        "at": utcnow(),
        "user_id": user_id,
        "actor": label[:254],
        "action": action,
        "object_type": type(obj).__tablename__,
        "object_id": _object_id(obj),
        "object_label": _label(obj),
        "changes": changes,
        "ip": ip,
    }


@event.listens_for(Session, "after_flush")
def _record_changes(session: Session, flush_context) -> None:
    """Write one entry per audited object created, changed or deleted by this flush."""
    rows = []
    actor = None
    old_values = session.info.pop(_OLD_VALUES, {})
    for action, objects in (
        ("create", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objects:
            if not is_audited(obj):
                continue
            if action == "update":
                changes = diff(obj, old_values.get(id(obj)))
                if not changes:
                    continue
            else:
                changes = snapshot(obj, as_new=action == "create")
            actor = actor or current_actor()
            rows.append(_row(action, obj, changes, actor))
    if rows:
        # Core insert on the flush's own connection: same transaction, no second flush.
        session.connection().execute(insert(AuditEntry.__table__), rows)


_OLD_VALUES = "audit_old_values"


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, flush_context, instances) -> None:
    """Read the old values an update would lose; refuse changes to the trail itself."""
    session.info[_OLD_VALUES] = {
        id(obj): _unloaded_old_values(session, obj) for obj in session.dirty if is_audited(obj)
    }
    if _redacting.get():
        return
    for obj in session.dirty:
        if isinstance(obj, AuditEntry) and session.is_modified(obj):
            raise AuditError("Audit entries cannot be changed.")
    for obj in session.deleted:
        if isinstance(obj, AuditEntry):
            raise AuditError("Audit entries cannot be deleted.")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(orm_execute_state) -> None:
    """Bulk UPDATE/DELETE statements on audit entries are refused too."""
    if _redacting.get() or not (orm_execute_state.is_update or orm_execute_state.is_delete):
        return
    table = getattr(orm_execute_state.statement, "table", None)
    if table is not None and getattr(table, "name", None) == AuditEntry.__tablename__:
        raise AuditError("Audit entries cannot be changed or deleted.")


def record(
    action: str,
    obj: Any = None,
    *,
    object_type: str | None = None,
    object_id: int | None = None,
    label: str = "",
    changes: dict | None = None,
    user: Any = None,
    actor: str | None = None,
) -> AuditEntry:
    """Record an event (login, export, erase, merge, token change ...); adds, never commits.

    `obj` fills the object's type, id and label; `user` (when given) is the acting user, else
    the current one.
    """
    user_id, actor_label, ip = current_actor()
    if user is not None:
        user_id, actor_label = user.id, user.email
    entry = AuditEntry(
        at=utcnow(),
        user_id=user_id,
        actor=(actor or actor_label)[:254],
        action=action,
        object_type=object_type or (type(obj).__tablename__ if obj is not None else None),
        object_id=object_id if object_id is not None else (_object_id(obj) if obj else None),
        object_label=(label or (_label(obj) if obj is not None else ""))[:300],
        changes=changes or {},
        ip=ip,
    )
    db.session.add(entry)
    return entry


def redact_object_history(object_type: str, object_id: int, *, about=None) -> int:
    """For an erasure: replace an object's labels and values in the trail by "(erased)".

    The only sanctioned change to the trail (GDPR art. 17 outranks append-only): who did what
    when stays; the person's data goes. `about(field, value)` says which values are about the
    person, for a record that outlives the erasure (a gift keeps its value, not its giver's
    name); the label is asked for with the field None. Without it, every value goes. Returns
    how many entries were redacted.
    """
    db.session.flush()
    entries = db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.object_type == object_type, AuditEntry.object_id == object_id
        )
    ).all()

    def redacted(key, value):
        if value in (None, "", []):
            return None if about is None else value
        return ERASED if about is None or about(key, value) else value

    token = _redacting.set(True)
    try:
        for entry in entries:
            if about is None or about(None, entry.object_label):
                entry.object_label = ERASED
            entry.changes = {
                key: [redacted(key, v) for v in values]
                for key, values in (entry.changes or {}).items()
            }
        db.session.flush()
    finally:
        _redacting.reset(token)
    return len(entries)


def audit_query(
    *,
    user_id: int | None = None,
    object_type: str = "",
    object_id: int | None = None,
    action: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> Select:
    """A SELECT of entries matching the filters, newest first (dates in the office's zone)."""
    stmt = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if user_id:
        stmt = stmt.where(id_equals(AuditEntry.user_id, user_id))
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        stmt = stmt.where(AuditEntry.object_id == object_id)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    zone = ZoneInfo(current_app.config["OFFICE_TIMEZONE"])
    if date_from:
        stmt = stmt.where(AuditEntry.at >= dt.datetime.combine(date_from, dt.time(), zone))
    if date_to:
        end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), zone)
        stmt = stmt.where(AuditEntry.at < end)
    return stmt


def entries_for(object_type: str, object_id: int) -> list[AuditEntry]:
    """Every entry about one object, oldest first (for a GDPR export)."""
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.object_type == object_type, AuditEntry.object_id == object_id)
            .order_by(AuditEntry.at, AuditEntry.id)
        )
    )


def history(obj: Any, limit: int = 50) -> list[AuditEntry]:
    """The latest entries about a record, newest first (the per-record history)."""
    object_id = _object_id(obj)
    if object_id is None:
        return []
    stmt = audit_query(object_type=type(obj).__tablename__, object_id=object_id).limit(limit)
    return list(db.session.scalars(stmt))


def object_types() -> list[str]:
    """The object types that occur in the trail, for a filter."""
    return list(
        db.session.scalars(
            select(AuditEntry.object_type)
            .where(AuditEntry.object_type.is_not(None))
            .distinct()
            .order_by(AuditEntry.object_type)
        )
    )
