"""The scheduler's jobs: *plan* turns rules into outbox rows, *dispatch* sends due rows.

Both take `now` so tests can fix the clock. Plan is idempotent (one row per idempotency
key: rule + target + occurrence; each instance of a recurring event is an occurrence).
Dispatch claims rows in a short transaction — with `FOR UPDATE SKIP LOCKED` on PostgreSQL;
on SQLite the single claiming UPDATE is atomic because SQLite serialises writers — so two
dispatchers never send one row twice.
"""

import datetime as dt
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import literal_column, or_, select, update
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

log = logging.getLogger(__name__)

EVENT_KINDS = (RuleKind.EVENT_RESPONSIBLE, RuleKind.EVENT_PARTICIPANT)
# Rows are planned this long before they fall due (and no earlier), so planning stays cheap.
PLAN_HORIZON = dt.timedelta(days=1)
BEGAN = "event already began"
GONE = "occurrence no longer in the series"
SECOND = dt.timedelta(seconds=1)
# What dateutil raises on a recurrence it cannot read.
UNREADABLE = (ValueError, TypeError, OverflowError)
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


def _event_is_on(event) -> bool:
    status = getattr(event.status, "value", event.status)
    return event.deleted_at is None and status != "cancelled"


def _first_start(event) -> dt.datetime:
    # dateutil's rrule drops microseconds from the first instance; a one-off event keeps them.
    return event.starts_at.replace(microsecond=0) if event.rrule else event.starts_at


def _row_start(row: OutboxMessage, event) -> dt.datetime:
    """The start of the instance a reminder row is for."""
    return row.occurs_at or _first_start(event)


def instance_starts(event, after: dt.datetime, until: dt.datetime) -> list[dt.datetime]:
    """The starts (UTC) of a recurring event's instances in (after, until], in order.

    An all-day instance starts at its first midnight in the event's zone. Raises one of
    UNREADABLE when dateutil cannot read the recurrence (say an imported UNTIL without "Z").
    """
    from crm.events.recurrence import occurrences

    starts = set()
    for occurrence in occurrences(event, after, until + SECOND):
        if occurrence.starts_at is not None:
            start = occurrence.starts_at.astimezone(dt.UTC)
        else:
            start = dt.datetime.combine(occurrence.start_on, dt.time(), event.zone)
            start = start.astimezone(dt.UTC)
        if after < start <= until:
            starts.add(start)
    return sorted(starts)


def _recurs_within(event, after, until) -> bool:
    try:
        return bool(instance_starts(event, after, until))
    except UNREADABLE:
        return False  # not planned; its queued rows, if any, are left alone (_planned_starts)


def _readable_starts(event, after, until) -> list[dt.datetime] | None:
    """`instance_starts`, or None (logged) when the recurrence cannot be read."""
    try:
        return instance_starts(event, after, until)
    except UNREADABLE as error:
        log.warning(
            "event %s: unreadable recurrence, reminders left as they are: %s", event.id, error
        )
        return None


def _has_instance(event, start: dt.datetime) -> bool:
    if not event.rrule:
        return event.starts_at.replace(microsecond=0) == start
    # An unreadable recurrence cannot say no: the reminder planned when it was readable goes.
    starts = _readable_starts(event, start - SECOND, start)
    return starts is None or start in starts


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


def event_reminder_key(
    rule, event, recipient: Recipient, occurs_at: dt.datetime | None = None
) -> str:
    """Idempotency key of an event reminder: rule + event (+ instance) + recipient.

    A one-off event's key has no time in it, so it stays when the event moves; an instance of
    a recurring event adds its start in UTC (`e12@20261208T090000Z`).
    """
    target = f"e{event.id}"
    if occurs_at is not None:
        target += "@" + occurs_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{rule.kind.value}:r{rule.id}:{target}:{recipient.key}"


def _row_key(rule, event, recipient, start, rows_here) -> tuple[str, dt.datetime | None]:
    """The key of the row for one instance, and the `occurs_at` that row carries.

    The first instance may have a row under the other form of key already: one planned
    before the event got (or lost) its recurrence, or before reminders went per instance.
    That row stays the instance's, so the instance is never mailed twice.
    """
    plain = event_reminder_key(rule, event, recipient)
    dated = event_reminder_key(rule, event, recipient, start)
    if not event.rrule:
        return (dated if plain not in rows_here and dated in rows_here else plain), None
    if dated not in rows_here and plain in rows_here and start == _first_start(event):
        return plain, None
    return dated, start


def _planned_starts(event, now, window_end, queued: list[dt.datetime]) -> list[dt.datetime] | None:
    """The instances to hold reminders for: upcoming, up to the window or a queued row's.

    None when the recurrence cannot be read: the event's rows are then left as they are.
    """
    if not _event_is_on(event):
        return []
    if not event.rrule:
        return [event.starts_at] if event.starts_at > now else []
    # Past the window too where rows are queued already (a rule's offset went down), so a
    # row whose instance still exists is kept rather than cancelled and planned again.
    return _readable_starts(event, now, max([window_end, event.starts_at, *queued]))


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
    queued_starts = defaultdict(list)
    for row in rows:
        if row.event_id is None or row.rule_id is None:
            _cancel(row, "the event or the rule was deleted", result)
        elif row.occurs_at is not None:
            queued_starts[row.event_id].append(row.occurs_at)
    window_end = now + max((r.offset for r in active), default=dt.timedelta()) + PLAN_HORIZON
    if active:
        on = (Event.deleted_at.is_(None), Event.status != EventStatus.CANCELLED)
        event_ids |= set(
            db.session.scalars(
                select(Event.id).where(*on, Event.starts_at > now, Event.starts_at <= window_end)
            )
        )
        # Every recurring series begun before the window's end, in one statement (the partial
        # index ix_event_recurring; the literal '' lets a generic plan use it too), expanded
        # here: only those with an instance in the window are planned.
        series = db.session.scalars(
            select(Event).where(
                *on, Event.rrule != literal_column("''"), Event.starts_at <= window_end
            )
        ).all()
        event_ids |= {e.id for e in series if _recurs_within(e, now, window_end)}
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
            OutboxMessage.kind.in_(EVENT_KINDS),
            OutboxMessage.event_id.in_(event_ids),
            # Not a recurring event's past instances: a key planned now names a later one.
            or_(
                OutboxMessage.occurs_at.is_(None),
                OutboxMessage.occurs_at > now,
                OutboxMessage.status == OutboxStatus.QUEUED,
            ),
        )
    ):
        existing[(row.rule_id, row.event_id)][row.idempotency_key] = row
    disabled = _disabled_pairs()
    contact_ids = {p.contact_id for e in events for p in e.participations if p.contact_id}
    subscribed = _subscribed_contact_ids(contact_ids)
    # Privacy: no mail to restricted or erased contacts, nor after consent was withdrawn.
    subscribed = mailable_contact_ids(subscribed, "event_reminders")
    for event in events:
        starts = _planned_starts(event, now, window_end, queued_starts[event.id])
        if starts is None:
            continue  # one unreadable series must not stop every other reminder
        for rule in rules:
            rows_here = existing.get((rule.id, event.id), {})
            wanted = {}
            if starts and rule.is_active:
                recipients = _event_recipients(rule, event, disabled, subscribed)
                for start in starts:
                    for recipient in recipients:
                        key, occurs_at = _row_key(rule, event, recipient, start, rows_here)
                        wanted[key] = (recipient, start, occurs_at)
            for key, (recipient, start, occurs_at) in wanted.items():
                row = rows_here.get(key)
                due = start - rule.offset
                instance = start if event.rrule else None
                if row is None and due <= now + PLAN_HORIZON:
                    row = _new_row(
                        key, rule, due, recipient, event_id=event.id, occurs_at=occurs_at
                    )
                    _render_event_row(row, rule, event, recipient, instance)
                    result.created += 1
                elif row is not None and row.status in (
                    OutboxStatus.QUEUED,
                    OutboxStatus.CANCELLED,
                ):
                    changed = (
                        row.status == OutboxStatus.CANCELLED
                        or row.due_at != due
                        or row.occurs_at != occurs_at
                    )
                    row.status = OutboxStatus.QUEUED
                    if row.due_at != due:
                        row.due_at = row.next_attempt_at = due
                    row.occurs_at = occurs_at
                    if _render_event_row(row, rule, event, recipient, instance) or changed:
                        result.updated += 1
            for key, row in rows_here.items():
                if key not in wanted and row.status == OutboxStatus.QUEUED:
                    reason = _why_not(event, rule, row, starts, now)
                    if reason == BEGAN:
                        # Catch-up policy: missed, and the event began: skipped, not sent.
                        row.status, row.last_error = OutboxStatus.SKIPPED, reason
                    else:
                        _cancel(row, reason, result)
    return result


def _why_not(event, rule, row: OutboxMessage, starts: list[dt.datetime], now) -> str:
    if event.deleted_at is not None:
        return "event deleted"
    if getattr(event.status, "value", event.status) == "cancelled":
        return "event cancelled"
    start = _row_start(row, event)
    if start <= now:
        return BEGAN
    if not rule.is_active:
        return "rule switched off"
    if start not in starts:
        return GONE
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


def _when(event, instance: dt.datetime | None):
    """What a reminder's "When:" shows: the instance's time (or days), else the event's."""
    from crm.events.recurrence import Occurrence

    if instance is None:
        return Occurrence(event.starts_at, event.ends_at, event.start_on, event.end_on)
    if event.is_all_day and event.start_on and event.end_on:
        day = instance.astimezone(event.zone).date()
        return Occurrence(start_on=day, end_on=day + (event.end_on - event.start_on))
    return Occurrence(starts_at=instance, ends_at=instance + (event.ends_at - event.starts_at))


def _render_event_row(
    row: OutboxMessage, rule, event, recipient: Recipient, instance: dt.datetime | None = None
) -> bool:
    """(Re-)render an event reminder when what it shows changed; True if it did.

    `instance` is the start of a recurring event's instance (None for a one-off event).
    """
    fingerprint = "|".join(
        str(part)
        for part in (
            event.version,
            event.starts_at.isoformat(),
            *([instance.isoformat()] if instance is not None else []),
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
        when=_when(event, instance),
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


def _owed_digests(rules, today: dt.date, now: dt.datetime) -> list[tuple]:
    """The digest rules whose occurrence today is owed now, each with its instant.

    Each day's occurrence is planned once: by the first run at or after its time (on time,
    or catching up after the scheduler was down), and never again that day, so a follow-up
    assigned or falling due later waits for tomorrow's digest. A rule that is off when that
    run comes, or was made after its time, owes nothing for that day. Marks the days planned.
    """
    owed = []
    for rule in rules:
        due = digest_due_at(rule, today)
        if now < due or (rule.digest_planned_on is not None and rule.digest_planned_on >= today):
            continue
        rule.digest_planned_on = today
        if rule.is_active and rule.created_at <= due:
            owed.append((rule, due))
    return owed


def plan_digests(*, now: dt.datetime, result: PlanResult | None = None) -> PlanResult:
    """At the day's digest time, queue one digest per assignee with due follow-ups (once a day)."""
    from crm.auth.models import User
    from crm.followups.models import FollowUp, FollowUpStatus

    result = result or PlanResult()
    today = now.astimezone(ZoneInfo(current_app.config["OFFICE_TIMEZONE"])).date()
    rules = db.session.scalars(
        select(ReminderRule).where(ReminderRule.kind == RuleKind.FOLLOWUP_DIGEST)
    ).all()
    owed = _owed_digests(rules, today, now)
    if not owed:
        return result
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
    for rule, due in owed:
        keys = {uid: f"followup_digest:r{rule.id}:u{uid}:{today.isoformat()}" for uid in by_user}
        taken = set(
            db.session.scalars(
                select(OutboxMessage.idempotency_key).where(
                    OutboxMessage.idempotency_key.in_(keys.values())
                )
            )
        )
        for user_id, items in by_user.items():
            user = users.get(user_id)
            recipient = _user_recipient(user)
            if (
                recipient is None
                or user.created_at > due  # added after the digest time: none owed that day
                or keys[user_id] in taken
                or (user_id, rule.id) in disabled
            ):
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
        if _row_start(row, event) <= now:
            # Catch-up policy: a reminder for an event (instance) that already began is useless.
            return OutboxStatus.SKIPPED, BEGAN
        if row.occurs_at is not None and not _has_instance(event, row.occurs_at):
            return OutboxStatus.CANCELLED, GONE
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
