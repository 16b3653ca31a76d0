"""Rules for events: times in their zone, programme, participants, soft delete."""

import datetime as dt
import functools
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import Select, String, func, literal, literal_column, select, type_coerce, union_all

from crm.auth.models import User
from crm.contacts.models import Contact
from crm.db import as_id, fold, like_pattern, one_of, utcnow
from crm.enums import EventKind, EventStatus, ParticipationRole, Visibility
from crm.errors import NotFoundError, ServiceError
from crm.events.models import Event, EventCountry, Participation, ProgrammeItem
from crm.events.recurrence import RuleError, check_rrule, rule_error_message, series_start
from crm.extensions import db
from crm.i18n import is_country
from crm.locking import check_version
from crm.organisations.models import Organisation
from crm.tags import Tag, event_tag, get_tags, parse_tags

DEFAULT_ZONE = "Europe/Oslo"
TEXT_FIELDS = {"title": 200, "venue": 300, "description": 20000, "outcome_notes": 20000}
TIME_FIELDS = ("is_all_day", "starts_at", "ends_at", "start_on", "end_on")
# Programme items may not start before the day before the event nor end after the day
# after it: arrival dinners and farewell breakfasts belong to a visit, next month does not.
PROGRAMME_SLACK = dt.timedelta(days=1)
# More people than any event the office hosts, and well within the column's 32 bits.
MAX_ATTENDANCE = 10_000_000

# Zones offered in the event form; any valid IANA zone is accepted by the services.
COMMON_ZONES = (
    "Europe/Oslo",
    "UTC",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Stockholm",
    "Europe/Copenhagen",
    "Europe/Helsinki",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Brussels",
    "Europe/Warsaw",
    "Europe/Vilnius",
    "Europe/Kyiv",
    "Europe/Istanbul",
    "Atlantic/Reykjavik",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Africa/Lagos",
    "Africa/Nairobi",
    "Africa/Johannesburg",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Bangkok",
    "Asia/Shanghai",
    "Asia/Seoul",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def get_zone(name: str | None, *, field: str = "timezone") -> ZoneInfo:
    """The IANA zone called `name`; ServiceError if there is none."""
    if not name or name not in _known_zones():
        raise ServiceError(_("Choose a time zone from the list."), field=field)
    return ZoneInfo(name)


def local_to_utc(
    day: dt.date, time: dt.time, zone: str, *, field: str | None = None
) -> dt.datetime:
    """The UTC instant of a wall-clock date and time in an IANA zone.

    A time in the spring-forward gap (02:30 on 2026-03-29 in Europe/Oslo) never happens
    and is refused. A time in the autumn hour that happens twice means its first
    occurrence (fold=0, still summer time): a programme written "02:30" means the first
    02:30 the delegation lives through.
    """
    tz = get_zone(zone)
    local = dt.datetime.combine(day, time.replace(tzinfo=None, fold=0), tz)
    instant = local.astimezone(dt.UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise ServiceError(
            _(
                "%(time)s on %(date)s does not exist in %(zone)s: the clocks jump forward "
                "that night. Choose another time.",
                time=time.strftime("%H:%M"),
                date=day.isoformat(),
                zone=zone,
            ),
            field=field,
        )
    return instant


def local_midnight(day: dt.date, zone: str) -> dt.datetime:
    """The UTC instant at which `day` begins in `zone`."""
    return dt.datetime.combine(day, dt.time(), get_zone(zone)).astimezone(dt.UTC)


def _office_zone() -> str:
    return current_app.config.get("OFFICE_TIMEZONE") or DEFAULT_ZONE


def _enum_value(enum_cls, value: str) -> str | None:
    """The value if it names a member of enum_cls, else None (unknown filters are ignored)."""
    return value if value in {m.value for m in enum_cls} else None


def event_query(
    *,
    q: str = "",
    kind: str = "",
    status: str = "",
    visibility: str = "",
    country: str = "",
    tag: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    organisation_id: int | None = None,
    contact_id: int | None = None,
    include_deleted: bool = False,
) -> Select:
    """A SELECT of events matching the filters, by start time.

    `date_from`/`date_to` are days in the office's zone (Europe/Oslo); an event matches when
    it overlaps them, so a congress that began yesterday is found today.
    """
    stmt = select(Event).order_by(Event.starts_at, Event.id)
    if not include_deleted:
        stmt = stmt.where(Event.deleted_at.is_(None))
    if q.strip():
        stmt = stmt.where(Event.search_text.like(like_pattern(q), escape="\\"))
    for column, enum_cls, value in (
        (Event.kind, EventKind, kind),
        (Event.status, EventStatus, status),
        (Event.visibility, Visibility, visibility),
    ):
        if value and _enum_value(enum_cls, value):
            stmt = stmt.where(column == enum_cls(value))
    if country.strip():
        stmt = stmt.where(Event.countries.any(EventCountry.country == country.strip().upper()))
    if tag.strip():
        stmt = stmt.where(Event.tags.any(Tag.name == " ".join(tag.split()).lower()))
    if date_from:
        stmt = stmt.where(Event.ends_at > local_midnight(date_from, _office_zone()))
    if date_to:
        day_after = date_to + dt.timedelta(days=1)
        stmt = stmt.where(Event.starts_at < local_midnight(day_after, _office_zone()))
    if organisation_id:
        stmt = stmt.where(
            Event.participations.any(Participation.organisation_id == organisation_id)
        )
    if contact_id:
        stmt = stmt.where(Event.participations.any(Participation.contact_id == contact_id))
    return stmt


def list_labels(event_ids: Iterable[int]) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """The country codes and the tag names of these events, each sorted: a list's columns.

    One query of plain rows, instead of an EventCountry and a Tag object per value and a
    query for each relation (a page of 25 events has some 80 of them).
    """
    ids = list(event_ids)
    countries: dict[int, list[str]] = {event_id: [] for event_id in ids}
    tags: dict[int, list[str]] = {event_id: [] for event_id in ids}
    if ids:
        rows = db.session.execute(
            union_all(
                select(EventCountry.event_id, literal("c"), EventCountry.country).where(
                    one_of(EventCountry.event_id, ids)
                ),
                select(event_tag.c.event_id, literal("t"), Tag.name)
                .join(Tag, Tag.id == event_tag.c.tag_id)
                .where(one_of(event_tag.c.event_id, ids)),
            )
        )
        for event_id, kind, value in rows:
            (countries if kind == "c" else tags)[event_id].append(value)
    for values in (*countries.values(), *tags.values()):
        values.sort()
    return countries, tags


def overlapping(start: dt.datetime, end: dt.datetime):
    """Ids of the events with time in [start, end), and of recurring series begun before end.

    Two indexed branches (ix_event_ends, ix_event_recurring): written as one OR, PostgreSQL
    read every earlier event to find a month's (7 ms instead of 2 at 20,000 events).
    """
    return union_all(
        select(Event.id).where(Event.ends_at > start, Event.starts_at < end),
        # A literal '' (not a bound parameter), so that PostgreSQL's generic plan for this
        # prepared statement still matches the partial index's predicate.
        select(Event.id).where(Event.rrule != literal_column("''"), Event.starts_at < end),
    )


# An organisation's or contact's page reads every live event it takes part in as small rows,
# newest first (a few hundred for the busiest organisation): its event list, their number and
# its timeline come from those rows, instead of three queries over the same participations.
# Past this many rows a page reads only the newest and counts apart. A participant takes part
# at most once in each of the 7 roles, so the rows always hold the newest 700 events or more.
TAKEN_PART_ROWS = 5000


class Taking(NamedTuple):
    """One participation of a `TakenPart`, in the order of its event's start."""

    participation_id: int
    event_id: int
    role: str  # a ParticipationRole value, made a member only where shown
    starts_at: dt.datetime


class TakenPart:
    """The live events an organisation or a contact takes part in, newest first.

    `rows` holds one row per participation, read as a `Taking` (an organisation taking part
    twice in an event, as host and sponsor, has two), ordered by the event's start, the event
    and the participation, all descending: the timeline's order. When there are more than
    TAKEN_PART_ROWS, `rows` holds the newest of them and `complete` is false.
    """

    def __init__(self, condition, rows: list[Taking], complete: bool):
        self.condition = condition
        self.rows = rows
        self.complete = complete
        self._events: dict[int, Event] = {}

    def event_ids(self) -> list[int]:
        """The events of `rows`, each once, newest first."""
        return list(dict.fromkeys(row.event_id for row in self.rows))

    def count_events(self) -> int:
        """How many live events, all of them (counted by the database past the rows)."""
        if self.complete:
            return len(set(row.event_id for row in self.rows))
        live = (Event.deleted_at.is_(None), Event.participations.any(self.condition))
        return db.session.scalar(select(func.count()).select_from(Event).where(*live))

    def events(self, ids: Iterable[int]) -> dict[int, Event]:
        """These events by id, each read once however often it is asked for (one query)."""
        missing = set(ids) - self._events.keys()
        if missing:
            for event in db.session.scalars(select(Event).where(one_of(Event.id, missing))):
                self._events[event.id] = event
        return self._events


def taken_part(*, organisation_id: int | None = None, contact_id: int | None = None) -> TakenPart:
    """What one organisation (or one contact) takes part in: one query of plain rows."""
    if organisation_id is not None:
        condition = Participation.organisation_id == organisation_id
    else:
        condition = Participation.contact_id == contact_id
    # The rows as the database driver gives them: they read as Takings (same names, order).
    rows = db.session.execute(
        select(
            Participation.id.label("participation_id"),
            Participation.event_id,
            type_coerce(Participation.role, String).label("role"),  # 517 rows, 45 shown
            Event.starts_at,
        )
        .join(Participation.event)
        .where(condition, Event.deleted_at.is_(None))
        .order_by(Event.starts_at.desc(), Event.id.desc(), Participation.id.desc())
        .limit(TAKEN_PART_ROWS + 1)
    ).all()
    complete = len(rows) <= TAKEN_PART_ROWS
    return TakenPart(condition, rows[:TAKEN_PART_ROWS], complete)


@dataclass
class OrganisationEvents:
    """An organisation's latest events, each with its roles there, and how many it has."""

    rows: list[tuple[Event, list[ParticipationRole]]]
    total: int

    @property
    def has_more(self) -> bool:
        return self.total > len(self.rows)


def organisation_events(taken: TakenPart, *, limit: int = 20) -> OrganisationEvents:
    """The latest `limit` live events of an organisation's `taken_part`, newest first.

    An organisation taking part twice in one event (host and sponsor) gives one row with
    both roles, as the event list filtered by the organisation shows it once.
    """
    ids = taken.event_ids()[:limit]
    roles: dict[int, list[ParticipationRole]] = {event_id: [] for event_id in ids}
    shown = (row for row in taken.rows if row.event_id in roles)
    for row in sorted(shown, key=lambda row: row.participation_id):  # roles as entered
        role = ParticipationRole(row.role)
        if role not in roles[row.event_id]:
            roles[row.event_id].append(role)
    events = taken.events(ids)
    return OrganisationEvents([(events[i], roles[i]) for i in ids], taken.count_events())


def _clean(data: dict) -> dict:
    """Validate and normalise the plain event fields; raise ServiceError on the first problem."""
    clean: dict = {}
    for key, limit in TEXT_FIELDS.items():
        if key in data:
            clean[key] = (data[key] or "").strip()
            if len(clean[key]) > limit:
                raise ServiceError(_("Use at most %(n)d characters.", n=limit), field=key)
    if "title" in clean and not clean["title"]:
        raise ServiceError(_("Enter a title."), field="title")
    for key, enum_cls in (("kind", EventKind), ("status", EventStatus), ("visibility", Visibility)):
        if key in data:
            try:
                clean[key] = enum_cls(data[key])
            except ValueError:
                messages = {
                    "kind": _("Choose a kind from the list."),
                    "status": _("Choose a status from the list."),
                    "visibility": _("Choose a visibility from the list."),
                }
                raise ServiceError(messages[key], field=key) from None
    if "timezone" in data:
        get_zone(data["timezone"])
        clean["timezone"] = data["timezone"]
    for key in ("expected_attendance", "actual_attendance"):
        if key in data:
            value = data[key]
            if value in (None, ""):
                clean[key] = None
                continue
            try:
                value = int(value)
            except (TypeError, ValueError):
                value = -1
            if value < 0:
                raise ServiceError(_("Enter a whole number, 0 or more."), field=key)
            if value > MAX_ATTENDANCE:
                raise ServiceError(
                    _("Enter a number of at most %(max)s.", max=format_decimal(MAX_ATTENDANCE)),
                    field=key,
                )
            clean[key] = value
    return clean


def _check_instant(value, field: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        message = _("Enter a start time.") if "start" in field else _("Enter an end time.")
        raise ServiceError(message, field=field)
    if value.tzinfo is None:
        raise ServiceError(_("The time has no time zone."), field=field)
    return value.astimezone(dt.UTC)


def _apply_times(event: Event, times: dict, zone: str) -> None:
    """Set the event's instants (timed) or dates and their midnights (all-day)."""
    if times["is_all_day"]:
        start_on, end_on = times["start_on"], times["end_on"] or times["start_on"]
        if isinstance(start_on, dt.datetime) or not isinstance(start_on, dt.date):
            raise ServiceError(_("Enter a start date."), field="start_on")
        if isinstance(end_on, dt.datetime) or not isinstance(end_on, dt.date):
            raise ServiceError(_("Enter an end date."), field="end_on")
        if end_on < start_on:
            raise ServiceError(_("The end date must not be before the start date."), "end_on")
        event.is_all_day = True
        event.start_on, event.end_on = start_on, end_on
        event.starts_at = local_midnight(start_on, zone)
        event.ends_at = local_midnight(end_on + dt.timedelta(days=1), zone)
    else:
        starts_at = _check_instant(times["starts_at"], "starts_at")
        ends_at = _check_instant(times["ends_at"], "ends_at")
        if ends_at <= starts_at:
            raise ServiceError(_("The end must be after the start."), field="ends_at")
        event.is_all_day = False
        event.start_on = event.end_on = None
        event.starts_at, event.ends_at = starts_at, ends_at


def _clean_rrule(value: str | None, event: Event) -> str:
    """A repetition rule (RFC 5545 RRULE value) checked against the event's start."""
    try:
        return check_rrule(value, series_start(event))
    except RuleError as error:
        raise ServiceError(rule_error_message(error), field="rrule") from None


def _set_rrule(event: Event, value: str | None) -> None:
    """Set the rule; a series that stops repeating loses its exceptions and extra dates too."""
    rule = _clean_rrule(value, event)
    if event.rrule and not rule:
        event.exdates = event.rdates = ""
    event.rrule = rule


def _recheck_kept_rrule(event: Event, before: tuple, first_before) -> None:
    """A change of times must not break a rule kept as it was (an UNTIL now before the start,
    or of the wrong kind after "All day" was ticked); a rule already broken stays as it is."""
    if not event.rrule or before == _time_key(event):
        return
    try:
        check_rrule(event.rrule, first_before)
    except RuleError:
        return
    _clean_rrule(event.rrule, event)


def _time_key(event: Event) -> tuple:
    return (event.is_all_day, event.start_on, event.starts_at, event.timezone)


def _responsible_id(responsible_id=None, responsible_email=None) -> int | None:
    if responsible_email:
        user_id = db.session.scalar(
            select(User.id).where(User.email == responsible_email.strip().lower())
        )
        if user_id is None:
            raise NotFoundError(_("No staff member has that email address."), "responsible_id")
        return user_id
    if responsible_id in (None, "", 0):
        return None
    try:
        user = db.session.get(User, int(responsible_id))
    except (TypeError, ValueError):
        user = None
    if user is None:
        raise NotFoundError(_("Choose a staff member from the list."), field="responsible_id")
    return user.id


def _set_countries(event: Event, countries: Iterable[str]) -> None:
    codes: list[str] = []
    for code in countries:
        code = (code or "").strip().upper()
        if not code:
            continue
        if not is_country(code):
            raise ServiceError(_("Choose countries from the list."), field="countries")
        if code not in codes:
            codes.append(code)
    # Reuse rows that stay: their primary key is (event, country).
    existing = {c.country: c for c in event.countries}
    event.countries = [existing.get(code) or EventCountry(country=code) for code in codes]


def _programme_items(event: Event, items: Iterable[dict]) -> list[ProgrammeItem]:
    """Programme items checked against the event's time span.

    A row with the id of one of the event's items updates that item in place, so its id, its
    details and what links to it stay; other rows are new items. Every row is checked first,
    so a refused programme changes no item.
    """
    zone = get_zone(event.timezone)
    first_day = event.starts_at.astimezone(zone).date()
    last_day = (event.ends_at - dt.timedelta(microseconds=1)).astimezone(zone).date()
    earliest = local_midnight(first_day, event.timezone) - PROGRAMME_SLACK
    latest = local_midnight(last_day + dt.timedelta(days=1), event.timezone) + PROGRAMME_SLACK
    result = []
    for i, item in enumerate(items):
        n, prefix = i + 1, f"programme-{i}-"
        title = (item.get("title") or "").strip()
        if not title:
            raise ServiceError(
                _("Programme item %(n)d: enter what happens.", n=n), field=prefix + "title"
            )
        start, end = item.get("starts_at"), item.get("ends_at")
        if not isinstance(start, dt.datetime) or start.tzinfo is None:
            raise ServiceError(
                _("Programme item %(n)d: enter a start time.", n=n), field=prefix + "starts_at"
            )
        if end is not None and (not isinstance(end, dt.datetime) or end.tzinfo is None):
            raise ServiceError(
                _("Programme item %(n)d: enter a valid end time.", n=n), field=prefix + "ends_at"
            )
        if end is not None and end <= start:
            raise ServiceError(
                _("Programme item %(n)d: the end must be after the start.", n=n),
                field=prefix + "ends_at",
            )
        if start < earliest or (end or start) > latest:
            raise ServiceError(
                _(
                    "Programme item %(n)d must take place during the event "
                    "(%(first)s – %(last)s) or the day before or after it.",
                    n=n,
                    first=first_day.isoformat(),
                    last=last_day.isoformat(),
                ),
                field=prefix + "starts_at",
            )
        values = {
            "starts_at": start.astimezone(dt.UTC),
            "ends_at": end.astimezone(dt.UTC) if end else None,
            "place": (item.get("place") or "").strip()[:300],
            "title": title[:300],
            "who": (item.get("who") or "").strip(),
        }
        result.append((as_id(item.get("id")), values))
    existing = {item.id: item for item in event.programme if item.id is not None}
    programme = []
    for row_id, values in result:
        kept = existing.pop(row_id, None)  # pop: an id given twice updates one item
        if kept is None:
            programme.append(ProgrammeItem(**values))
        else:
            for name, value in values.items():
                setattr(kept, name, value)
            programme.append(kept)
    return programme


def _participant(
    organisation_id=None, contact_id=None, role="guest", *, field: str = "participant"
) -> tuple[str, int, ParticipationRole]:
    """Check a participant and role; return ("organisation"|"contact", id, role)."""
    if bool(organisation_id) == bool(contact_id):
        raise ServiceError(_("Choose one organisation or one contact."), field=field)
    model, kind = (Organisation, "organisation") if organisation_id else (Contact, "contact")
    record_id = as_id(organisation_id or contact_id)
    record = db.session.get(model, record_id) if record_id else None
    if record is None:
        message = (
            _("That organisation does not exist.")
            if kind == "organisation"
            else _("That contact does not exist.")
        )
        raise NotFoundError(message, field=field)
    try:
        role = ParticipationRole(role or ParticipationRole.GUEST)
    except ValueError:
        raise ServiceError(
            _("Choose a role from the list."), field=field.replace("name", "role")
        ) from None
    return kind, record.id, role


def _participations(
    items: Iterable[dict], existing: Iterable[Participation] = ()
) -> list[Participation]:
    """Participations as listed; one the event already has (same participant and role) stays
    as it is, with its id and what hangs on it (the follow-ups proposed for it)."""
    kept = {
        (
            "organisation" if p.organisation_id else "contact",
            p.organisation_id or p.contact_id,
            p.role,
        ): p
        for p in existing
    }
    seen: set[tuple] = set()
    result = []
    for i, item in enumerate(items):
        kind, record_id, role = _participant(
            item.get("organisation_id"),
            item.get("contact_id"),
            item.get("role"),
            field=f"participations-{i}-name",
        )
        if (kind, record_id, role) in seen:
            continue  # the same participant twice in the same role is one participation
        seen.add((kind, record_id, role))
        result.append(
            kept.get((kind, record_id, role))
            or Participation(role=role, **{f"{kind}_id": record_id})
        )
    return result


def resolve_participant(*, kind: str, name: str, participant_id=None, field=None) -> dict:
    """Find an organisation or contact by id or by exact name (any case).

    Returns {"organisation_id": id} or {"contact_id": id}; ServiceError when no record or
    several records have that name. The id (from the picker) wins when it names a record
    with the typed name, so two "Ola Nordmann" can be told apart.
    """
    if kind not in ("organisation", "contact"):
        raise ServiceError(_("Choose organisation or contact."), field=field)
    model = Organisation if kind == "organisation" else Contact
    wanted = fold(name or "")
    if not wanted:
        raise ServiceError(_("Enter a name."), field=field)
    record_id = as_id(participant_id)  # a number past any id is an unknown one
    if record_id:
        record = db.session.get(model, record_id)
        if record is not None and fold(record.name) == wanted:
            return {f"{kind}_id": record.id}
    candidates = db.session.scalars(
        select(model).where(model.search_text.like(like_pattern(name), escape="\\")).limit(200)
    )
    matches = [r for r in candidates if fold(r.name) == wanted]
    if not matches:
        message = (
            _("No organisation is called “%(name)s”.", name=name.strip())
            if kind == "organisation"
            else _("No contact is called “%(name)s”.", name=name.strip())
        )
        raise ServiceError(message, field=field)
    if len(matches) > 1:
        raise ServiceError(
            _(
                "%(count)d records are called “%(name)s”: pick one from the suggestions.",
                count=len(matches),
                name=name.strip(),
            ),
            field=field,
        )
    return {f"{kind}_id": matches[0].id}


def create_event(
    *,
    title: str,
    kind: str,
    status: str = "confirmed",
    visibility: str = "internal",
    timezone: str = DEFAULT_ZONE,
    is_all_day: bool = False,
    starts_at: dt.datetime | None = None,
    ends_at: dt.datetime | None = None,
    start_on: dt.date | None = None,
    end_on: dt.date | None = None,
    venue: str = "",
    description: str = "",
    outcome_notes: str = "",
    expected_attendance: int | None = None,
    actual_attendance: int | None = None,
    responsible_id: int | None = None,
    responsible_email: str | None = None,
    countries: Iterable[str] = (),
    tags: str | list[str] | None = None,
    programme: Iterable[dict] | None = None,
    participations: Iterable[dict] | None = None,
    rrule: str = "",
) -> Event:
    """Create an event with its programme and participants (flushes, never commits).

    `rrule` makes it repeat: an RFC 5545 RRULE value such as "FREQ=WEEKLY;COUNT=10".
    """
    clean = _clean(
        {
            "title": title,
            "kind": kind,
            "status": status,
            "visibility": visibility,
            "timezone": timezone,
            "venue": venue,
            "description": description,
            "outcome_notes": outcome_notes,
            "expected_attendance": expected_attendance,
            "actual_attendance": actual_attendance,
        }
    )
    event = Event(**clean)
    times = dict(zip(TIME_FIELDS, (is_all_day, starts_at, ends_at, start_on, end_on), strict=True))
    _apply_times(event, times, clean["timezone"])
    event.rrule = _clean_rrule(rrule, event)
    event.responsible_id = _responsible_id(responsible_id, responsible_email)
    _set_countries(event, countries or ())
    event.programme = _programme_items(event, programme or ())
    event.participations = _participations(participations or ())
    event.tags = get_tags(parse_tags(tags))
    db.session.add(event)
    db.session.flush()
    return event


def update_event(event: Event, *, version: int | None = None, **data) -> Event:
    """Update the given fields (lists are replaced); refused if `version` is outdated.

    Without `rrule` the stored rule stays as it is; `rrule=""` stops the series repeating and
    drops its EXDATEs and RDATEs.
    """
    check_version(event, version)
    unknown = set(data) - {
        *TEXT_FIELDS,
        *TIME_FIELDS,
        "kind",
        "status",
        "visibility",
        "timezone",
        "expected_attendance",
        "actual_attendance",
        "responsible_id",
        "responsible_email",
        "countries",
        "tags",
        "programme",
        "participations",
        "rrule",
    }
    if unknown:
        raise TypeError(f"update_event() got unexpected fields: {sorted(unknown)}")
    clean = _clean(data)
    zone = clean.get("timezone", event.timezone)
    times_before, first_before = _time_key(event), series_start(event)
    with db.session.no_autoflush:
        for key, value in clean.items():
            setattr(event, key, value)
        if "timezone" in clean or any(k in data for k in TIME_FIELDS):
            times = {k: data.get(k, getattr(event, k)) for k in TIME_FIELDS}
            _apply_times(event, times, zone)
        if "rrule" in data and (data["rrule"] or "") != event.rrule:
            _set_rrule(event, data["rrule"])
        else:  # the stored rule stays byte for byte, checked only when the times change
            _recheck_kept_rrule(event, times_before, first_before)
        if "responsible_id" in data or "responsible_email" in data:
            event.responsible_id = _responsible_id(
                data.get("responsible_id"), data.get("responsible_email")
            )
        if data.get("countries") is not None:
            _set_countries(event, data["countries"])
        if data.get("programme") is not None:
            event.programme = _programme_items(event, data["programme"])
        if data.get("participations") is not None:
            event.participations = _participations(data["participations"], event.participations)
        if data.get("tags") is not None:
            event.tags = get_tags(parse_tags(data["tags"]))
        # Always write the row, so the version goes up even when only lists changed.
        event.updated_at = utcnow()
    db.session.flush()
    return event


def delete_event(event: Event, *, version: int | None = None) -> None:
    """Soft delete: the event is hidden but stays, cancelled, so calendar feeds drop it."""
    check_version(event, version, deleting=True)
    event.deleted_at = utcnow()
    event.status = EventStatus.CANCELLED
    db.session.flush()


def add_participation(
    event: Event, *, organisation_id=None, contact_id=None, role: str = "guest"
) -> Participation:
    """Add an organisation or a contact to an event in a role (flushes)."""
    kind, record_id, role = _participant(organisation_id, contact_id, role, field="name")
    for p in event.participations:
        if getattr(p, f"{kind}_id") == record_id and p.role == role:
            raise ServiceError(
                _("%(name)s already takes part as %(role)s.", name=p.participant, role=role.label),
                field="name",
            )
    participation = Participation(role=role, **{f"{kind}_id": record_id})
    event.participations.append(participation)
    # Bump the event's version: an edit form opened before this must not drop it on save.
    event.updated_at = utcnow()
    db.session.flush()
    return participation


def remove_participation(event: Event, participation_id: int) -> None:
    """Remove one participation from an event (flushes)."""
    participation = next((p for p in event.participations if p.id == participation_id), None)
    if participation is None:
        raise NotFoundError(_("That participant is not part of this event."))
    event.participations.remove(participation)
    event.updated_at = utcnow()
    db.session.flush()
