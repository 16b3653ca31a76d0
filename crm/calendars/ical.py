"""iCalendar (RFC 5545) serialisation as pure functions: VEVENTs, VTIMEZONEs and whole feeds.

Every VEVENT is made with `icalendar` (escaping, folding at 75 octets, CRLF) once, when its
event changes; a feed is a header, the VTIMEZONEs it uses, and those stored pieces joined.
"""

import datetime as dt
import re
from collections.abc import Iterable
from functools import lru_cache
from zoneinfo import ZoneInfo

import icalendar
from icalendar.prop import vRecur

from crm.enums import EventStatus, Visibility

PRODID = "-//Vertskap//Vertskap CRM//EN"
# Hints for clients that honour them (Apple, Thunderbird; Google and Outlook poll on their own).
REFRESH_INTERVAL = dt.timedelta(hours=1)
# A cancelled or deleted event stays in feeds this long so that subscribed clients drop it.
CANCELLED_GRACE = dt.timedelta(days=30)
DEFAULT_ZONE = "Europe/Oslo"

_ICAL_STATUS = {
    EventStatus.TENTATIVE: "TENTATIVE",
    EventStatus.CONFIRMED: "CONFIRMED",
    EventStatus.DONE: "CONFIRMED",
    EventStatus.CANCELLED: "CANCELLED",
}

_DATE_FORMATS = (
    ("%Y%m%dT%H%M%SZ", True),
    ("%Y%m%dT%H%M%S", False),
    ("%Y-%m-%dT%H:%M:%S", False),
    ("%Y-%m-%dT%H:%M", False),
    ("%Y-%m-%d %H:%M:%S", False),
    ("%Y-%m-%d %H:%M", False),
)


def parse_recurrence_dates(text: str, zone: str, all_day: bool) -> list[dt.date | dt.datetime]:
    """Parse EXDATE/RDATE values, one per line (or comma-separated), into dates or aware datetimes.

    Accepts the RFC 5545 forms (20261201, 20261201T100000, 20261201T090000Z) and ISO 8601
    (2026-12-01, 2026-12-01T10:00, with or without an offset); local times are in `zone`.
    Raises ValueError naming the first value it cannot read.
    """
    values: list[dt.date | dt.datetime] = []
    tz = ZoneInfo(zone)
    for raw in re.split(r"[\n,]+", text or ""):
        item = raw.strip()
        if not item:
            continue
        value = _parse_one_date(item, tz)
        if all_day and isinstance(value, dt.datetime):
            value = value.astimezone(tz).date()
        elif not all_day and not isinstance(value, dt.datetime):
            value = dt.datetime.combine(value, dt.time(0), tz)
        values.append(value)
    return values


def _parse_one_date(item: str, tz: ZoneInfo) -> dt.date | dt.datetime:
    if re.fullmatch(r"\d{8}", item):
        return dt.datetime.strptime(item, "%Y%m%d").date()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", item):
        return dt.date.fromisoformat(item)
    for fmt, is_utc in _DATE_FORMATS:
        try:
            value = dt.datetime.strptime(item, fmt)
        except ValueError:
            continue
        return value.replace(tzinfo=dt.UTC) if is_utc else value.replace(tzinfo=tz)
    try:
        value = dt.datetime.fromisoformat(item)
    except ValueError:
        raise ValueError(item) from None
    return value if value.tzinfo else value.replace(tzinfo=tz)


def format_recurrence_dates(values: Iterable[dt.date | dt.datetime], zone: str) -> str:
    """The stored form of EXDATE/RDATE values: one per line, RFC 5545 local time in `zone`."""
    tz = ZoneInfo(zone)
    lines = []
    for value in values:
        if isinstance(value, dt.datetime):
            local = value.astimezone(tz) if value.tzinfo else value
            lines.append(local.strftime("%Y%m%dT%H%M%S"))
        else:
            lines.append(value.strftime("%Y%m%d"))
    return "\n".join(sorted(set(lines)))


def event_tzid(event) -> str | None:
    """The TZID an event's VEVENT refers to (None for all-day events and UTC)."""
    if event.is_all_day or event.timezone in ("UTC", "Etc/UTC"):
        return None
    return event.timezone


def is_cancelled(event) -> bool:
    """True when the event is cancelled or deleted: its feeds say STATUS:CANCELLED."""
    return event.deleted_at is not None or event.status == EventStatus.CANCELLED


def build_vevent(event, *, stamp: dt.datetime, url: str | None = None) -> bytes:
    """One event as VEVENT bytes (CRLF, folded, escaped); never includes internal notes.

    `stamp` is the DTSTAMP and LAST-MODIFIED: when this serialisation was made, which is
    when the event last changed.
    """
    vevent = icalendar.Event()
    vevent.add("UID", event.uid)
    vevent.add("DTSTAMP", stamp.astimezone(dt.UTC))
    vevent.add("LAST-MODIFIED", stamp.astimezone(dt.UTC))
    vevent.add("SEQUENCE", event.sequence or 0)
    zone = event.zone
    if event.is_all_day:
        start_on = event.start_on or event.starts_at.astimezone(zone).date()
        end_on = event.end_on or start_on
        vevent.add("DTSTART", start_on)
        # DTEND of an all-day event is exclusive: a one-day event on 3 May ends on 4 May.
        vevent.add("DTEND", end_on + dt.timedelta(days=1))
    else:
        vevent.add("DTSTART", event.starts_at.astimezone(zone))
        vevent.add("DTEND", event.ends_at.astimezone(zone))
    vevent.add("SUMMARY", event.title)
    _add_text(vevent, "DESCRIPTION", event.description)
    _add_text(vevent, "LOCATION", event.venue)
    if url:
        vevent.add("URL", url)
    tags = sorted(t.name for t in event.tags)
    if tags:
        vevent.add("CATEGORIES", tags)
    status = EventStatus.CANCELLED if is_cancelled(event) else EventStatus(event.status)
    vevent.add("STATUS", _ICAL_STATUS[status])
    # Only staff feeds hold internal events; clients hide the details of CONFIDENTIAL ones.
    internal = event.visibility == Visibility.INTERNAL
    vevent.add("CLASS", "CONFIDENTIAL" if internal else "PUBLIC")
    if event.rrule:
        vevent.add("RRULE", vRecur.from_ical(event.rrule.removeprefix("RRULE:")))
        exdates = parse_recurrence_dates(event.exdates, event.timezone, event.is_all_day)
        rdates = parse_recurrence_dates(event.rdates, event.timezone, event.is_all_day)
        if exdates:
            vevent.add("EXDATE", _in_zone(exdates, zone))
        if rdates:
            vevent.add("RDATE", _in_zone(rdates, zone))
    return vevent.to_ical()


def build_programme_vevent(item, *, stamp: dt.datetime) -> bytes:
    """A programme item shared with a partner, as a VEVENT of its own.

    Only when, where and what: the hosts, the interpreter and the item's notes stay internal.
    """
    event = item.event
    zone = event.zone
    vevent = icalendar.Event()
    vevent.add("UID", f"{event.uid.split('@')[0]}-programme-{item.id}@vertskap")
    vevent.add("DTSTAMP", stamp.astimezone(dt.UTC))
    vevent.add("LAST-MODIFIED", stamp.astimezone(dt.UTC))
    vevent.add("SEQUENCE", event.sequence or 0)
    vevent.add("DTSTART", item.starts_at.astimezone(zone))
    vevent.add("DTEND", (item.ends_at or item.starts_at + dt.timedelta(hours=1)).astimezone(zone))
    vevent.add("SUMMARY", f"{event.title}: {item.title}")
    detail = getattr(item, "detail", None)
    place = ", ".join(p for p in (item.place, detail.address if detail else "") if p)
    _add_text(vevent, "LOCATION", place)
    vevent.add("STATUS", "CANCELLED" if is_cancelled(event) else "CONFIRMED")
    vevent.add("CLASS", "PUBLIC")
    return vevent.to_ical()


def _add_text(vevent: icalendar.Event, name: str, value: str | None) -> None:
    """Add a text property unless it is empty (libical flags `LOCATION:` as an error)."""
    if value and value.strip():
        vevent.add(name, value.strip())


def _in_zone(values: list, zone: ZoneInfo) -> list:
    return [v.astimezone(zone) if isinstance(v, dt.datetime) else v for v in values]


@lru_cache(maxsize=64)
def vtimezone(tzid: str) -> bytes:
    """The VTIMEZONE for an IANA zone, made once per process.

    Written the way Outlook and Google write theirs, a yearly RRULE per transition, because
    Outlook and vobject/dateutil misread the long RDATE lists that `icalendar` makes. Zones
    whose rule is not "the nth (or last) weekday of a month" fall back to `icalendar`'s form.
    """
    year = dt.date.today().year
    zone = ZoneInfo(tzid)
    this_year = _transitions(zone, year)
    rules = [_yearly_rule(local) for local, _before, _after in this_year]
    if [_rule_date(rule, year + 1) for rule in rules] != [
        local.date() for local, _b, _a in _transitions(zone, year + 1)
    ]:
        return icalendar.Timezone.from_tzid(tzid).to_ical()
    lines = ["BEGIN:VTIMEZONE", f"TZID:{tzid}"]
    if not this_year:
        offset = _offset(dt.datetime(year, 1, 1, tzinfo=zone).utcoffset())
        name = dt.datetime(year, 1, 1, tzinfo=zone).tzname()
        lines += ["BEGIN:STANDARD", "DTSTART:19700101T000000", f"TZOFFSETFROM:{offset}"]
        lines += [f"TZOFFSETTO:{offset}", f"TZNAME:{name}", "END:STANDARD"]
    for (local, before, after), rule in zip(this_year, rules, strict=True):
        kind = "DAYLIGHT" if after.dst() else "STANDARD"
        start = dt.datetime.combine(_rule_date(rule, 1970), local.time())
        month, byday = rule[0], f"{rule[1]}{_WEEKDAYS[rule[2]]}"
        lines += [
            f"BEGIN:{kind}",
            f"DTSTART:{start:%Y%m%dT%H%M%S}",
            f"RRULE:FREQ=YEARLY;BYMONTH={month};BYDAY={byday}",
            f"TZOFFSETFROM:{_offset(before.utcoffset())}",
            f"TZOFFSETTO:{_offset(after.utcoffset())}",
            f"TZNAME:{after.tzname()}",
            f"END:{kind}",
        ]
    lines.append("END:VTIMEZONE")
    return ("\r\n".join(lines) + "\r\n").encode()


_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _offset(delta: dt.timedelta | None) -> str:
    minutes = int((delta or dt.timedelta()).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def _transitions(zone: ZoneInfo, year: int) -> list[tuple[dt.datetime, dt.datetime, dt.datetime]]:
    """The zone's offset changes in a year: (local wall time before, instant before, after)."""
    found = []
    step = dt.timedelta(hours=6)
    t = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC)
    while t < end:
        a, b = t.astimezone(zone), (t + step).astimezone(zone)
        if a.utcoffset() != b.utcoffset():
            lo, hi = t, t + step
            while hi - lo > dt.timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(zone).utcoffset() == a.utcoffset():
                    lo = mid
                else:
                    hi = mid
            before, after = lo.astimezone(zone), hi.astimezone(zone)
            wall = (hi.replace(second=0, microsecond=0) + before.utcoffset()).replace(tzinfo=None)
            found.append((wall, before, after))
        t += step
    return found


def _yearly_rule(local: dt.datetime) -> tuple[int, int, int]:
    """(month, nth weekday — -1 for the last, weekday) of a transition's local date."""
    nth = (local.day - 1) // 7 + 1
    days_in_month = (local.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    if local.day + 7 > (days_in_month - dt.timedelta(days=1)).day:
        nth = -1
    return local.month, nth, local.weekday()


def _rule_date(rule: tuple[int, int, int], year: int) -> dt.date:
    month, nth, weekday = rule
    if nth > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
    last = (dt.date(year, month, 28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def calendar_header(name: str, *, description: str = "", zone: str = DEFAULT_ZONE) -> bytes:
    """The VCALENDAR's opening lines and properties, up to its first component."""
    cal = icalendar.Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    cal.add("METHOD", "PUBLISH")
    _add_text(cal, "X-WR-CALNAME", name)
    _add_text(cal, "X-WR-CALDESC", description)
    cal.add("X-WR-TIMEZONE", zone)
    cal.add("REFRESH-INTERVAL", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
    cal.add("X-PUBLISHED-TTL", icalendar.vDuration(REFRESH_INTERVAL))
    return cal.to_ical().removesuffix(b"END:VCALENDAR\r\n")


def assemble_feed(
    header: bytes, vevents: Iterable[str | bytes], tzids: Iterable[str | None]
) -> bytes:
    """A whole VCALENDAR from its header, cached VEVENTs and the TZIDs they use."""
    parts = [header]
    parts.extend(vtimezone(tzid) for tzid in sorted({t for t in tzids if t}))
    parts.extend(v.encode() if isinstance(v, str) else v for v in vevents)
    parts.append(b"END:VCALENDAR\r\n")
    return b"".join(parts)


def event_ics(event, *, url: str | None = None, stamp: dt.datetime | None = None) -> bytes:
    """A whole VCALENDAR with one event and its VTIMEZONE (for downloads and mail attachments)."""
    if url is None:
        url = event_url(event)
    stamp = stamp or dt.datetime.now(dt.UTC)
    vevent = build_vevent(event, stamp=stamp, url=url)
    return assemble_feed(calendar_header(event.title), [vevent], [event_tzid(event)])


def event_url(event, base_url: str | None = None) -> str | None:
    """The address a VEVENT links to: the public page for public events, else the staff page."""
    if base_url is None:
        try:
            from flask import current_app

            base_url = current_app.config["BASE_URL"]
        except RuntimeError:  # outside an application context there is no address to give
            return None
    base_url = base_url.rstrip("/")
    if event.visibility == Visibility.PUBLIC:
        return f"{base_url}/c/public#event-{event.id}"
    return f"{base_url}/events/{event.id}"
