"""Read .ics files exported by Outlook, Google, Apple and others, and upsert their events by UID.

What real exports contain and how it is read:
- Windows zone names (`W. Europe Standard Time`, `(UTC-05:00) Eastern Time (US & Canada)`)
  without VTIMEZONE: mapped to IANA zones.
- `X-WR-TIMEZONE` (Google) with floating or UTC times: the calendar's zone; floating times
  without it are in the office's zone.
- An override of one occurrence (RECURRENCE-ID) becomes an EXDATE on its series plus an event
  of its own whose UID is the series' UID followed by `/` and the occurrence; a cancelled
  occurrence becomes only the EXDATE. Exporting and importing again gives the same events.
- Events without a UID (Outlook Web Access) get one derived from their content, so importing
  the same file twice finds them again.
- CLASS:PRIVATE or CONFIDENTIAL makes an event internal.
- RRULE is checked as the event form checks one (check_rrule), after its UNTIL is made of the
  kind RFC 5545 asks for where the file's says plainly which instance is the last (Outlook's
  local-time UNTIL on a TZID event, a date-time UNTIL on an all-day one: _canonical_until).
  A rule that cannot be used (INTERVAL=0, BYMONTH=13, FREQ=SECONDLY, one that never takes
  place or takes too long to work out) makes its event an error; so do unreadable EXDATE and
  RDATE values.

A file that cannot be read at all raises ImportFileError naming the line; an event that cannot
be read becomes an item with an error and is left out, and the rest imports in one transaction.
"""

import codecs
import datetime as dt
import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
from flask_babel import gettext as _
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crm.calendars.ical import DEFAULT_ZONE, format_recurrence_dates, parse_recurrence_dates
from crm.calendars.models import Calendar
from crm.db import utcnow
from crm.enums import EventKind, EventStatus, Visibility
from crm.errors import ServiceError
from crm.events import recurrence  # a module: crm.events imports this one as it loads
from crm.events.models import Event
from crm.extensions import db
from crm.tags import get_tags, parse_tags
from crm.timeutil import in_bounds, out_of_bounds_message

# Outlook's display names ("(UTC+01:00) Amsterdam, Berlin, ...") for the zones met most often.
WINDOWS_DISPLAY_NAMES = {
    "amsterdam, berlin, bern, rome, stockholm, vienna": "Europe/Berlin",
    "belgrade, bratislava, budapest, ljubljana, prague": "Europe/Budapest",
    "brussels, copenhagen, madrid, paris": "Europe/Paris",
    "sarajevo, skopje, warsaw, zagreb": "Europe/Warsaw",
    "dublin, edinburgh, lisbon, london": "Europe/London",
    "helsinki, kyiv, riga, sofia, tallinn, vilnius": "Europe/Helsinki",
    "athens, bucharest": "Europe/Bucharest",
    "moscow, st. petersburg": "Europe/Moscow",
    "istanbul": "Europe/Istanbul",
    "eastern time (us & canada)": "America/New_York",
    "central time (us & canada)": "America/Chicago",
    "mountain time (us & canada)": "America/Denver",
    "pacific time (us & canada)": "America/Los_Angeles",
    "beijing, chongqing, hong kong, urumqi": "Asia/Shanghai",
    "osaka, sapporo, tokyo": "Asia/Tokyo",
    "seoul": "Asia/Seoul",
    "chennai, kolkata, mumbai, new delhi": "Asia/Kolkata",
    "canberra, melbourne, sydney": "Australia/Sydney",
    "coordinated universal time": "UTC",
}
# The CPU time the check of a whole file's repetition rules may take (see _RuleBudget).
RULES_SECONDS = 3.0
_DISPLAY_NAME = re.compile(r"^\(UTC(?:([+-])(\d{2}):(\d{2}))?\)\s*(.*)$")
_CONTENT_LINE = re.compile(
    r'^[A-Za-z0-9-]+(?:;[A-Za-z0-9-]+=(?:"[^"]*"|[^";:,]*)(?:,(?:"[^"]*"|[^";:,]*))*)*:'
)


# Where each component may appear (RFC 5545); others (X- components) may appear anywhere.
_CALENDAR_CHILD = ("VCALENDAR",)
_PARENTS = {
    "VCALENDAR": (),
    "VEVENT": _CALENDAR_CHILD,
    "VTODO": _CALENDAR_CHILD,
    "VJOURNAL": _CALENDAR_CHILD,
    "VFREEBUSY": _CALENDAR_CHILD,
    "VTIMEZONE": _CALENDAR_CHILD,
    "STANDARD": ("VTIMEZONE",),
    "DAYLIGHT": ("VTIMEZONE",),
    "VALARM": ("VEVENT", "VTODO"),
}


class ImportFileError(ServiceError):
    """The file cannot be read at all; nothing was imported."""


class _PropertyError(ValueError):
    """One property of an event cannot be read; `name` finds its line."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name
        self.message = message


@dataclass
class ImportItem:
    """One event of the file, what the import would do with it, or why it cannot."""

    line: int | None
    uid: str = ""
    title: str = ""
    data: dict = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    error: str | None = None
    action: str = ""  # new | changed | unchanged | error
    recurrence_id: dt.date | dt.datetime | None = None
    sequence: int = 0
    is_private: bool = False

    @property
    def starts(self) -> dt.date | dt.datetime | None:
        return (
            self.data.get("start_on") if self.data.get("is_all_day") else self.data.get("starts_at")
        )


@dataclass
class ImportResult:
    """What an import did."""

    items: list[ImportItem]

    def count(self, action: str) -> int:
        """How many items had this action."""
        return sum(1 for item in self.items if item.action == action)


def resolve_zone(tzid: str | None) -> str | None:
    """An IANA zone name for a TZID from any client, or None if it is unknown."""
    if not tzid:
        return None
    name = tzid.strip().strip('"').strip("/")
    for candidate in (name, WINDOWS_TO_OLSON.get(name)):
        if candidate:
            try:
                ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
            return candidate
    match = _DISPLAY_NAME.match(name)
    if match:
        sign, hours, minutes, place = match.groups()
        known = WINDOWS_DISPLAY_NAMES.get(place.strip().lower())
        if known:
            return known
        if sign is None:
            return "UTC"
        if minutes == "00":
            # Etc/GMT zones count the other way round: UTC+05:00 is Etc/GMT-5.
            return f"Etc/GMT{'-' if sign == '+' else '+'}{int(hours)}"
    if "/" in name:  # a "globally unique" TZID such as /mozilla.org/20050126_1/Europe/Oslo
        parts = name.split("/")
        for start in range(1, len(parts)):
            found = resolve_zone("/".join(parts[start:]))
            if found:
                return found
    return None


def decode(content: bytes) -> str:
    """The file's text: UTF-16 when it starts with its byte-order mark, else UTF-8 (with or
    without one), else Windows-1252."""
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return content.decode("utf-16", errors="replace")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="replace")
    return text


def check_structure(text: str) -> list[tuple[int, dict[str, int]]]:
    """Check the file's lines and BEGIN/END nesting.

    Returns, for each VEVENT, its BEGIN line and the line of each of its properties.

    Raises ImportFileError naming the first line that is wrong.
    """
    stack: list[tuple[str, int]] = []
    vevent_lines: list[tuple[int, dict[str, int]]] = []
    calendars = 0
    logical: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line[:1] in (" ", "\t") and logical:
            logical[-1] = (logical[-1][0], logical[-1][1] + line[1:])
        elif line.strip():
            logical.append((number, line))
    for number, line in logical:
        if "\x00" in line:  # binary, or a text no database column can hold
            raise ImportFileError(
                _(
                    "Line %(line)s contains a NUL character: this is not a text calendar file.",
                    line=number,
                )
            )
        if not _CONTENT_LINE.match(line):
            raise ImportFileError(
                _(
                    "Line %(line)s is not an iCalendar line: %(text)s",
                    line=number,
                    text="".join(c if c.isprintable() else "\ufffd" for c in line[:60]),
                )
            )
        name, _sep, value = line.partition(":")
        name = name.split(";")[0].upper()
        if name == "BEGIN":
            component = value.strip().upper()
            if not stack and component != "VCALENDAR":
                raise ImportFileError(_("Line %(line)s: expected BEGIN:VCALENDAR.", line=number))
            parent = stack[-1][0] if stack else None
            allowed = _PARENTS.get(component)
            if stack and allowed is not None and parent not in allowed:
                raise ImportFileError(
                    _(
                        "Line %(line)s: BEGIN:%(name)s inside %(parent)s; is an END line missing?",
                        line=number,
                        name=component,
                        parent=parent,
                    )
                )
            if component == "VCALENDAR":
                calendars += 1
            if component == "VEVENT":
                vevent_lines.append((number, {}))
            stack.append((component, number))
        elif name == "END":
            component = value.strip().upper()
            if not stack or stack[-1][0] != component:
                expected = stack[-1][0] if stack else "—"
                raise ImportFileError(
                    _(
                        "Line %(line)s: END:%(found)s where END:%(expected)s was expected.",
                        line=number,
                        found=component,
                        expected=expected,
                    )
                )
            stack.pop()
        elif not stack:
            raise ImportFileError(_("Line %(line)s is outside any calendar.", line=number))
        elif stack[-1][0] == "VEVENT":
            vevent_lines[-1][1].setdefault(name, number)
    if stack:
        component, number = stack[-1]
        raise ImportFileError(
            _("BEGIN:%(name)s on line %(line)s is never closed.", name=component, line=number)
        )
    if not calendars:
        raise ImportFileError(_("This is not an iCalendar file (no BEGIN:VCALENDAR)."))
    return vevent_lines


def parse_ics(content: bytes, *, default_zone: str = DEFAULT_ZONE) -> list[ImportItem]:
    """Read every event of the file (one or several VCALENDARs) into import items."""
    text = decode(content)
    vevent_lines = check_structure(text)
    normalised = "\r\n".join(text.splitlines()) + "\r\n"
    try:
        calendars = icalendar.Calendar.from_ical(normalised, multiple=True)
    except ValueError as error:
        raise ImportFileError(_("The file cannot be read: %(error)s", error=str(error))) from None
    items: list[ImportItem] = []
    position = 0
    budget = _RuleBudget(RULES_SECONDS)
    for cal in calendars:
        zone = resolve_zone(str(cal.get("X-WR-TIMEZONE", ""))) or default_zone
        for vevent in cal.walk("VEVENT"):
            line, props = vevent_lines[position] if position < len(vevent_lines) else (None, {})
            position += 1
            item = ImportItem(line=line)
            try:
                _read_vevent(vevent, item, zone, budget)
            except _PropertyError as error:
                at = props.get(error.name, line)
                item.error = _("Line %(line)s: %(error)s", line=at, error=error.message)
                item.action = "error"
            except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as error:
                item.error = _("Line %(line)s: %(error)s", line=line, error=str(error))
                item.action = "error"
            items.append(item)
    return _merge_overrides(items)


def _prop_error(vevent, name: str) -> str | None:
    for prop, message in getattr(vevent, "errors", []):
        if prop == name:
            return message
    return None


def _text(vevent, name: str) -> str:
    value = vevent.get(name)
    if value is None:
        return ""
    if isinstance(value, list):
        value = value[0]
    return str(value).strip()


def _read_time(vevent, name: str, zone: str) -> tuple[dt.date | dt.datetime, str]:
    """A DTSTART/DTEND value as a date or an aware datetime, and the zone it belongs to."""
    error = _prop_error(vevent, name)
    prop = vevent.get(name)
    if error or prop is None or not hasattr(prop, "dt"):
        raise _PropertyError(name, _("%(name)s cannot be read.", name=name))
    value = prop.dt
    if not in_bounds(value):  # an instant near year 1 or 9999 overflows in some zone
        raise _PropertyError(name, out_of_bounds_message())
    if not isinstance(value, dt.datetime):
        return value, zone
    tzid = prop.params.get("TZID")
    if value.tzinfo is None:
        if tzid:
            found = resolve_zone(tzid)
            if not found:
                raise _PropertyError(name, _("Unknown time zone %(zone)s.", zone=tzid))
            return value.replace(tzinfo=ZoneInfo(found)), found
        return value.replace(tzinfo=ZoneInfo(zone)), zone  # floating time
    key = getattr(value.tzinfo, "key", None)
    if key and key not in ("UTC", "Etc/UTC"):
        return value, key
    if tzid and resolve_zone(tzid):
        return value, resolve_zone(tzid)
    return value, zone  # UTC or a zone defined only by its VTIMEZONE: keep the instant


def _dates(vevent, name: str) -> list:
    values = vevent.get(name)
    if values is None:
        return []
    if not isinstance(values, list):
        values = [values]
    out = []
    for entry in values:
        tzid = entry.params.get("TZID") if hasattr(entry, "params") else None
        for item in getattr(entry, "dts", []):
            value = item.dt
            if isinstance(value, tuple):  # a PERIOD: its start
                value = value[0]
            if isinstance(value, dt.datetime) and value.tzinfo is None and tzid:
                found = resolve_zone(tzid)
                if found:
                    value = value.replace(tzinfo=ZoneInfo(found))
            out.append(value)
    return out


def _read_vevent(vevent, item: ImportItem, zone: str, budget: "_RuleBudget") -> None:
    start, event_zone = _read_time(vevent, "DTSTART", zone)
    all_day = not isinstance(start, dt.datetime)
    title = _text(vevent, "SUMMARY")
    data: dict = {
        "title": (title or _("(no title)"))[:200],
        "description": _text(vevent, "DESCRIPTION"),
        "venue": _text(vevent, "LOCATION")[:300],
        "is_all_day": all_day,
    }
    # the preview names an event whose recurrence cannot be used
    item.uid = _text(vevent, "UID")[:200] or _derived_uid(vevent)
    item.title = data["title"]
    status = _text(vevent, "STATUS").upper()
    data["status"] = {
        "CANCELLED": EventStatus.CANCELLED,
        "TENTATIVE": EventStatus.TENTATIVE,
    }.get(status, EventStatus.CONFIRMED)
    item.is_private = _text(vevent, "CLASS").upper() in ("PRIVATE", "CONFIDENTIAL")
    try:
        item.sequence = max(int(str(vevent.get("SEQUENCE", 0))), 0)
    except ValueError:
        item.sequence = 0
    if all_day:
        start_on = start
        if vevent.get("DTEND") is not None:
            end, _zone = _read_time(vevent, "DTEND", zone)
            end_day = end.date() if isinstance(end, dt.datetime) else end
            end_on = max(end_day - dt.timedelta(days=1), start_on)  # DTEND is exclusive
        elif vevent.get("DURATION") is not None:
            days = max(vevent["DURATION"].dt.days, 1)
            end_on = start_on + dt.timedelta(days=days - 1)
        else:
            end_on = start_on
        tz = ZoneInfo(event_zone)
        data.update(
            timezone=event_zone,
            start_on=start_on,
            end_on=end_on,
            starts_at=dt.datetime.combine(start_on, dt.time(0), tz),
            ends_at=dt.datetime.combine(end_on + dt.timedelta(days=1), dt.time(0), tz),
        )
    else:
        if vevent.get("DTEND") is not None:
            end, _zone = _read_time(vevent, "DTEND", event_zone)
            if not isinstance(end, dt.datetime):
                end = dt.datetime.combine(end, dt.time(0), ZoneInfo(event_zone))
        elif vevent.get("DURATION") is not None:
            end = start + vevent["DURATION"].dt
        else:
            end = start
        if end < start:
            raise ValueError(_("The event ends before it starts."))
        data.update(
            timezone=event_zone,
            start_on=None,
            end_on=None,
            starts_at=start.astimezone(dt.UTC),
            ends_at=end.astimezone(dt.UTC),
        )
    data["rrule"] = _read_rrule(vevent, data, budget)
    for name in ("EXDATE", "RDATE"):
        data[f"{name.lower()}s"] = _read_recurrence_dates(vevent, name, event_zone, all_day)
    categories = vevent.get("CATEGORIES")
    if categories is not None:
        cats = categories if isinstance(categories, list) else [categories]
        item.tags = parse_tags([str(c) for entry in cats for c in getattr(entry, "cats", [])])
    rid = vevent.get("RECURRENCE-ID")
    if rid is not None:
        value = rid.dt
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=ZoneInfo(resolve_zone(rid.params.get("TZID")) or zone))
        item.recurrence_id = value
    item.data = data


def _read_rrule(vevent, data: dict, budget: "_RuleBudget") -> str:
    """The event's RRULE as stored, its UNTIL made of the kind RFC 5545 asks for, checked as the
    event form checks one; _PropertyError saying why it cannot be used."""
    prop = vevent.get("RRULE")
    if isinstance(prop, list):
        prop = prop[0]
    if prop is None:
        return ""
    written = prop.to_ical().decode()
    if _prop_error(vevent, "RRULE") or not written:  # icalendar could not read it
        raise _PropertyError("RRULE", _rule_problem(recurrence.RuleError("syntax"), written))
    zone = data["timezone"]
    if data["is_all_day"]:
        first = dt.datetime.combine(data["start_on"], dt.time())
    else:
        first = data["starts_at"].astimezone(ZoneInfo(zone))
    try:
        return budget.check(_canonical_until(written, first, zone), first)
    except recurrence.RuleError as error:
        raise _PropertyError("RRULE", _rule_problem(error, written)) from None


def _rule_problem(error: "recurrence.RuleError", written: str) -> str:
    reason = recurrence.rule_error_message(error)
    if not written:
        return reason
    return _("%(reason)s (RRULE:%(rule)s)", reason=reason, rule=written[:120])


def _canonical_until(rule: str, first: dt.datetime, zone: str) -> str:
    """The rule with an UNTIL of the kind RFC 5545 asks for where the file's, though of another
    kind, says plainly which instance is the last; any other UNTIL is left for check_rrule.

    All-day series (naive `first`) want a DATE: a UTC time becomes the day it falls on in the
    event's zone (Outlook and Android write the last day's local midnight in UTC, and that
    day's instance, which begins at that midnight, is the last), a local time its own day.
    Timed series want a UTC time: a local time (floating, or Outlook's in the DTSTART's TZID)
    is read in the event's zone; a DATE means up to the end of that day, as the event form's
    "until" does.
    """
    parts = rule.split(";")
    for index, part in enumerate(parts):
        name, _sep, value = part.partition("=")
        if name.upper() == "UNTIL":
            parts[index] = f"{name}={_canonical_until_value(value.upper(), first, ZoneInfo(zone))}"
    return ";".join(parts)


def _canonical_until_value(value: str, first: dt.datetime, tz: ZoneInfo) -> str:
    try:
        if first.tzinfo is None:
            if re.fullmatch(r"\d{8}T\d{6}Z", value):
                instant = dt.datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
                return _ical_date(instant.astimezone(tz).date())
            if re.fullmatch(r"\d{8}T\d{6}", value):
                return _ical_date(dt.datetime.strptime(value, "%Y%m%dT%H%M%S").date())
        elif re.fullmatch(r"\d{8}T\d{6}", value):
            local = dt.datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=tz)
            return _ical_utc(local)
        elif re.fullmatch(r"\d{8}", value):
            day = dt.datetime.strptime(value, "%Y%m%d").date() + dt.timedelta(days=1)
            next_midnight = dt.datetime.combine(day, dt.time(), tz)
            return _ical_utc(next_midnight - dt.timedelta(seconds=1))
    except (ValueError, OverflowError):  # a day that does not exist, a year out of range
        pass
    return value


def _ical_date(day: dt.date) -> str:
    # by hand: strftime("%Y") does not pad years before 1000
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def _ical_utc(value: dt.datetime) -> str:
    instant = value.astimezone(dt.UTC)
    return f"{_ical_date(instant.date())}T{instant:%H%M%S}Z"


class _RuleBudget:
    """The CPU time a file's rule checks may take together: check_rrule bounds each rule's,
    but a file may hold thousands of rules."""

    def __init__(self, seconds: float):
        self.left = seconds

    def check(self, rule: str, first: dt.datetime) -> str:
        """check_rrule, counting the time it takes; ImportFileError once it is spent."""
        started = time.thread_time()
        try:
            return recurrence.check_rrule(rule, first)
        finally:
            self.left -= time.thread_time() - started
            if self.left < 0:
                raise ImportFileError(
                    _(
                        "The file's repetition rules take too long to work out; "
                        "nothing was imported."
                    )
                )


def _read_recurrence_dates(vevent, name: str, zone: str, all_day: bool) -> str:
    """EXDATE or RDATE values as stored; _PropertyError when they cannot be read."""
    problem = _PropertyError(name, _("%(name)s cannot be read.", name=name))
    if _prop_error(vevent, name):
        raise problem
    try:
        stored = format_recurrence_dates(_normalise(_dates(vevent, name), zone, all_day), zone)
        parse_recurrence_dates(stored, zone, all_day)  # as pages and feeds will read it
    except (ValueError, TypeError, OverflowError):
        raise problem from None
    return stored


def _normalise(values: list, zone: str, all_day: bool) -> list:
    """Naive values are in the event's zone; an all-day series excludes dates."""
    tz = ZoneInfo(zone)
    out = []
    for value in values:
        if isinstance(value, dt.datetime):
            value = value if value.tzinfo else value.replace(tzinfo=tz)
            out.append(value.astimezone(tz).date() if all_day else value)
        else:
            out.append(value if all_day else dt.datetime.combine(value, dt.time(0), tz))
    return out


def _derived_uid(vevent) -> str:
    """A stable UID for an event that has none: the hash of what identifies it."""
    parts = [
        vevent.get(name).to_ical().decode() if vevent.get(name) is not None else ""
        for name in ("SUMMARY", "DTSTART", "DTEND", "LOCATION")
    ]
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    return f"{digest}@import.vertskap"


def _occurrence_key(value: dt.date | dt.datetime) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return value.strftime("%Y%m%d")


def _merge_overrides(items: list[ImportItem]) -> list[ImportItem]:
    """Turn RECURRENCE-ID overrides into EXDATEs on their series plus events of their own."""
    masters = {i.uid: i for i in items if not i.error and i.recurrence_id is None}
    result: list[ImportItem] = []
    seen: set[str] = set()
    for item in items:
        if item.error:
            result.append(item)
            continue
        if item.recurrence_id is not None:
            master = masters.get(item.uid)
            if master is not None and master.data.get("rrule"):
                zone = master.data["timezone"]
                current = parse_recurrence_dates(
                    master.data["exdates"], zone, master.data["is_all_day"]
                )
                current += _normalise([item.recurrence_id], zone, master.data["is_all_day"])
                master.data["exdates"] = format_recurrence_dates(current, zone)
            if item.data["status"] == EventStatus.CANCELLED:
                continue  # a cancelled occurrence is only the EXDATE
            item.uid = f"{item.uid}/{_occurrence_key(item.recurrence_id)}"[:255]
            item.recurrence_id = None
        if item.uid in seen:
            item.error = _(
                "Line %(line)s: the UID %(uid)s appears twice.", line=item.line, uid=item.uid
            )
            item.action = "error"
        seen.add(item.uid)
        result.append(item)
    return result


COMPARED = (
    "title",
    "description",
    "venue",
    "status",
    "timezone",
    "is_all_day",
    "starts_at",
    "ends_at",
    "start_on",
    "end_on",
    "rrule",
    "exdates",
    "rdates",
)


def _differs(event: Event, item: ImportItem) -> bool:
    for key in COMPARED:
        if getattr(event, key) != item.data[key]:
            return True
    if event.deleted_at is not None:
        return True
    if item.is_private and event.visibility != Visibility.INTERNAL:
        return True
    return sorted(t.name for t in event.tags) != sorted(item.tags)


def _existing(uids: list[str]) -> dict[str, Event]:
    found: dict[str, Event] = {}
    for start in range(0, len(uids), 500):
        chunk = uids[start : start + 500]
        stmt = select(Event).where(Event.uid.in_(chunk)).options(selectinload(Event.tags))
        found.update({e.uid: e for e in db.session.scalars(stmt)})
    return found


def preview_import(content: bytes) -> ImportResult:
    """Read the file and say for each item whether it is new, changed, unchanged or an error."""
    items = parse_ics(content)
    existing = _existing([i.uid for i in items if not i.error])
    for item in items:
        if item.error:
            item.action = "error"
        elif item.uid not in existing:
            item.action = "new"
        else:
            item.action = "changed" if _differs(existing[item.uid], item) else "unchanged"
    return ImportResult(items)


def import_events(
    calendar: Calendar,
    content: bytes,
    *,
    progress: Callable[[ImportItem], None] | None = None,
) -> ImportResult:
    """Upsert the file's events by UID into the calendar (flushes; the caller commits once)."""
    result = preview_import(content)
    existing = _existing([i.uid for i in result.items if i.action in ("changed", "unchanged")])
    default_visibility = Visibility.PUBLIC if calendar.is_public else Visibility.PARTNERS
    in_calendar = {e.id for e in calendar.events}
    for item in result.items:
        if item.action == "error":
            if progress:
                progress(item)
            continue
        event = existing.get(item.uid)
        if event is None:
            event = Event(uid=item.uid, kind=EventKind.OTHER, sequence=item.sequence)
            event.visibility = default_visibility
            db.session.add(event)
        if item.action != "unchanged":
            for key, value in item.data.items():
                setattr(event, key, value)
            event.deleted_at = None
            if item.is_private:
                event.visibility = Visibility.INTERNAL
            event.sequence = max(event.sequence or 0, item.sequence)
            event.tags = get_tags(item.tags)
        if event.id is None or event.id not in in_calendar:
            calendar.events.append(event)
            if event.id is not None:
                in_calendar.add(event.id)
        if progress:
            progress(item)
    calendar.updated_at = utcnow()
    db.session.flush()
    return result
