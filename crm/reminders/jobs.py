"""The scheduler's jobs: *plan* turns rules into outbox rows, *dispatch* sends due rows.

Both take `now` so tests can fix the clock. Plan is idempotent (one row per idempotency
key: rule + target + occurrence). Dispatch claims rows in a short transaction — with
`FOR UPDATE SKIP LOCKED` on PostgreSQL; on SQLite the single claiming UPDATE is atomic
because SQLite serialises writers — so two dispatchers never send one row twice.
"""

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from crm.db import utcnow
from crm.enums import EventStatus
from crm.extensions import db
from crm.reminders import mailer
from crm.reminders.models import (
    OutboxMessage,
    OutboxStatus,
    ReminderPreference,
    ReminderRule,
    ReminderSubscription,
    RuleKind,
)

EVENT_KINDS = (RuleKind.EVENT_RESPONSIBLE, RuleKind.EVENT_PARTICIPANT)
# Rows are planned this long before they fall due (and no earlier), so planning stays cheap.
PLAN_HORIZON = dt.timedelta(days=1)
BEGAN = "event already began"
DEFAULTS = {
    "OUTBOX_MAX_ATTEMPTS": 6,
    "OUTBOX_BACKOFF_SECONDS": 60,
    "OUTBOX_BACKOFF_MAX_SECONDS": 6 * 3600,
    "OUTBOX_SENDING_TIMEOUT_SECONDS": 600,
    "OUTBOX_BATCH_SIZE": 100,
}


def setting(name: str):
    """An outbox setting from the app config, else its default."""
    return current_app.config.get(name, DEFAULTS[name])


@dataclass
class Recipient:
    """Someone a rule mails: a staff user ("u<id>") or a contact ("c<id>")."""

    key: str
    email: str
    name: str
    language: str
    user_id: int | None = None
    contact_id: int | None = None


@dataclass
class PlanResult:
    created: int = 0
    updated: int = 0
    cancelled: int = 0


@dataclass
class DispatchResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: int = 0
    reclaimed: int = 0
    errors: list[str] = field(default_factory=list)


def send_due(*, now: dt.datetime) -> tuple[PlanResult, DispatchResult]:
    """Plan, commit, then dispatch what is due (the minute job and `crm send-due`)."""
    planned = plan_reminders(now=now)
    db.session.commit()
    return planned, dispatch_due(now=now)


def plan_reminders(*, now: dt.datetime) -> PlanResult:
    """Bring the outbox in line with the rules and the current events (flushes, no commit)."""
    result = PlanResult()
    plan_event_reminders(now=now, result=result)
    plan_digests(now=now, result=result)
    from crm.protocol.services import plan_agreement_reminders

    plan_agreement_reminders(now=now, result=result)
    db.session.flush()
    return result


def _default_language() -> str:
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _user_recipient(user) -> Recipient | None:
    if user is None or not user.is_active_user or not user.email:
        return None
    languages = current_app.config["LANGUAGES"]
    return Recipient(
        key=f"u{user.id}",
        email=user.email,
        name=user.display_name,
        language=user.locale if user.locale in languages else _default_language(),
        user_id=user.id,
    )


def _contact_recipient(contact) -> Recipient:
    language = getattr(contact.preferred_language, "value", contact.preferred_language)
    return Recipient(
        key=f"c{contact.id}",
        email=contact.email,
        name=contact.name,
        language=language or _default_language(),
        contact_id=contact.id,
    )


def _disabled_pairs() -> set[tuple[int, int]]:
    stmt = select(ReminderPreference.user_id, ReminderPreference.rule_id).where(
        ReminderPreference.is_enabled.is_(False)
    )
    return {(user_id, rule_id) for user_id, rule_id in db.session.execute(stmt)}


def _subscribed_contact_ids(contact_ids: set[int]) -> set[int]:
    if not contact_ids:
        return set()
    return set(
        db.session.scalars(
            select(ReminderSubscription.contact_id).where(
                ReminderSubscription.contact_id.in_(contact_ids),
                ReminderSubscription.opted_in_at.is_not(None),
                ReminderSubscription.unsubscribed_at.is_(None),
            )
        )
    )


def _event_is_live(event, now: dt.datetime) -> bool:
    status = getattr(event.status, "value", event.status)
    return event.deleted_at is None and status != "cancelled" and event.starts_at > now


def _event_recipients(rule, event, disabled, subscribed) -> list[Recipient]:
    if rule.kind == RuleKind.EVENT_RESPONSIBLE:
        recipient = _user_recipient(event.responsible)
        if recipient is None or (recipient.user_id, rule.id) in disabled:
            return []
        return [recipient]
    seen, recipients = set(), []
    for participation in event.participations:
        contact = participation.contact
        if contact is None or not contact.email or contact.id in seen:
            continue
        if contact.id in subscribed:
            seen.add(contact.id)
            recipients.append(_contact_recipient(contact))
    return recipients


def event_reminder_key(rule, event, recipient: Recipient) -> str:
    """Idempotency key of an event reminder: rule + event + recipient (stable when it moves)."""
    return f"{rule.kind.value}:r{rule.id}:e{event.id}:{recipient.key}"


def plan_event_reminders(*, now: dt.datetime, result: PlanResult | None = None) -> PlanResult:
    """Create, move, re-render or cancel the reminders of events (current state, every run)."""
    from crm.events.models import Event, Participation
    from crm.privacy.services import mailable_contact_ids

    result = result or PlanResult()
    rules = db.session.scalars(select(ReminderRule).where(ReminderRule.kind.in_(EVENT_KINDS))).all()
    active = [r for r in rules if r.is_active]
    rows = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.kind.in_(EVENT_KINDS), OutboxMessage.status == OutboxStatus.QUEUED
        )
    ).all()
    event_ids = {row.event_id for row in rows if row.event_id is not None}
    for row in rows:
        if row.event_id is None or row.rule_id is None:
            _cancel(row, "the event or the rule was deleted", result)
    if active:
        window_end = now + max(r.offset for r in active) + PLAN_HORIZON
        event_ids |= set(
            db.session.scalars(
                select(Event.id).where(
                    Event.deleted_at.is_(None),
                    Event.status != EventStatus.CANCELLED,
                    Event.starts_at > now,
                    Event.starts_at <= window_end,
                )
            )
        )
    if not event_ids:
        return result
    events = db.session.scalars(
        select(Event)
        .where(Event.id.in_(event_ids))
        .options(
            selectinload(Event.responsible),
            selectinload(Event.participations).selectinload(Participation.contact),
        )
    ).all()
    existing = defaultdict(dict)
    for row in db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.kind.in_(EVENT_KINDS), OutboxMessage.event_id.in_(event_ids)
        )
    ):
        existing[(row.rule_id, row.event_id)][row.idempotency_key] = row
    disabled = _disabled_pairs()
    contact_ids = {p.contact_id for e in events for p in e.participations if p.contact_id}
    subscribed = _subscribed_contact_ids(contact_ids)
    # Privacy: no mail to restricted or erased contacts, nor after consent was withdrawn.
    subscribed = mailable_contact_ids(subscribed, "event_reminders")
    for event in events:
        live = _event_is_live(event, now)
        for rule in rules:
            wanted = {}
            if live and rule.is_active:
                for recipient in _event_recipients(rule, event, disabled, subscribed):
                    wanted[event_reminder_key(rule, event, recipient)] = recipient
            rows_here = existing.get((rule.id, event.id), {})
            due = event.starts_at - rule.offset
            for key, recipient in wanted.items():
                row = rows_here.get(key)
                if row is None and due <= now + PLAN_HORIZON:
                    row = _new_row(key, rule, due, recipient, event_id=event.id)
                    _render_event_row(row, rule, event, recipient)
                    result.created += 1
                elif row is not None and row.status in (
                    OutboxStatus.QUEUED,
                    OutboxStatus.CANCELLED,
                ):
                    changed = row.status == OutboxStatus.CANCELLED or row.due_at != due
                    row.status = OutboxStatus.QUEUED
                    if row.due_at != due:
                        row.due_at = row.next_attempt_at = due
                    if _render_event_row(row, rule, event, recipient) or changed:
                        result.updated += 1
            for key, row in rows_here.items():
                if key not in wanted and row.status == OutboxStatus.QUEUED:
                    reason = _why_not(event, rule, now)
                    if reason == BEGAN:
                        # Catch-up policy: missed, and the event began: skipped, not sent.
                        row.status, row.last_error = OutboxStatus.SKIPPED, reason
                    else:
                        _cancel(row, reason, result)
    return result


def _why_not(event, rule, now) -> str:
    if event.deleted_at is not None:
        return "event deleted"
    if getattr(event.status, "value", event.status) == "cancelled":
        return "event cancelled"
    if event.starts_at <= now:
        return BEGAN
    if not rule.is_active:
        return "rule switched off"
    return "recipient no longer applies"


def _cancel(row: OutboxMessage, reason: str, result: PlanResult) -> None:
    row.status = OutboxStatus.CANCELLED
    row.last_error = reason
    result.cancelled += 1


def _new_row(key: str, rule, due: dt.datetime, recipient: Recipient, **refs) -> OutboxMessage:
    row = OutboxMessage(
        idempotency_key=key,
        kind=rule.kind,
        rule_id=rule.id,
        recipient_email=recipient.email,
        recipient_name=recipient.name,
        language=recipient.language,
        due_at=due,
        next_attempt_at=due,
        status=OutboxStatus.QUEUED,
        user_id=recipient.user_id,
        contact_id=recipient.contact_id,
        **refs,
    )
    db.session.add(row)
    return row


def _render_event_row(row: OutboxMessage, rule, event, recipient: Recipient) -> bool:
    """(Re-)render an event reminder when what it shows changed; True if it did."""
    fingerprint = "|".join(
        str(part)
        for part in (
            event.version,
            event.starts_at.isoformat(),
            event.title,
            event.venue,
            rule.offset_hours,
            recipient.language,
            recipient.name,
            recipient.email,
        )
    )[:200]
    if row.fingerprint == fingerprint and row.subject:
        return False
    template = (
        "reminder_responsible"
        if rule.kind == RuleKind.EVENT_RESPONSIBLE
        else ("reminder_participant")
    )
    unsubscribe_url = None
    if recipient.contact_id is not None:
        from crm.reminders.services import unsubscribe_token

        unsubscribe_url = mailer.record_url(
            "reminders.unsubscribe", token=unsubscribe_token(recipient.contact_id)
        )
    mail = mailer.render_mail(
        template,
        recipient.language,
        lambda: _("Reminder: %(title)s", title=event.title),
        event=event,
        recipient=recipient,
        link=mailer.record_url("events.show", event_id=event.id),
        unsubscribe_url=unsubscribe_url,
    )
    row.subject, row.body_text, row.body_html = mail.subject[:300], mail.text, mail.html
    row.recipient_email, row.recipient_name = recipient.email, recipient.name
    row.language = recipient.language
    row.fingerprint = fingerprint
    return True


def digest_due_at(rule, day: dt.date) -> dt.datetime:
    """The instant of a day's digest: the rule's local time in the office's zone, in UTC."""
    zone = ZoneInfo(current_app.config["OFFICE_TIMEZONE"])
    local = dt.datetime.combine(day, rule.send_time or dt.time(7), zone)
    return local.astimezone(dt.UTC)


def plan_digests(*, now: dt.datetime, result: PlanResult | None = None) -> PlanResult:
    """Once the day's digest time has come, queue one digest per assignee with due follow-ups."""
    from crm.auth.models import User
    from crm.followups.models import FollowUp, FollowUpStatus

    result = result or PlanResult()
    rules = db.session.scalars(
        select(ReminderRule).where(
            ReminderRule.kind == RuleKind.FOLLOWUP_DIGEST, ReminderRule.is_active.is_(True)
        )
    ).all()
    if not rules:
        return result
    today = now.astimezone(ZoneInfo(current_app.config["OFFICE_TIMEZONE"])).date()
    followups = db.session.scalars(
        select(FollowUp)
        .where(
            FollowUp.status == FollowUpStatus.OPEN,
            FollowUp.assignee_id.is_not(None),
            FollowUp.due_on <= today,
        )
        .order_by(FollowUp.due_on, FollowUp.id)
        .options(
            selectinload(FollowUp.contact),
            selectinload(FollowUp.organisation),
            selectinload(FollowUp.event),
        )
    ).all()
    by_user = defaultdict(list)
    for followup in followups:
        by_user[followup.assignee_id].append(followup)
    if not by_user:
        return result
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(by_user)))}
    disabled = _disabled_pairs()
    for rule in rules:
        due = digest_due_at(rule, today)
        if now < due:
            continue
        keys = {uid: f"followup_digest:r{rule.id}:u{uid}:{today.isoformat()}" for uid in by_user}
        taken = set(
            db.session.scalars(
                select(OutboxMessage.idempotency_key).where(
                    OutboxMessage.idempotency_key.in_(keys.values())
                )
            )
        )
        for user_id, items in by_user.items():
            recipient = _user_recipient(users.get(user_id))
            if recipient is None or keys[user_id] in taken or (user_id, rule.id) in disabled:
                continue
            row = _new_row(keys[user_id], rule, due, recipient)
            overdue = [f for f in items if f.due_on < today]
            mail = mailer.render_mail(
                "followup_digest",
                recipient.language,
                partial(_digest_subject, len(items)),
                recipient=recipient,
                overdue=overdue,
                due_today=[f for f in items if f.due_on == today],
                today=today,
                link=mailer.record_url("followups.index"),
                followup_link=followup_link,
            )
            row.subject, row.body_text, row.body_html = mail.subject, mail.text, mail.html
            result.created += 1
    return result


def followup_link(followup) -> str:
    """Where a mail about a follow-up points: its contact, organisation or event, else the list."""
    if followup.contact_id:
        return mailer.record_url("contacts.show", contact_id=followup.contact_id)
    if followup.organisation_id:
        return mailer.record_url("organisations.show", org_id=followup.organisation_id)
    if followup.event_id:
        return mailer.record_url("events.show", event_id=followup.event_id)
    return mailer.record_url("followups.index")


def _digest_subject(count: int) -> str:
    return _("Follow-ups due: %(count)s", count=count)


def enqueue_followup_assigned(followup, *, actor=None, now: dt.datetime | None = None):
    """Queue "a follow-up was assigned to you" in the caller's transaction (None if not wanted)."""
    now = now or utcnow()
    assignee = followup.assignee
    if assignee is None or (actor is not None and assignee.id == actor.id):
        return None
    rule = db.session.scalar(
        select(ReminderRule).where(
            ReminderRule.kind == RuleKind.FOLLOWUP_ASSIGNED, ReminderRule.is_active.is_(True)
        )
    )
    recipient = _user_recipient(assignee)
    if rule is None or recipient is None or (assignee.id, rule.id) in _disabled_pairs():
        return None
    key = f"followup_assigned:r{rule.id}:f{followup.id}:u{assignee.id}"
    if db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)):
        return None
    row = _new_row(key, rule, now, recipient, followup_id=followup.id)
    mail = mailer.render_mail(
        "followup_assigned",
        recipient.language,
        lambda: _("New follow-up for you: %(title)s", title=followup.title),
        followup=followup,
        actor=actor,
        recipient=recipient,
        link=followup_link(followup),
    )
    row.subject, row.body_text, row.body_html = mail.subject[:300], mail.text, mail.html
    db.session.flush()
    return row


def reclaim_stuck(*, now: dt.datetime) -> int:
    """Put rows left in `sending` (a dispatcher died) back in the queue after the timeout."""
    cutoff = now - dt.timedelta(seconds=setting("OUTBOX_SENDING_TIMEOUT_SECONDS"))
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_at < cutoff)
        .values(status=OutboxStatus.QUEUED, claimed_by=None, claimed_at=None, next_attempt_at=now),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    return result.rowcount


def claim_due(*, now: dt.datetime, limit: int) -> str | None:
    """Claim up to `limit` due rows in one short transaction; returns the claim token."""
    token = uuid.uuid4().hex
    due_ids = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.QUEUED, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite serialises the UPDATE instead
    )
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(due_ids), OutboxMessage.status == OutboxStatus.QUEUED)
        .values(
            status=OutboxStatus.SENDING,
            claimed_by=token,
            claimed_at=now,
            attempts=OutboxMessage.attempts + 1,
        ),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    return token if result.rowcount else None


def _finish(row_id: int, token: str, **values) -> bool:
    """Move a claimed row on, only if this dispatcher still holds the claim."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == row_id,
            OutboxMessage.claimed_by == token,
            OutboxMessage.status == OutboxStatus.SENDING,
        )
        .values(claimed_by=None, claimed_at=None, updated_at=utcnow(), **values),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    return result.rowcount == 1


def _still_wanted(row: OutboxMessage, now: dt.datetime) -> tuple[OutboxStatus, str] | None:
    """Check the current state once more just before sending; None means send."""
    from crm.privacy.services import may_email
    from crm.reminders.services import is_subscribed

    if row.kind in EVENT_KINDS:
        event = row.event
        if event is None or event.deleted_at is not None:
            return OutboxStatus.CANCELLED, "event deleted"
        if getattr(event.status, "value", event.status) == "cancelled":
            return OutboxStatus.CANCELLED, "event cancelled"
        if event.starts_at <= now:
            # Catch-up policy: a reminder for an event that already began is useless.
            return OutboxStatus.SKIPPED, BEGAN
    if row.kind == RuleKind.EVENT_PARTICIPANT and (
        row.contact_id is None or not is_subscribed(row.contact_id)
    ):
        return OutboxStatus.CANCELLED, "unsubscribed"
    if row.contact_id is not None and not may_email(row.contact_id, "event_reminders"):
        return OutboxStatus.CANCELLED, "no consent, restricted or erased"
    return None


def backoff(attempts: int) -> dt.timedelta:
    """Delay before the next try: base × 2^(attempts−1), capped."""
    seconds = setting("OUTBOX_BACKOFF_SECONDS") * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, setting("OUTBOX_BACKOFF_MAX_SECONDS")))


def dispatch_due(*, now: dt.datetime, limit: int | None = None) -> DispatchResult:
    """Reclaim stuck rows, claim due rows, send them over SMTP and record each outcome."""
    result = DispatchResult()
    db.session.commit()  # start from a clean session: the claim must be a short transaction
    result.reclaimed = reclaim_stuck(now=now)
    token = claim_due(now=now, limit=limit or setting("OUTBOX_BATCH_SIZE"))
    if token is None:
        return result
    rows = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.claimed_by == token)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .options(selectinload(OutboxMessage.event))
    ).all()
    jobs = []
    for row in rows:
        verdict = _still_wanted(row, now)
        jobs.append((row.id, row.attempts, verdict, None if verdict else _message_for(row, now)))
    db.session.commit()
    max_attempts = setting("OUTBOX_MAX_ATTEMPTS")
    with mailer.SmtpSender(current_app.config) as sender:
        for row_id, attempts, verdict, message in jobs:
            if verdict is not None:
                status, reason = verdict
                if _finish(row_id, token, status=status, last_error=reason):
                    setattr(result, status.value, getattr(result, status.value) + 1)
                continue
            try:
                sender.send(message)
            except OSError as error:  # smtplib.SMTPException included
                error_text = f"{type(error).__name__}: {error}"[:2000]
                result.errors.append(error_text)
                if attempts >= max_attempts:
                    _finish(row_id, token, status=OutboxStatus.FAILED, last_error=error_text)
                    result.failed += 1
                else:
                    _finish(
                        row_id,
                        token,
                        status=OutboxStatus.QUEUED,
                        last_error=error_text,
                        next_attempt_at=now + backoff(attempts),
                    )
                    result.retried += 1
                continue
            _finish(
                row_id,
                token,
                status=OutboxStatus.SENT,
                sent_at=now,
                message_id=message["Message-ID"],
                last_error="",
            )
            result.sent += 1
    return result


def _message_for(row: OutboxMessage, now: dt.datetime):
    ics = None
    if row.kind in EVENT_KINDS and row.event is not None:
        ics = mailer.calendar_attachment(row.event)
    unsubscribe_url = None
    if row.kind == RuleKind.EVENT_PARTICIPANT and row.contact_id is not None:
        from crm.reminders.services import unsubscribe_token

        unsubscribe_url = mailer.record_url(
            "reminders.unsubscribe", token=unsubscribe_token(row.contact_id)
        )
    return mailer.build_message(
        to_email=row.recipient_email,
        to_name=row.recipient_name,
        language=row.language,
        subject=row.subject,
        text=row.body_text,
        html=row.body_html,
        idempotency_key=row.idempotency_key,
        sent_at=now,
        ics=ics,
        unsubscribe_url=unsubscribe_url,
    )
