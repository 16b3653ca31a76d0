"""Recurring events (RFC 5545 RRULE with EXDATE and RDATE): occurrences in a time range, and the
simple repetitions the event form offers, as RRULE values and back, and checked.
"""

import datetime as dt
import itertools
import re
import sys
import time
import warnings
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from flask_babel import gettext as _
from icalendar.prop import vRecur

from crm.calendars.ical import parse_recurrence_dates

# A rule such as FREQ=MINUTELY without an end could yield millions of instances.
MAX_OCCURRENCES = 1000
# The most times the event form lets a series take place ("number of times").
MAX_COUNT = 500
# The form's choices: its value → (FREQ, INTERVAL).
FREQUENCIES: dict[str, tuple[str, int]] = {
    "daily": ("DAILY", 1),
    "weekly": ("WEEKLY", 1),
    "fortnightly": ("WEEKLY", 2),
    "monthly": ("MONTHLY", 1),
    "yearly": ("YEARLY", 1),
}


@dataclass(frozen=True)
class Occurrence:
    """One instance: instants for a timed event, inclusive dates for an all-day one."""

    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    start_on: dt.date | None = None
    end_on: dt.date | None = None


def occurrences(event, start: dt.datetime, end: dt.datetime) -> list[Occurrence]:
    """The event's instances overlapping [start, end) (one, unchanged, when it does not recur).

    Recurrence follows local wall-clock time in the event's zone, as RFC 5545 asks: a weekly
    10:00 meeting stays at 10:00 across the DST change.
    """
    if not event.rrule:
        return [_as_occurrence(event, event.local_start, event.start_on)]
    # A rule stored before check_rrule refused it (INTERVAL=0, BYMONTH=13, FREQ=MINUTELY) would
    # keep dateutil busy for minutes or for ever: raise, as for any rule it cannot read.
    _check_bounds(_pairs(_unprefixed(event.rrule).upper()))
    zone = event.zone
    first = series_start(event)
    if event.is_all_day:
        length = event.end_on - event.start_on
        window = (
            start.astimezone(zone).replace(tzinfo=None) - length - dt.timedelta(days=1),
            end.astimezone(zone).replace(tzinfo=None),
        )
    else:
        length = event.ends_at - event.starts_at
        window = (start - length, end)
    rule = rrulestr(event.rrule.removeprefix("RRULE:"), dtstart=first, forceset=True)
    for value in parse_recurrence_dates(event.rdates, event.timezone, event.is_all_day):
        rule.rdate(_as_start(value))
    for value in parse_recurrence_dates(event.exdates, event.timezone, event.is_all_day):
        rule.exdate(_as_start(value, zone))
    found = []
    for instant in rule.xafter(window[0], count=MAX_OCCURRENCES, inc=True):
        if instant >= window[1]:
            break
        if event.is_all_day:
            day = instant.date()
            occurrence = Occurrence(start_on=day, end_on=day + length)
            day_start = dt.datetime.combine(day, dt.time(), zone)
            if day_start + length + dt.timedelta(days=1) <= start or day_start >= end:
                continue
        else:
            occurrence = Occurrence(starts_at=instant, ends_at=instant + length)
            if occurrence.ends_at <= start:
                continue
        found.append(occurrence)
    return found


def _as_start(value, zone=None):
    if isinstance(value, dt.datetime):
        return value.astimezone(zone) if zone else value
    return dt.datetime.combine(value, dt.time())


def _as_occurrence(event, local_start, start_on) -> Occurrence:
    if event.is_all_day:
        return Occurrence(start_on=start_on, end_on=event.end_on)
    return Occurrence(starts_at=local_start, ends_at=event.local_end)


def series_start(event) -> dt.datetime:
    """The series' DTSTART as the rule is expanded from: local wall time for a timed event
    (aware, in its zone), midnight of the first day for an all-day one (naive)."""
    if event.is_all_day:
        return dt.datetime.combine(event.start_on, dt.time())
    return event.local_start


@dataclass(frozen=True)
class Repetition:
    """What the event form says of a series: how often, and until a day or how many times.

    `frequency` is "" (does not repeat) or a key of FREQUENCIES; at most one of `until` (the
    last day, inclusive) and `count` is set, neither for a series without end.
    """

    frequency: str = ""
    until: dt.date | None = None
    count: int | None = None


def build_rrule(repetition: Repetition, *, zone: str, all_day: bool) -> str:
    """The RRULE value (without the "RRULE:" name) for a simple repetition; "" for none.

    UNTIL is what RFC 5545 asks for: a DATE for an all-day event; for a timed one the UTC
    instant (YYYYMMDDTHHMMSSZ) of the last second of the until-day in the event's zone, so an
    instance on that day counts whatever its time and whatever the clocks do that night.
    """
    if not repetition.frequency:
        return ""
    freq, interval = FREQUENCIES[repetition.frequency]
    parts = [f"FREQ={freq}"]
    if interval != 1:
        parts.append(f"INTERVAL={interval}")
    if repetition.until is not None:
        if all_day:
            parts.append(f"UNTIL={repetition.until:%Y%m%d}")
        else:
            next_day = dt.datetime.combine(repetition.until + dt.timedelta(days=1), dt.time())
            end = next_day.replace(tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)
            parts.append(f"UNTIL={end - dt.timedelta(seconds=1):%Y%m%dT%H%M%SZ}")
    elif repetition.count is not None:
        parts.append(f"COUNT={repetition.count}")
    return ";".join(parts)


def parse_rrule(rule: str, *, start: dt.date | dt.datetime, zone: str) -> Repetition | None:
    """The simple repetition an RRULE value says, or None when the event form cannot say it.

    `start` is the series' first start: a date for an all-day event, an aware datetime for a
    timed one. The inverse of `build_rrule`, and exact for rules written elsewhere too: a
    UTC UNTIL becomes the last day in the event's zone on which an instance (at the series'
    wall-clock start time) still begins at or before it.
    """
    value = _unprefixed(rule).upper()
    if not value:
        return Repetition()
    parts: dict[str, str] = {}
    for part in value.split(";"):
        name, sep, item = part.partition("=")
        if not sep or name in parts:
            return None
        parts[name] = item
    if not set(parts) <= {"FREQ", "INTERVAL", "UNTIL", "COUNT"} or not (
        parts.get("INTERVAL", "1").isdigit()
    ):
        return None
    wanted = (parts.get("FREQ"), int(parts.get("INTERVAL", "1")))
    frequency = next((key for key, found in FREQUENCIES.items() if found == wanted), None)
    if frequency is None or ("UNTIL" in parts and "COUNT" in parts):
        return None
    if "COUNT" in parts:
        count = parts["COUNT"]
        if not count.isdigit() or not 1 <= int(count) <= MAX_COUNT:
            return None
        return Repetition(frequency, count=int(count))
    if "UNTIL" in parts:
        until = _until_day(parts["UNTIL"], start, zone)
        return None if until is None else Repetition(frequency, until=until)
    return Repetition(frequency)


def _unprefixed(rule: str | None) -> str:
    value = (rule or "").strip()
    return value[len("RRULE:") :] if value.upper().startswith("RRULE:") else value


def _until_day(value: str, start: dt.date | dt.datetime, zone: str) -> dt.date | None:
    if not isinstance(start, dt.datetime):
        if not re.fullmatch(r"\d{8}", value):
            return None
        return _strptime(value, "%Y%m%d")
    if not re.fullmatch(r"\d{8}T\d{6}Z", value):
        return None
    instant = _strptime(value, "%Y%m%dT%H%M%SZ")
    if instant is None:
        return None
    tz = ZoneInfo(zone)
    local = instant.replace(tzinfo=dt.UTC).astimezone(tz)
    if local.time() < start.astimezone(tz).time():
        return local.date() - dt.timedelta(days=1)  # that day's instance begins after UNTIL
    return local.date()


def _strptime(value: str, fmt: str):
    try:
        parsed = dt.datetime.strptime(value, fmt)
    except ValueError:
        return None
    return parsed if "H" in fmt else parsed.date()


class RuleError(ValueError):
    """Why an RRULE value was refused: `reason` is one of REASONS, `detail` the part at fault
    where one part is ("BYMONTH=13", "SECONDLY"), else ""."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


REASONS = (
    "syntax",  # not an RRULE value calendars read
    "frequency",  # FREQ=SECONDLY or MINUTELY
    "interval",  # INTERVAL=0
    "out_of_range",  # a BYxxx value outside its range (BYMONTH=13)
    "count",  # COUNT=0
    "count_and_until",
    "until_kind",  # a DATE UNTIL for a timed series, a date-time for an all-day one
    "until_before_start",
    "too_complex",  # its first instances take too long to work out
    "no_instances",  # it never takes place
)


def rule_error_message(error: RuleError) -> str:
    """Why a rule was refused, for a user, in the request's language."""
    messages = {
        "frequency": _(
            "An event cannot repeat every second or every minute (FREQ=%(freq)s); "
            "the most often is every hour (FREQ=HOURLY).",
            freq=error.detail,
        ),
        "interval": _("The rule's interval (INTERVAL) must be 1 or more."),
        "out_of_range": _("The value %(part)s in the rule is out of range.", part=error.detail),
        "count": _("The rule must let the event take place at least once (COUNT=1 or more)."),
        "count_and_until": _(
            "A rule ends on a date (UNTIL) or after a number of times (COUNT), not both."
        ),
        "until_kind": _(
            "The rule's end (UNTIL) must be a date (20270303) for an all-day event and a "
            "UTC time (20270303T225959Z) for an event with times."
        ),
        "until_before_start": _("The repetition must not end before the event starts."),
        "too_complex": _("The rule is too complex: working out its first dates takes too long."),
        "no_instances": _("The rule never lets the event take place."),
    }
    return messages.get(
        error.reason,
        _(
            "This is not a repetition rule calendars understand (an RFC 5545 RRULE such "
            "as FREQ=WEEKLY;COUNT=10)."
        ),
    )


_WEEKDAY = r"(?:MO|TU|WE|TH|FR|SA|SU)"
_FREQS = {"SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
# An office calendar has no use for them, and dateutil steps through every second or minute
# from the first start to the range a page asks for.
_TOO_FREQUENT = {"SECONDLY", "MINUTELY"}
# RFC 5545 §3.3.10: each BYxxx list's range, and whether its values may count from the end.
# dateutil accepts some values outside them (BYMONTH=13) and then looks for an instance until
# the year 9999.
_BY_RANGES = {
    "BYSECOND": (0, 60, False),
    "BYMINUTE": (0, 59, False),
    "BYHOUR": (0, 23, False),
    "BYMONTHDAY": (1, 31, True),
    "BYYEARDAY": (1, 366, True),
    "BYWEEKNO": (1, 53, True),
    "BYMONTH": (1, 12, False),
    "BYSETPOS": (1, 366, True),
}
# check_rrule works out this many instances, within this much CPU time. A rule calendars use
# needs well under a millisecond; one that never matches (FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30)
# would keep dateutil busy for seconds on every page showing it.
PROBE_INSTANCES = 3
PROBE_SECONDS = 0.1


def check_rrule(rule: str | None, first: dt.datetime) -> str:
    """An RRULE value checked against the series' `first` start (see `series_start`).

    Returns it as stored (upper case, without "RRULE:"; "" for none), or raises RuleError.
    Beyond dateutil and icalendar, which read it for pages and feeds, it refuses what they
    would accept and then misread or loop on for minutes or forever (INTERVAL=0, BYMONTH=13,
    FREQ=SECONDLY or MINUTELY, COUNT and UNTIL together), an UNTIL of the wrong kind (a DATE
    for an all-day event, naive `first`; a UTC time ending in Z for a timed one), and a rule
    whose first instances cannot be worked out quickly, or that has none.
    """
    value = _unprefixed(rule).upper()
    if not value:
        return ""
    if len(value) > 500 or not re.fullmatch(r"[A-Z0-9;=,+\-]+", value):
        raise RuleError("syntax")
    pairs = _pairs(value)
    parts = dict(pairs)
    if len(parts) != len(pairs) or not all(name and item for name, item in pairs):
        raise RuleError("syntax")
    if parts.get("FREQ") not in _FREQS or not set(parts) <= {
        "FREQ",
        "UNTIL",
        "COUNT",
        "INTERVAL",
        "BYDAY",
        "WKST",
        *_BY_RANGES,
    }:
        raise RuleError("syntax")
    if "WKST" in parts and not re.fullmatch(_WEEKDAY, parts["WKST"]):
        raise RuleError("syntax")
    _check_bounds(pairs, strict=True)
    if "COUNT" in parts:
        if not parts["COUNT"].isdigit():
            raise RuleError("syntax")
        if int(parts["COUNT"]) < 1:
            raise RuleError("count")
        if "UNTIL" in parts:
            raise RuleError("count_and_until")
    if "UNTIL" in parts:
        _check_until(parts["UNTIL"], first)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            series = rrulestr(value, dtstart=first, forceset=True)
        vRecur.from_ical(value)
    except (ValueError, TypeError, OverflowError, Warning):
        raise RuleError("syntax") from None
    _probe(series)
    return value


def _pairs(value: str) -> list[tuple[str, str]]:
    """A rule's NAME=VALUE parts in order ("" for the name of a part without "=")."""
    pairs = []
    for part in value.split(";"):
        name, sep, item = part.partition("=")
        pairs.append((name if sep else "", item))
    return pairs


def _check_bounds(pairs: list[tuple[str, str]], *, strict: bool = False) -> None:
    """Refuse what keeps dateutil busy for minutes or for ever: FREQ=SECONDLY or MINUTELY,
    an INTERVAL below 1, a BYxxx value outside RFC 5545's range.

    `strict` also refuses a malformed number or BYDAY; otherwise (occurrences(), on a stored
    rule) those are left for dateutil to read or refuse, as before.
    """
    for name, item in pairs:
        if name == "FREQ" and item in _TOO_FREQUENT:
            raise RuleError("frequency", item)
        if name == "INTERVAL":
            interval = _number(item, strict)
            if interval is not None and interval < 1:
                raise RuleError("interval")
        if name == "BYDAY":
            for day in item.split(","):
                match = re.fullmatch(r"[+-]?(\d+)?" + _WEEKDAY, day)
                if match is None and strict:
                    raise RuleError("syntax")
                if match and match.group(1) and not 1 <= int(match.group(1)) <= 53:
                    raise RuleError("out_of_range", f"{name}={day}")
        if name in _BY_RANGES:
            low, high, signed = _BY_RANGES[name]
            for text in item.split(","):
                number = _number(text, strict, signed)
                if number is not None and not low <= abs(number) <= high:
                    raise RuleError("out_of_range", f"{name}={text}")


def _number(text: str, strict: bool, signed: bool = False) -> int | None:
    """A whole number as RFC 5545 writes it (signed only where `signed`), else RuleError when
    `strict`; else as dateutil reads it (any sign), or None when it cannot."""
    if re.fullmatch(r"[+-]?\d+" if signed or not strict else r"\d+", text):
        return int(text)
    if strict:
        raise RuleError("syntax")
    return None


class _OutOfTime(Exception):
    """The probe's CPU time is spent."""


def _probe(series) -> None:
    """Work out the series' first instances within PROBE_SECONDS of CPU time.

    dateutil cannot be stopped from outside, and between two instances it may loop for
    seconds without returning; a trace function, called at each Python call it makes (every
    step of its loop), stops it once the time is spent.
    """
    previous = sys.gettrace()  # a debugger's or coverage's, called on as before
    deadline = time.thread_time() + PROBE_SECONDS
    calls = 0

    def trace(frame, event, arg):
        nonlocal calls
        calls += 1
        if not calls % 64 and time.thread_time() > deadline:
            raise _OutOfTime
        return previous(frame, event, arg) if previous is not None else None

    sys.settrace(trace)
    try:
        found = list(itertools.islice(series, PROBE_INSTANCES))
    except _OutOfTime:
        raise RuleError("too_complex") from None
    except (ValueError, TypeError, OverflowError):
        raise RuleError("syntax") from None
    finally:
        sys.settrace(previous)
    if not found:
        raise RuleError("no_instances")


def _check_until(value: str, first: dt.datetime) -> None:
    if first.tzinfo is None:
        until = _strptime(value, "%Y%m%d") if re.fullmatch(r"\d{8}", value) else None
        if until is None:
            raise RuleError("until_kind")
        if until < first.date():
            raise RuleError("until_before_start")
        return
    timed = re.fullmatch(r"\d{8}T\d{6}Z", value)
    instant = _strptime(value, "%Y%m%dT%H%M%SZ") if timed else None
    if instant is None:
        raise RuleError("until_kind")
    if instant.replace(tzinfo=dt.UTC) < first:
        raise RuleError("until_before_start")


def event_repetition(event) -> Repetition | None:
    """The event's repetition as the form shows it (None: a rule the form cannot show)."""
    start = event.start_on if event.is_all_day else event.local_start
    return parse_rrule(event.rrule, start=start, zone=event.timezone)
