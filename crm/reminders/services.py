"""Reminder rules, staff preferences, contact opt-ins and unsubscribes, outbox actions."""

import datetime as dt

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update

from crm.db import utcnow
from crm.errors import NotFoundError, ServiceError
from crm.extensions import db
from crm.reminders.models import (
    OutboxMessage,
    OutboxStatus,
    ReminderPreference,
    ReminderRule,
    ReminderSubscription,
    RuleKind,
)

DEFAULT_RULES = (
    {"kind": RuleKind.EVENT_RESPONSIBLE, "offset_hours": 24},
    {"kind": RuleKind.FOLLOWUP_DIGEST, "offset_hours": 0, "send_time": dt.time(7, 0)},
    {"kind": RuleKind.EVENT_PARTICIPANT, "offset_hours": 48},
    {"kind": RuleKind.FOLLOWUP_ASSIGNED, "offset_hours": 0},
)
MAX_OFFSET_HOURS = 24 * 60
UNSUBSCRIBE_SALT = "reminders.unsubscribe"


def ensure_default_rules() -> list[ReminderRule]:
    """Create the default rules whose kind has no rule yet (idempotent); returns those created."""
    existing = set(db.session.scalars(select(ReminderRule.kind)))
    created = []
    for data in DEFAULT_RULES:
        if data["kind"] not in existing:
            rule = ReminderRule(**data)
            db.session.add(rule)
            created.append(rule)
    db.session.flush()
    return created


def list_rules() -> list[ReminderRule]:
    """Every rule, in the order of their kinds."""
    order = {kind: i for i, kind in enumerate(RuleKind)}
    rules = db.session.scalars(select(ReminderRule).order_by(ReminderRule.id)).all()
    return sorted(rules, key=lambda r: (order[r.kind], r.id))


def parse_send_time(value) -> dt.time | None:
    """ "07:00" → time(7, 0); raises ServiceError on anything else."""
    if value is None or isinstance(value, dt.time):
        return value
    try:
        return dt.time.fromisoformat(str(value).strip())
    except ValueError:
        raise ServiceError(_("Enter a time such as 07:00."), field="send_time") from None


def update_rule(
    rule: ReminderRule,
    *,
    offset_hours: int | str | None = None,
    send_time=None,
    is_active: bool | None = None,
) -> ReminderRule:
    """Change a rule's timing or switch it on or off; planning picks the change up."""
    if offset_hours is not None:
        try:
            hours = int(offset_hours)
        except (TypeError, ValueError):
            hours = -1
        if not 0 <= hours <= MAX_OFFSET_HOURS:
            raise ServiceError(
                _("Enter a number of hours between 1 and %(max)s.", max=MAX_OFFSET_HOURS),
                field="offset_hours",
            )
        if rule.kind.is_event_rule and hours == 0:
            raise ServiceError(_("An event reminder needs at least 1 hour."), field="offset_hours")
        rule.offset_hours = hours
    if send_time is not None or rule.kind == RuleKind.FOLLOWUP_DIGEST:
        parsed = parse_send_time(send_time)
        if rule.kind == RuleKind.FOLLOWUP_DIGEST and parsed is None:
            raise ServiceError(_("Enter a time such as 07:00."), field="send_time")
        rule.send_time = parsed
    if is_active is not None:
        rule.is_active = bool(is_active)
    db.session.flush()
    return rule


def staff_preferences(user) -> list[tuple[ReminderRule, bool]]:
    """The staff rules with whether `user` gets each."""
    disabled = disabled_rule_ids(user.id)
    return [(r, r.id not in disabled) for r in list_rules() if r.kind.is_for_staff]


def disabled_rule_ids(user_id: int) -> set[int]:
    """Ids of the rules a user switched off."""
    return set(
        db.session.scalars(
            select(ReminderPreference.rule_id).where(
                ReminderPreference.user_id == user_id, ReminderPreference.is_enabled.is_(False)
            )
        )
    )


def set_preferences(user, *, enabled_rule_ids) -> None:
    """Keep the staff rules in `enabled_rule_ids` on for `user`, switch the others off."""
    enabled = {int(i) for i in enabled_rule_ids}
    for rule, _on in staff_preferences(user):
        pref = db.session.get(ReminderPreference, (user.id, rule.id))
        if pref is None:
            pref = ReminderPreference(user_id=user.id, rule_id=rule.id)
            db.session.add(pref)
        pref.is_enabled = rule.id in enabled
        if not pref.is_enabled:
            _cancel_pending(
                OutboxMessage.user_id == user.id,
                OutboxMessage.rule_id == rule.id,
                reason="switched off by the recipient",
            )
    db.session.flush()


def subscription_for(contact_id: int) -> ReminderSubscription | None:
    """A contact's reminder subscription row, if any."""
    return db.session.scalar(
        select(ReminderSubscription).where(ReminderSubscription.contact_id == contact_id)
    )


def is_subscribed(contact_id: int) -> bool:
    """True when the contact opted in to event reminders and did not unsubscribe since."""
    sub = subscription_for(contact_id)
    return sub is not None and sub.is_active


def opt_in(contact, *, source: str = "staff", now: dt.datetime | None = None):
    """Record that a contact wants event reminders (again)."""
    if not contact.email:
        raise ServiceError(_("This contact has no email address."), field="email")
    sub = subscription_for(contact.id)
    if sub is None:
        sub = ReminderSubscription(contact_id=contact.id)
        db.session.add(sub)
    sub.opted_in_at = now or utcnow()
    sub.unsubscribed_at = None
    sub.source = source[:80]
    db.session.flush()
    return sub


def unsubscribe(contact_id: int, *, now: dt.datetime | None = None) -> ReminderSubscription:
    """Stop event reminders to a contact and cancel the ones already queued."""
    now = now or utcnow()
    sub = subscription_for(contact_id)
    if sub is None:
        sub = ReminderSubscription(contact_id=contact_id, source="unsubscribe")
        db.session.add(sub)
    if sub.unsubscribed_at is None:
        sub.unsubscribed_at = now
    _cancel_pending(
        OutboxMessage.contact_id == contact_id,
        OutboxMessage.kind == RuleKind.EVENT_PARTICIPANT,
        reason="unsubscribed",
    )
    db.session.flush()
    return sub


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(contact_id: int) -> str:
    """A signed token naming the contact, for the unsubscribe link."""
    return _serializer().dumps({"c": contact_id})


def contact_id_from_token(token: str) -> int:
    """The contact named by an unsubscribe token; NotFoundError when it was tampered with."""
    try:
        data = _serializer().loads(token)
        return int(data["c"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise NotFoundError(_("This unsubscribe link is not valid.")) from None


def _cancel_pending(*conditions, reason: str) -> int:
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.QUEUED, *conditions)
        .values(status=OutboxStatus.CANCELLED, last_error=reason, updated_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount


def outbox_query(*, status: str = ""):
    """A SELECT of outbox rows: failures first, then newest due."""
    stmt = select(OutboxMessage)
    if status:
        try:
            stmt = stmt.where(OutboxMessage.status == OutboxStatus(status))
        except ValueError:
            raise ServiceError(_("Choose a status from the list."), field="status") from None
    failed_first = (OutboxMessage.status == OutboxStatus.FAILED).desc()
    return stmt.order_by(failed_first, OutboxMessage.due_at.desc(), OutboxMessage.id.desc())


def outbox_counts() -> dict[str, int]:
    """How many rows have each status."""
    from sqlalchemy import func

    rows = db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    )
    return {status.value: count for status, count in rows}


def retry_message(row: OutboxMessage, *, now: dt.datetime | None = None) -> OutboxMessage:
    """Queue a failed (or skipped/cancelled) mail again, with a fresh set of attempts."""
    if row.status in (OutboxStatus.SENT, OutboxStatus.SENDING, OutboxStatus.QUEUED):
        raise ServiceError(_("Only a mail that was not sent can be retried."))
    row.status = OutboxStatus.QUEUED
    row.attempts = 0
    row.next_attempt_at = now or utcnow()
    row.claimed_at = None
    row.claimed_by = None
    db.session.flush()
    return row
