"""Rules for follow-ups, interactions and the timeline of a contact or organisation."""

import datetime as dt
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import func, select, union_all
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from crm.db import utcnow
from crm.enums import ParticipationRole
from crm.errors import ServiceError
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus, Interaction, InteractionKind
from crm.locking import check_version
from crm.timeutil import in_bounds, out_of_bounds_message

TITLE_MAX = 300


def _clean_title(title) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise ServiceError(_("Say what needs doing."), field="title")
    if len(title) > TITLE_MAX:
        raise ServiceError(_("Keep it under %(max)s characters.", max=TITLE_MAX), field="title")
    return title


def _clean_date(value, field: str, *, required: bool = False) -> dt.date | None:
    if value in (None, ""):
        if required:
            raise ServiceError(_("Enter a date."), field=field)
        return None
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise ServiceError(_("Enter a date such as 2026-12-31."), field=field) from None
    if not in_bounds(day):  # the one range of dates the app takes (crm.timeutil)
        raise ServiceError(out_of_bounds_message(), field=field)
    return day


def _get(model, record_id, field: str):
    if record_id in (None, "", 0):
        return None
    try:
        record = db.session.get(model, int(record_id))
    except (TypeError, ValueError):
        record = None
    if record is None:
        raise ServiceError(_("Choose an existing record."), field=field)
    return record


def _assignee(assignee_id, *, current=None):
    """The user to assign: an active one, or `current` (the assignee so far) kept as it is."""
    from crm.auth.models import User

    user = _get(User, assignee_id, "assignee_id")
    if user is not None and not user.is_active_user and user is not current:
        raise ServiceError(_("Choose an active staff member."), field="assignee_id")
    return user


def create_followup(
    *,
    title: str,
    due_on=None,
    assignee_id=None,
    event_id=None,
    contact_id=None,
    organisation_id=None,
    outcome: str = "",
    actor=None,
    now: dt.datetime | None = None,
) -> FollowUp:
    """Create an open follow-up; the assignee's notification is queued in the same transaction."""
    from crm.contacts.models import Contact
    from crm.events.models import Event
    from crm.organisations.models import Organisation
    from crm.reminders.jobs import enqueue_followup_assigned

    followup = FollowUp(
        title=_clean_title(title),
        due_on=_clean_date(due_on, "due_on"),
        assignee=_assignee(assignee_id),
        event=_get(Event, event_id, "event_id"),
        contact=_get(Contact, contact_id, "contact_id"),
        organisation=_get(Organisation, organisation_id, "organisation_id"),
        outcome=(outcome or "").strip(),
        created_by=actor,
        status=FollowUpStatus.OPEN,
    )
    db.session.add(followup)
    db.session.flush()
    enqueue_followup_assigned(followup, actor=actor, now=now)
    return followup


def create_followups_for_participants(
    event,
    *,
    title: str,
    participation_ids,
    due_on=None,
    assignee_id=None,
    actor=None,
    now: dt.datetime | None = None,
) -> list[FollowUp]:
    """One follow-up per selected participant of an event ("thank-you letter to each delegate")."""
    chosen = {int(i) for i in participation_ids or []}
    participations = [p for p in event.participations if p.id in chosen]
    if not participations:
        raise ServiceError(_("Choose at least one participant."), field="participation_ids")
    title = _clean_title(title)
    due = _clean_date(due_on, "due_on")
    _assignee(assignee_id)
    return [
        create_followup(
            title=title,
            due_on=due,
            assignee_id=assignee_id,
            event_id=event.id,
            contact_id=p.contact_id,
            organisation_id=p.organisation_id,
            actor=actor,
            now=now,
        )
        for p in participations
    ]


def update_followup(
    followup: FollowUp,
    *,
    version: int | None = None,
    title=None,
    due_on=None,
    assignee_id=None,
    status=None,
    outcome=None,
    actor=None,
    now: dt.datetime | None = None,
) -> FollowUp:
    """Edit a follow-up (the whole form: None clears due date and assignee); checks `version`."""
    from crm.reminders.jobs import enqueue_followup_assigned

    check_version(followup, version)
    if title is not None:
        followup.title = _clean_title(title)
    followup.due_on = _clean_date(due_on, "due_on")
    old_assignee = followup.assignee_id
    followup.assignee = _assignee(assignee_id, current=followup.assignee)
    if outcome is not None:
        followup.outcome = outcome.strip()
    if status:
        try:
            _set_status(followup, FollowUpStatus(status), now=now)
        except ValueError:
            raise ServiceError(_("Choose a status from the list."), field="status") from None
    db.session.flush()
    if followup.assignee_id != old_assignee and followup.is_open:
        enqueue_followup_assigned(followup, actor=actor, now=now)
    return followup


def _set_status(followup: FollowUp, status: FollowUpStatus, *, now=None) -> None:
    if status != followup.status:
        followup.status = status
        followup.closed_at = None if status == FollowUpStatus.OPEN else (now or utcnow())


def complete_followup(
    followup: FollowUp, *, outcome: str | None = None, now: dt.datetime | None = None
) -> FollowUp:
    """Mark a follow-up done (one click), optionally with an outcome note."""
    if followup.status == FollowUpStatus.DROPPED:
        raise ServiceError(_("This follow-up was dropped; reopen it first."))
    _set_status(followup, FollowUpStatus.DONE, now=now)
    if outcome:
        followup.outcome = outcome.strip()
    db.session.flush()
    return followup


def drop_followup(followup: FollowUp, *, now: dt.datetime | None = None) -> FollowUp:
    """Drop a follow-up that no longer needs doing (kept for the record)."""
    _set_status(followup, FollowUpStatus.DROPPED, now=now)
    db.session.flush()
    return followup


def followup_query(*, assignee_id: int | None = None, status: str = "open"):
    """Follow-ups (of one assignee), overdue first: by due date, undated last."""
    stmt = select(FollowUp)
    if assignee_id is not None:
        stmt = stmt.where(FollowUp.assignee_id == assignee_id)
    if status:
        stmt = stmt.where(FollowUp.status == FollowUpStatus(status))
    return stmt.order_by(FollowUp.due_on.is_(None), FollowUp.due_on, FollowUp.id).options(
        selectinload(FollowUp.assignee),
        selectinload(FollowUp.event),
        selectinload(FollowUp.contact),
        selectinload(FollowUp.organisation),
    )


def open_followups_for_event(event) -> list[FollowUp]:
    """The open follow-ups of an event (for its page)."""
    if event is None or getattr(event, "id", None) is None:
        return []
    stmt = followup_query(status="open").where(FollowUp.event_id == event.id)
    return list(db.session.scalars(stmt))


def count_open_followups(*, assignee_id: int) -> int:
    """How many open follow-ups a user is assigned (a warning when they are deactivated)."""
    return db.session.scalar(
        select(func.count())
        .select_from(FollowUp)
        .where(FollowUp.assignee_id == assignee_id, FollowUp.status == FollowUpStatus.OPEN)
    )


def add_interaction(
    *,
    kind: str,
    occurred_on,
    note: str = "",
    contact_id=None,
    organisation_id=None,
    event_id=None,
    actor=None,
) -> Interaction:
    """Record a dated note (met, called, emailed, gift ...) on a contact or organisation."""
    from crm.contacts.models import Contact
    from crm.events.models import Event
    from crm.organisations.models import Organisation

    try:
        kind = InteractionKind(kind)
    except ValueError:
        raise ServiceError(_("Choose a kind from the list."), field="kind") from None
    contact = _get(Contact, contact_id, "contact_id")
    organisation = _get(Organisation, organisation_id, "organisation_id")
    if contact is None and organisation is None:
        raise ServiceError(_("An interaction belongs to a contact or an organisation."))
    interaction = Interaction(
        kind=kind,
        occurred_on=_clean_date(occurred_on, "occurred_on", required=True),
        note=(note or "").strip(),
        contact=contact,
        organisation=organisation,
        event=_get(Event, event_id, "event_id"),
        created_by=actor,
    )
    db.session.add(interaction)
    db.session.flush()
    return interaction


def delete_interaction(interaction: Interaction) -> None:
    """Delete an interaction entered by mistake."""
    db.session.delete(interaction)
    db.session.flush()


# A timeline shows a page of this many items; pages deeper than TIMELINE_MAX_PAGE are empty
# (each page fetches every newer item again, so a deep page costs what all before it cost).
TIMELINE_PAGE_SIZE = 25
TIMELINE_MAX_PAGE = 200
# An event shows on the day it starts in its own zone. UTC offsets run from -12 to +14
# hours, so that day can disagree with the order of the UTC start by up to 26 hours.
_ZONE_SPREAD = dt.timedelta(hours=27)
# Items of one day: follow-ups first, then interactions, then events.
_KIND_RANK = {"followup": 2, "interaction": 1, "event": 0}


@dataclass
class TimelineItem:
    """One line of a timeline: an interaction, an event taken part in, or a follow-up."""

    kind: str  # "interaction" | "event" | "followup"
    day: dt.date
    record: object
    role: object = None
    # Newest first is this key, descending; each source's query orders by the same key.
    tiebreak: tuple = field(default=(), compare=False, repr=False)

    @property
    def sort_key(self) -> tuple:
        return (self.day, _KIND_RANK[self.kind], *self.tiebreak)


@dataclass
class TimelinePage:
    """One page of a timeline, newest first, and whether an older page follows."""

    items: list[TimelineItem]
    page: int
    has_more: bool


def _event_day(event) -> dt.date:
    return event.start_on if event.is_all_day and event.start_on else event.local_start.date()


def _event_items(taken, wanted: int) -> list[TimelineItem]:
    """The events among the first `wanted` items of a timeline, from its `taken_part` rows.

    An event that starts a little earlier in UTC may still fall on a later local day (Tokyo
    against New York): past the `wanted`-th start, a day more is taken, so the merge misses
    none. The rows hold every participation unless there are thousands; should the window
    then reach past them, it is read from the database (two queries, as deep as it goes).
    """
    from crm.events.models import Event, Participation
    from crm.events.services import Taking

    rows = taken.rows
    floor = rows[wanted - 1].starts_at - _ZONE_SPREAD if len(rows) >= wanted else None
    if taken.complete or (floor is not None and rows[-1].starts_at < floor):
        window = [row for row in rows if floor is None or row.starts_at >= floor]
        events = taken.events(row.event_id for row in window)
    else:
        participations = (
            select(Participation)
            .join(Participation.event)
            .where(taken.condition, Event.deleted_at.is_(None))
            .order_by(Event.starts_at.desc(), Event.id.desc(), Participation.id.desc())
        )
        cutoff = db.session.scalar(
            participations.with_only_columns(Event.starts_at).offset(wanted - 1).limit(1)
        )
        if cutoff is not None:
            participations = participations.where(Event.starts_at >= cutoff - _ZONE_SPREAD)
        found = db.session.scalars(participations.options(contains_eager(Participation.event)))
        events, window = {}, []
        for p in found:
            events[p.event_id] = p.event
            window.append(Taking(p.id, p.event_id, p.role, p.event.starts_at))
    return [
        TimelineItem(
            "event",
            _event_day(events[row.event_id]),
            events[row.event_id],
            role=ParticipationRole(row.role),
            tiebreak=(row.starts_at, row.event_id, row.participation_id),
        )
        for row in window
    ]


def _timeline_followups(condition, wanted: int):
    """The first `wanted` follow-ups of a timeline, with and without a due date: one query.

    A follow-up shows on its due date, else on the day it was created. Each kind is taken
    in the order of that day, so that a long-open follow-up due next week is not missed.
    """
    newest = (
        select(FollowUp.id)
        .where(condition, FollowUp.due_on.is_not(None))
        .order_by(FollowUp.due_on.desc(), FollowUp.created_at.desc(), FollowUp.id.desc())
        .limit(wanted)
        .subquery(),
        select(FollowUp.id)
        .where(condition, FollowUp.due_on.is_(None))
        .order_by(FollowUp.created_at.desc(), FollowUp.id.desc())
        .limit(wanted)
        .subquery(),
    )
    ids = union_all(*(select(found.c.id) for found in newest))
    return select(FollowUp).where(FollowUp.id.in_(ids)).options(joinedload(FollowUp.assignee))


def timeline_for(
    contact=None,
    organisation=None,
    limit: int = TIMELINE_PAGE_SIZE,
    page: int = 1,
    taken=None,
) -> TimelinePage:
    """A page of a contact's or organisation's interactions, events and follow-ups, newest first.

    Each source gives its first `page * limit + 1` items in the timeline's own order, so
    their merge begins with the first `page * limit + 1` items of the whole timeline: the
    page is a slice of it, and the one item more says whether an older page exists. `taken`
    is the page's `events.services.taken_part` when it has read it already.
    """
    from crm.events import services as event_services

    page = max(page, 1)
    if (contact is None and organisation is None) or page > TIMELINE_MAX_PAGE:
        return TimelinePage([], page, False)
    wanted = page * limit + 1
    if contact is not None:
        interaction_cond = Interaction.contact_id == contact.id
        followup_cond = FollowUp.contact_id == contact.id
    else:
        interaction_cond = Interaction.organisation_id == organisation.id
        followup_cond = FollowUp.organisation_id == organisation.id

    items = [
        TimelineItem("interaction", i.occurred_on, i, tiebreak=(i.id,))
        for i in db.session.scalars(
            select(Interaction)
            .where(interaction_cond)
            .order_by(Interaction.occurred_on.desc(), Interaction.id.desc())
            .options(joinedload(Interaction.created_by))
            .limit(wanted)
        )
    ]

    if taken is None:
        taken = event_services.taken_part(
            organisation_id=organisation.id if contact is None else None,
            contact_id=contact.id if contact is not None else None,
        )
    items += _event_items(taken, wanted)

    items += [
        TimelineItem("followup", f.due_on or f.created_at.date(), f, tiebreak=(f.created_at, f.id))
        for f in db.session.scalars(_timeline_followups(followup_cond, wanted))
    ]

    items.sort(key=lambda item: item.sort_key, reverse=True)
    start = (page - 1) * limit
    return TimelinePage(items[start : start + limit], page, len(items) > start + limit)
