"""Records as JSON-ready dicts: pure functions of the record (and `url_for` for links)."""

import datetime as dt
import logging

from flask import g, url_for

from crm.contacts.models import Contact, Membership
from crm.events.models import Event, Participation, ProgrammeItem
from crm.organisations.models import Organisation

log = logging.getLogger(__name__)
# What expanding a stored recurrence may raise (dateutil on a rule it cannot read, the runaway
# rules occurrences() refuses); as crm.reminders.jobs.UNREADABLE.
UNREADABLE = (ValueError, TypeError, OverflowError)


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _split(stored: str, separators: str) -> list[str]:
    """A list stored as delimited text ("nb, en") as a JSON list."""
    for separator in separators[1:]:
        stored = stored.replace(separator, separators[0])
    return [item.strip() for item in stored.split(separators[0]) if item.strip()]


def _value(member) -> str | None:
    return member.value if member is not None else None


def organisation_json(org: Organisation) -> dict:
    """An organisation as the API shows it."""
    return {
        "id": org.id,
        "name": org.name,
        "kind": _value(org.kind),
        "country": org.country,
        "city": org.city,
        "website": org.website,
        "tags": [tag.name for tag in org.tags],
        "notes": org.notes,
        "represented_country": org.represented_country,
        "twin_city_category": _value(org.twin_city_category),
        "twin_city_since": org.twin_city_since,
        "version": org.version,
        "url": url_for("organisations.show", org_id=org.id, _external=True),
    }


def membership_json(membership: Membership) -> dict:
    """A contact's membership in an organisation."""
    return {
        "organisation_id": membership.organisation_id,
        "name": membership.organisation.name,
        "role": membership.role,
        "starts_on": _iso(membership.starts_on),
        "ends_on": _iso(membership.ends_on),
    }


def contact_json(contact: Contact, *, sensitive: bool = False) -> dict:
    """A contact; dietary and access needs only when `sensitive` (an editor's single read)."""
    data = {
        "id": contact.id,
        "name": contact.name,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "title": contact.title,
        "email": contact.email,
        "other_emails": _split(contact.other_emails, "\n,"),
        "phone": contact.phone,
        "languages": _split(contact.languages, ","),
        "preferred_language": _value(contact.preferred_language),
        "nationality": contact.nationality,
        "tags": [tag.name for tag in contact.tags],
        "organisations": [membership_json(m) for m in contact.memberships],
        "version": contact.version,
        "url": url_for("contacts.show", contact_id=contact.id, _external=True),
    }
    if sensitive:
        data["dietary_needs"] = contact.dietary_needs
        data["access_needs"] = contact.access_needs
    return data


def programme_item_json(item: ProgrammeItem, zone) -> dict:
    """One slot of a programme, its times in the event's zone."""
    return {
        "id": item.id,
        "starts_at": _iso(item.starts_at.astimezone(zone)),
        "ends_at": _iso(item.ends_at.astimezone(zone) if item.ends_at else None),
        "place": item.place,
        "title": item.title,
        "who": item.who,
    }


def participation_json(participation: Participation) -> dict:
    """An organisation or contact taking part in an event."""
    participant = participation.organisation or participation.contact
    return {
        "id": participation.id,
        "organisation_id": participation.organisation_id,
        "contact_id": participation.contact_id,
        "name": participant.name if participant is not None else "",
        "role": _value(participation.role),
    }


# The Event columns `event_calendar_json` and the expansion of a series
# (crm.events.recurrence.occurrences) read; a calendar's query loads only these.
EVENT_CALENDAR_COLUMNS = (
    Event.id,
    Event.uid,
    Event.title,
    Event.kind,
    Event.status,
    Event.visibility,
    Event.timezone,
    Event.is_all_day,
    Event.starts_at,
    Event.ends_at,
    Event.start_on,
    Event.end_on,
    Event.rrule,
    Event.exdates,
    Event.rdates,
)


class CalendarEvent:
    """One event's EVENT_CALENDAR_COLUMNS as a plain object, for a calendar's range query.

    A month has hundreds of events: loading them as ORM objects cost three times the query
    itself. Times and zone behave as on `Event` (the same properties).
    """

    __slots__ = tuple(column.key for column in EVENT_CALENDAR_COLUMNS)
    zone = Event.zone
    local_start = Event.local_start
    local_end = Event.local_end

    def __init__(self, row) -> None:
        for name, value in zip(self.__slots__, row, strict=True):
            setattr(self, name, value)


def _event_url(event_id: int) -> str:
    """The event page's address; url_for once per request (a month has hundreds of events)."""
    prefix = g.get("_event_url_prefix")
    if prefix is None:
        prefix = g._event_url_prefix = url_for("events.show", event_id=0, _external=True)[:-1]
    return f"{prefix}{event_id}"


def event_calendar_json(event: Event) -> dict:
    """What a calendar draws of an event: `event_json`'s keys for time, kind and link only."""
    zone = event.zone
    all_day = bool(event.is_all_day)
    return {
        "id": event.id,
        "uid": event.uid,
        "title": event.title,
        "kind": _value(event.kind),
        "status": _value(event.status),
        "visibility": _value(event.visibility),
        "all_day": all_day,
        "starts_at": None if all_day else _iso(event.starts_at.astimezone(zone)),
        "ends_at": None if all_day else _iso(event.ends_at.astimezone(zone)),
        "start_date": _iso(event.start_on) if all_day else None,
        "end_date": _iso(event.end_on) if all_day else None,
        "timezone": event.timezone,
        "url": _event_url(event.id),
    }


def event_json(event: Event) -> dict:
    """An event; times with their offset in the event's zone, or dates when all day."""
    zone = event.zone
    return {
        **event_calendar_json(event),
        "venue": event.venue,
        "description": event.description,
        "outcome_notes": event.outcome_notes,
        "expected_attendance": event.expected_attendance,
        "actual_attendance": event.actual_attendance,
        "responsible": event.responsible.email if event.responsible else None,
        "countries": [c.country for c in event.countries],
        "tags": [tag.name for tag in event.tags],
        "programme": [programme_item_json(item, zone) for item in event.programme],
        "participations": [participation_json(p) for p in event.participations],
        "updated_at": _iso(event.updated_at),
        "version": event.version,
    }


def event_occurrences_json(event: Event, start, end, serialise=event_json) -> list[dict]:
    """The event once per instance overlapping [start, end) (a non-recurring event: once).

    Each instance of a recurring event carries its own times and `"recurring": true`;
    `serialise` (`event_json` or `event_calendar_json`) gives the rest of the item.
    """
    from crm.events.recurrence import occurrences

    base = serialise(event)
    if not event.rrule:
        return [base]
    try:
        found = occurrences(event, start, end)
    except UNREADABLE as error:
        # a rule stored before rules were checked: the calendar still shows the first instance
        log.warning("event %s: unreadable recurrence, first instance only: %s", event.id, error)
        in_range = event.ends_at > start and event.starts_at < end
        return [dict(base, recurring=True)] if in_range else []
    items = []
    for occurrence in found:
        item = dict(base, recurring=True)
        if event.is_all_day:
            item.update(start_date=_iso(occurrence.start_on), end_date=_iso(occurrence.end_on))
        else:
            item.update(
                starts_at=_iso(occurrence.starts_at.astimezone(event.zone)),
                ends_at=_iso(occurrence.ends_at.astimezone(event.zone)),
            )
        items.append(item)
    return items
