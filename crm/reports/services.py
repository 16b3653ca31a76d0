"""Indicators of international activity, each computed in the database with GROUP BY.

A period is a range of days in the office's zone (Europe/Oslo). An event belongs to the
period in which it *starts*: its local period bounds are turned into UTC instants and
compared with `Event.starts_at`, so 23:30 on 31 December in Oslo belongs to that year.
Deleted and cancelled events are not activity and are never counted.
"""

import datetime as dt
import statistics
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, case, distinct, func, literal, or_, select

from crm.db import utcnow
from crm.enums import EventKind, EventStatus, OrganisationKind, TwinCityCategory
from crm.errors import ServiceError
from crm.events.models import Event, EventCountry, Participation
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from crm.organisations.models import Organisation

MAX_DAYS = 366 * 10
TOP_PARTNERS = 10
DEFAULT_ZONE = "Europe/Oslo"


def office_zone() -> ZoneInfo:
    """The office's zone, in which report periods are days."""
    return ZoneInfo(current_app.config.get("OFFICE_TIMEZONE") or DEFAULT_ZONE)


def local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The UTC instant at which `day` begins in `zone`."""
    return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)


@dataclass(frozen=True)
class Period:
    """An inclusive range of local days."""

    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
        """[first instant, first instant after) of the period, in UTC."""
        return local_midnight(self.start, zone), local_midnight(
            self.end + dt.timedelta(days=1), zone
        )

    def previous(self) -> "Period":
        """The period of equal length that ends the day before this one starts.

        A calendar year compares with the previous calendar year (365 or 366 days).
        """
        if (
            self.start.month == 1
            and self.start.day == 1
            and self.end == dt.date(self.start.year, 12, 31)
        ):
            return Period(dt.date(self.start.year - 1, 1, 1), dt.date(self.start.year - 1, 12, 31))
        end = self.start - dt.timedelta(days=1)
        return Period(end - dt.timedelta(days=self.days - 1), end)


def year_period(year: int) -> Period:
    """1 January to 31 December of `year`."""
    return Period(dt.date(year, 1, 1), dt.date(year, 12, 31))


def parse_period(date_from: str = "", date_to: str = "", *, today: dt.date) -> Period:
    """The period from `?from=&to=` (YYYY-MM-DD); this year by default; ServiceError if bad."""
    try:
        start = dt.date.fromisoformat(date_from.strip()) if date_from.strip() else None
    except ValueError:
        raise ServiceError(_("Enter a date such as 2026-12-31."), field="from") from None
    try:
        end = dt.date.fromisoformat(date_to.strip()) if date_to.strip() else None
    except ValueError:
        raise ServiceError(_("Enter a date such as 2026-12-31."), field="to") from None
    start = start or (dt.date(end.year, 1, 1) if end else dt.date(today.year, 1, 1))
    end = end or dt.date(start.year, 12, 31)
    if end < start:
        raise ServiceError(_("The period must end on or after its first day."), field="to")
    if (end - start).days + 1 > MAX_DAYS:
        raise ServiceError(_("Choose a period of at most ten years."), field="to")
    return Period(start, end)


def months_of(period: Period) -> list[dt.date]:
    """The first day of each calendar month the period touches."""
    months, day = [], period.start.replace(day=1)
    while day <= period.end:
        months.append(day)
        day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return months


def _in_period(period: Period, zone: ZoneInfo):
    """WHERE clauses for live, not cancelled events starting in the period."""
    lo, hi = period.bounds(zone)
    return (
        Event.deleted_at.is_(None),
        Event.status != EventStatus.CANCELLED,
        Event.starts_at >= lo,
        Event.starts_at < hi,
    )


def events_by_kind(period: Period, zone: ZoneInfo) -> dict[EventKind, int]:
    """Number of events of each kind (every kind present, zero when none)."""
    rows = db.session.execute(
        select(Event.kind, func.count()).where(*_in_period(period, zone)).group_by(Event.kind)
    ).all()
    found = {EventKind(kind): n for kind, n in rows}
    return {kind: found.get(kind, 0) for kind in EventKind}


def events_by_month(period: Period, zone: ZoneInfo) -> dict[dt.date, dict[EventKind, int]]:
    """Events per local month (first day of the month) and kind.

    The month is a CASE over the months' UTC bounds, so the database groups by local month
    on SQLite and PostgreSQL alike (no time-zone functions needed).
    """
    months = months_of(period)
    whens = [
        (Event.starts_at < local_midnight(_next_month(m), zone), literal(i))
        for i, m in enumerate(months)
    ]
    bucket = case(*whens, else_=literal(len(months) - 1)) if whens else literal(0)
    rows = db.session.execute(
        select(bucket.label("month"), Event.kind, func.count())
        .where(*_in_period(period, zone))
        .group_by(bucket, Event.kind)
    ).all()
    result = {m: dict.fromkeys(EventKind, 0) for m in months}
    for index, kind, n in rows:
        result[months[int(index)]][EventKind(kind)] += n
    return result


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def month_end(day: dt.date) -> dt.date:
    """The last day of `day`'s month."""
    return _next_month(day) - dt.timedelta(days=1)


def delegations_by_country(period: Period, zone: ZoneInfo) -> list[tuple[str, int]]:
    """(country code, delegation visits) ranked by visits, then code."""
    count = func.count(distinct(Event.id))
    rows = db.session.execute(
        select(EventCountry.country, count)
        .join(Event, Event.id == EventCountry.event_id)
        .where(*_in_period(period, zone), Event.kind == EventKind.DELEGATION)
        .group_by(EventCountry.country)
        .order_by(count.desc(), EventCountry.country)
    ).all()
    return [(code, n) for code, n in rows]


@dataclass
class Visitors:
    """Attendance sums: expected and actual, and how many events recorded each."""

    expected: int = 0
    actual: int = 0
    events_with_expected: int = 0
    events_with_actual: int = 0
    by_kind: dict = field(default_factory=dict)


def visitors(period: Period, zone: ZoneInfo) -> Visitors:
    """Expected and actual attendance, in total and by event kind."""
    rows = db.session.execute(
        select(
            Event.kind,
            func.coalesce(func.sum(Event.expected_attendance), 0),
            func.coalesce(func.sum(Event.actual_attendance), 0),
            func.count(Event.expected_attendance),
            func.count(Event.actual_attendance),
        )
        .where(*_in_period(period, zone))
        .group_by(Event.kind)
    ).all()
    result = Visitors(by_kind={kind: (0, 0) for kind in EventKind})
    for kind, expected, actual, n_expected, n_actual in rows:
        result.by_kind[EventKind(kind)] = (int(expected), int(actual))
        result.expected += int(expected)
        result.actual += int(actual)
        result.events_with_expected += n_expected
        result.events_with_actual += n_actual
    return result


def _participating_orgs(period: Period, zone: ZoneInfo):
    """A subquery of (organisation id, event id) pairs of events in the period."""
    return (
        select(Participation.organisation_id.label("org_id"), Participation.event_id)
        .join(Event, Event.id == Participation.event_id)
        .where(*_in_period(period, zone), Participation.organisation_id.is_not(None))
        .distinct()
        .subquery()
    )


def partners_by_kind(period: Period, zone: ZoneInfo) -> dict[OrganisationKind, int]:
    """Distinct organisations of each kind that took part in at least one event."""
    pairs = _participating_orgs(period, zone)
    rows = db.session.execute(
        select(Organisation.kind, func.count(distinct(Organisation.id)))
        .join(pairs, pairs.c.org_id == Organisation.id)
        .group_by(Organisation.kind)
    ).all()
    found = {OrganisationKind(kind): n for kind, n in rows}
    return {kind: found.get(kind, 0) for kind in OrganisationKind}


def consulates(period: Period, zone: ZoneInfo) -> tuple[int, int]:
    """(consulates involved in at least one event, all consulates)."""
    pairs = _participating_orgs(period, zone)
    involved = db.session.scalar(
        select(func.count(distinct(Organisation.id)))
        .join(pairs, pairs.c.org_id == Organisation.id)
        .where(Organisation.kind == OrganisationKind.CONSULATE)
    )
    total = db.session.scalar(
        select(func.count()).where(Organisation.kind == OrganisationKind.CONSULATE)
    )
    return involved or 0, total or 0


@dataclass
class TwinCityRow:
    """One relation category: relations, how many were active, their joint events."""

    category: TwinCityCategory | None
    relations: int
    active: int
    events: int


def twin_cities(period: Period, zone: ZoneInfo) -> list[TwinCityRow]:
    """Twin-city relations per category with their activity in the period."""
    pairs = _participating_orgs(period, zone)
    rows = db.session.execute(
        select(
            Organisation.twin_city_category,
            func.count(distinct(Organisation.id)),
            func.count(distinct(pairs.c.org_id)),
            func.count(distinct(pairs.c.event_id)),
        )
        .outerjoin(pairs, pairs.c.org_id == Organisation.id)
        .where(Organisation.kind == OrganisationKind.TWIN_CITY)
        .group_by(Organisation.twin_city_category)
    ).all()
    found = {
        (TwinCityCategory(c) if c else None): TwinCityRow(
            TwinCityCategory(c) if c else None, n, active, events
        )
        for c, n, active, events in rows
    }
    result = [found.get(c) or TwinCityRow(c, 0, 0, 0) for c in TwinCityCategory]
    if None in found:
        result.append(found[None])
    return result


def dormant_twin_cities(period: Period, zone: ZoneInfo) -> list[tuple[int, str]]:
    """(id, name) of twin cities that took part in no event in the period."""
    pairs = _participating_orgs(period, zone)
    return [
        (org_id, name)
        for org_id, name in db.session.execute(
            select(Organisation.id, Organisation.name)
            .where(
                Organisation.kind == OrganisationKind.TWIN_CITY,
                ~select(pairs.c.org_id).where(pairs.c.org_id == Organisation.id).exists(),
            )
            .order_by(Organisation.name, Organisation.id)
        ).all()
    ]


@dataclass
class FollowUpFigures:
    """Follow-ups created in the period and what became of them."""

    created: int = 0
    done: int = 0
    done_on_time: int = 0
    overdue: int = 0
    median_days_to_first: float | None = None
    events_followed_up: int = 0


def followups(period: Period, zone: ZoneInfo, *, today: dt.date) -> FollowUpFigures:
    """Follow-ups created in the period: done, done on time, overdue (open past due today).

    "On time" means closed by the end of the due day in the office's zone. That boundary
    depends on each due date's UTC offset, so the (few) distinct due dates are read first
    and the count is one query comparing each row with its own day's end.
    """
    lo, hi = period.bounds(zone)
    created = and_(FollowUp.created_at >= lo, FollowUp.created_at < hi)
    done = FollowUp.status == FollowUpStatus.DONE
    n_created, n_done, n_overdue = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((done, 1), else_=0)), 0),
            func.coalesce(
                func.sum(
                    case(
                        (
                            and_(FollowUp.status == FollowUpStatus.OPEN, FollowUp.due_on < today),
                            1,
                        ),
                        else_=0,
                    )
                ),
                0,
            ),
        ).where(created)
    ).one()
    due_days = db.session.scalars(
        select(FollowUp.due_on).where(created, done, FollowUp.due_on.is_not(None)).distinct()
    ).all()
    in_time = [
        and_(
            FollowUp.due_on == day,
            FollowUp.closed_at < local_midnight(day + dt.timedelta(days=1), zone),
        )
        for day in due_days
    ]
    on_time = db.session.scalar(
        select(func.count()).where(
            created,
            done,
            or_(FollowUp.due_on.is_(None), *in_time) if in_time else FollowUp.due_on.is_(None),
        )
    )
    days = days_to_first_followup(period, zone)
    return FollowUpFigures(
        created=n_created,
        done=int(n_done),
        done_on_time=on_time or 0,
        overdue=int(n_overdue),
        median_days_to_first=round(statistics.median(days), 1) if days else None,
        events_followed_up=len(days),
    )


def days_to_first_followup(period: Period, zone: ZoneInfo) -> list[float]:
    """Per event of the period with follow-ups: days from its end to its first follow-up.

    The database gives one number per event (GROUP BY event); the median is taken in Python
    because SQLite has no percentile_cont. A follow-up created before the event ended counts
    as zero days.
    """
    first = func.min(FollowUp.created_at)
    if db.session.get_bind().dialect.name == "postgresql":
        days = func.extract("epoch", first - Event.ends_at) / 86400.0
    else:
        days = func.julianday(first) - func.julianday(Event.ends_at)
    rows = db.session.scalars(
        select(days)
        .join(FollowUp, FollowUp.event_id == Event.id)
        .where(*_in_period(period, zone))
        .group_by(Event.id, Event.ends_at)
    ).all()
    return [max(0.0, float(d)) for d in rows]


def top_partners(period: Period, zone: ZoneInfo, limit: int = TOP_PARTNERS) -> list[tuple]:
    """(id, name, kind, joint events) of the organisations in the most events."""
    pairs = _participating_orgs(period, zone)
    count = func.count(distinct(pairs.c.event_id))
    rows = db.session.execute(
        select(Organisation.id, Organisation.name, Organisation.kind, count)
        .join(pairs, pairs.c.org_id == Organisation.id)
        .group_by(Organisation.id, Organisation.name, Organisation.kind)
        .order_by(count.desc(), Organisation.name, Organisation.id)
        .limit(limit)
    ).all()
    return [(i, name, OrganisationKind(kind), n) for i, name, kind, n in rows]


def event_list(period: Period, zone: ZoneInfo, limit: int = 5000) -> list[Event]:
    """The period's events by start (for the annual report), at most `limit`."""
    return list(
        db.session.scalars(
            select(Event)
            .where(*_in_period(period, zone))
            .order_by(Event.starts_at, Event.id)
            .limit(limit)
        )
    )


def total_events(period: Period, zone: ZoneInfo) -> int:
    """Number of (live, not cancelled) events starting in the period."""
    return db.session.scalar(select(func.count()).where(*_in_period(period, zone))) or 0


@dataclass
class Indicators:
    """Every indicator of one period."""

    period: Period
    total_events: int
    by_kind: dict
    by_month: dict
    delegations: list
    visitors: Visitors
    partners: dict
    consulates: tuple
    twin_cities: list
    dormant: list
    followups: FollowUpFigures
    top_partners: list


def compute(period: Period, *, today: dt.date | None = None) -> Indicators:
    """All indicators of a period."""
    zone = office_zone()
    today = today or utcnow().astimezone(zone).date()
    return Indicators(
        period=period,
        total_events=total_events(period, zone),
        by_kind=events_by_kind(period, zone),
        by_month=events_by_month(period, zone),
        delegations=delegations_by_country(period, zone),
        visitors=visitors(period, zone),
        partners=partners_by_kind(period, zone),
        consulates=consulates(period, zone),
        twin_cities=twin_cities(period, zone),
        dormant=dormant_twin_cities(period, zone),
        followups=followups(period, zone, today=today),
        top_partners=top_partners(period, zone),
    )


def change(current: float | None, previous: float | None) -> float | None:
    """Change from previous to current in percent, or None when there is no base."""
    if current is None or previous in (None, 0):
        return None
    return round((current - previous) * 100.0 / previous, 1)
