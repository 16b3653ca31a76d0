"""Occurrences of a recurring event (RFC 5545 RRULE with EXDATE and RDATE) in a time range."""

import datetime as dt
from dataclasses import dataclass

from dateutil.rrule import rrulestr

from crm.calendars.ical import parse_recurrence_dates

# A rule such as FREQ=MINUTELY without an end could yield millions of instances.
MAX_OCCURRENCES = 1000


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
    zone = event.zone
    if event.is_all_day:
        first = dt.datetime.combine(event.start_on, dt.time())
        length = event.end_on - event.start_on
        window = (
            start.astimezone(zone).replace(tzinfo=None) - length - dt.timedelta(days=1),
            end.astimezone(zone).replace(tzinfo=None),
        )
    else:
        first = event.local_start
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
