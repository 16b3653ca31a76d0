"""Event forms: one page to log a visit with its programme and participants."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from crm.auth.models import User
from crm.enums import EventKind, EventStatus, ParticipationRole, Visibility
from crm.errors import ServiceError
from crm.events.models import Event
from crm.events.recurrence import (
    MAX_COUNT,
    Repetition,
    build_rrule,
    event_repetition,
    parse_rrule,
)
from crm.events.services import COMMON_ZONES, DEFAULT_ZONE, local_to_utc, resolve_participant
from crm.extensions import db
from crm.forms import DateInBounds, SubForm, TagsField, VersionField, apply_service_error
from crm.i18n import country_choices

TIME_FORMATS = ["%H:%M", "%H:%M:%S"]  # browsers send seconds when a step below 60 is set
PROGRAMME_ROWS = 3
PARTICIPANT_ROWS = 3


def add_error(field, message: str) -> None:
    """Append an error to a field whose errors may still be the initial tuple."""
    if isinstance(field.errors, tuple):
        field.errors = list(field.errors)
    field.errors.append(message)


def _checked_date(field) -> dt.date | None:
    """A date field's date, or None when it has errors (out of bounds: no instant to make)."""
    return None if field.errors else field.data


def _int_or_none(value):
    if value in (None, ""):
        return None
    return int(value)


class ProgrammeRowForm(SubForm):
    """One programme row: a date (default: the event's first day), times, place, what, who."""

    # The item the row shows, so saving the event updates it in place: its id, and the
    # details and links that hang on the id, stay.
    id = HiddenField()
    on = DateField(_l("Date"), validators=[Optional(), DateInBounds()])
    starts_at = TimeField(_l("Start"), format=TIME_FORMATS, validators=[Optional()])
    ends_at = TimeField(_l("End"), format=TIME_FORMATS, validators=[Optional()])
    place = StringField(_l("Place"), validators=[Optional(), Length(max=300)])
    title = StringField(_l("What"), validators=[Optional(), Length(max=300)])
    who = StringField(_l("Who"), validators=[Optional(), Length(max=2000)])

    def is_blank(self) -> bool:
        """A row left empty is ignored (the date alone does not count)."""
        return not any(
            str((f.raw_data[0] if f.raw_data else f.data) or "").strip()
            for f in (self.starts_at, self.ends_at, self.place, self.title, self.who)
        )


class ParticipantRowForm(SubForm):
    """One participant: organisation or contact, typed name (the picker fills the id), role."""

    kind = SelectField(
        _l("Kind"),
        choices=lambda: [("organisation", _l("Organisation")), ("contact", _l("Contact"))],
        default="organisation",
    )
    name = StringField(_l("Name"), validators=[Optional(), Length(max=300)])
    participant_id = HiddenField()
    role = SelectField(_l("Role"), choices=ParticipationRole.choices, default="guest")

    def is_blank(self) -> bool:
        """A row without a name is ignored."""
        return not (self.name.data or "").strip()

    def resolve(self) -> dict | None:
        """The row's participant as {"organisation_id"|"contact_id": id}, or None with errors."""
        return resolve_row(self)


def resolve_row(form) -> dict | None:
    """Resolve a form's kind/name/participant_id to a participant; on failure, a name error."""
    try:
        found = resolve_participant(
            kind=form.kind.data, name=form.name.data, participant_id=form.participant_id.data
        )
    except ServiceError as error:
        add_error(form.name, error.message)
        return None
    form.participant_id.data = str(next(iter(found.values())))
    return found


class ParticipantForm(FlaskForm):
    """Add one participant on the event's page."""

    kind = ParticipantRowForm.kind
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=300)])
    participant_id = HiddenField()
    role = ParticipantRowForm.role

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        self.found = resolve_row(self)
        return self.found is not None


def zone_choices(extra: str | None = None) -> list[tuple[str, str]]:
    """The common zones, plus the event's own when it is not among them."""
    zones = list(COMMON_ZONES)
    if extra and extra not in zones:
        zones.append(extra)
    return [(z, z.replace("_", " ")) for z in zones]


def repeat_choices() -> list[tuple[str, str]]:
    """The repetitions the form offers (values are keys of recurrence.FREQUENCIES)."""
    return [
        ("", _("Does not repeat")),
        ("daily", _("Every day")),
        ("weekly", _("Every week")),
        ("fortnightly", _("Every two weeks")),
        ("monthly", _("Every month")),
        ("yearly", _("Every year")),
    ]


class EventForm(FlaskForm):
    """An event with its programme and participants, saved in one POST."""

    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=EventKind.choices, default="delegation")
    status = SelectField(_l("Status"), choices=EventStatus.choices, default="confirmed")
    visibility = SelectField(_l("Visibility"), choices=Visibility.choices, default="internal")
    timezone = SelectField(
        _l("Time zone"),
        default=DEFAULT_ZONE,
        description=_l("Dates and times below are in this zone."),
    )
    is_all_day = BooleanField(_l("All day"), description=_l("The times are then ignored."))
    start_date = DateField(
        _l("Start date"),
        validators=[DataRequired(message=_l("Enter a start date.")), DateInBounds()],
    )
    start_time = TimeField(_l("Start time"), format=TIME_FORMATS, validators=[Optional()])
    end_date = DateField(
        _l("End date"),
        validators=[Optional(), DateInBounds()],
        description=_l("Empty: the start date."),
    )
    end_time = TimeField(_l("End time"), format=TIME_FORMATS, validators=[Optional()])
    repeats = SelectField(
        _l("Repeats"),
        choices=repeat_choices,
        default="",
        description=_l("Monthly and yearly on the same date; a month without it is skipped."),
    )
    repeat_until = DateField(
        _l("Repeat until"),
        validators=[Optional(), DateInBounds()],
        description=_l("The last day it may take place."),
    )
    repeat_count = IntegerField(
        _l("Number of times"),
        validators=[
            Optional(),
            NumberRange(min=1, max=MAX_COUNT, message=_l("Enter a number from 1 to %(max)d.")),
        ],
        description=_l("The first time included."),
    )
    repeat_stop = BooleanField(
        _l("Stop repeating"),
        description=_l("The event then takes place once; the dates the rule skips or adds go too."),
    )
    venue = StringField(_l("Venue"), validators=[Optional(), Length(max=300)])
    countries = SelectMultipleField(
        _l("Countries"),
        description=_l("Hold Ctrl (or ⌘) to choose several."),
        validate_choice=True,
    )
    responsible_id = SelectField(_l("Responsible"), coerce=_int_or_none)
    tags = TagsField(_l("Tags"), description=_l("Separate tags with commas."))
    expected_attendance = IntegerField(
        _l("Expected attendance"), validators=[Optional(), NumberRange(min=0)]
    )
    actual_attendance = IntegerField(
        _l("Actual attendance"), validators=[Optional(), NumberRange(min=0)]
    )
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=20000)])
    outcome_notes = TextAreaField(
        _l("Outcome and follow-up notes"), validators=[Optional(), Length(max=20000)]
    )
    programme = FieldList(FormField(ProgrammeRowForm), min_entries=PROGRAMME_ROWS)
    participations = FieldList(FormField(ParticipantRowForm), min_entries=PARTICIPANT_ROWS)
    version = VersionField()
    max_count = MAX_COUNT

    def __init__(self, *args, zone: str | None = None, event: Event | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # The event being edited: its stored rule is kept unless the repetition is changed.
        self.event = event
        # A rule the simple fields cannot show (imported BYDAY=MO,WE...): shown as it is.
        self.complex_rule = event.rrule if event and event_repetition(event) is None else ""
        self.has_recurrence_dates = bool(event and event.rrule and (event.exdates or event.rdates))
        self._repetition = Repetition()
        self.timezone.choices = zone_choices(zone)
        self.countries.choices = country_choices(blank=False)
        users = db.session.scalars(
            select(User).where(User.is_active_user.is_(True)).order_by(User.name, User.email)
        )
        self.responsible_id.choices = [("", "—")] + [(u.id, u.display_name) for u in users]
        self._programme_rows: list[int] = []
        self._participant_rows: list[int] = []
        self._programme: list[dict] = []
        self._participants: list[dict] = []
        self._starts_at = self._ends_at = None

    def ensure_blank_rows(self) -> None:
        """Keep at least one empty programme and participant row (three on a new form)."""
        for rows, least in ((self.programme, PROGRAMME_ROWS), (self.participations, 1)):
            while len(rows) < least or not any(e.form.is_blank() for e in rows):
                rows.append_entry()

    def validate(self, extra_validators=None) -> bool:
        """Field checks, then times in the event's zone, repetition and participant names."""
        super().validate(extra_validators)
        zone = self.timezone.data
        start_date, end_date = _checked_date(self.start_date), _checked_date(self.end_date)
        if not self.is_all_day.data and start_date:
            if self.start_time.data is None and not self.start_time.errors:
                add_error(self.start_time, _("Enter a start time, or tick “All day”."))
            if self.end_time.data is None and not self.end_time.errors:
                add_error(self.end_time, _("Enter an end time, or tick “All day”."))
            if self.start_time.data and self.end_time.data and not self.end_date.errors:
                self._starts_at = self._local(
                    start_date, self.start_time.data, zone, self.start_time
                )
                self._ends_at = self._local(
                    end_date or start_date, self.end_time.data, zone, self.end_time
                )
        self._repetition = self._repetition_data()
        if self.timezone.data in dict(self.timezone.choices):
            self._programme = self._programme_data(zone)
        self._participants = self._participant_data()
        # Every problem is a field's error, and end fields that do not count lost theirs.
        return not self._has_errors()

    def _repetition_data(self) -> Repetition:
        """The repetition asked for; the end fields count only when the event repeats."""
        if self.complex_rule or not self.repeats.data:
            for f in (self.repeat_until, self.repeat_count):
                f.errors = []
            return Repetition()
        until, count = self.repeat_until.data, self.repeat_count.data
        if until is not None and count is not None:
            add_error(self.repeat_count, _("Give an end date or a number of times, not both."))
        if until is not None and self.start_date.data and until < self.start_date.data:
            add_error(self.repeat_until, _("The repetition cannot end before the start date."))
        return Repetition(self.repeats.data, until=until, count=count)

    def rrule_data(self) -> dict:
        """{"rrule": ...} for a new event or a repetition changed on purpose; {} keeps the
        stored rule (and its EXDATEs and RDATEs) byte for byte."""
        all_day, zone = bool(self.is_all_day.data), self.timezone.data
        event = self.event
        if event is not None:
            if self.complex_rule:
                return {"rrule": ""} if self.repeat_stop.data else {}
            # Kept while it still says what the form says with the new times: an imported
            # UNTIL at 09:00Z means "until that day" only while the event starts by then.
            start = self.start_date.data if all_day else self._starts_at.astimezone(ZoneInfo(zone))
            if parse_rrule(event.rrule, start=start, zone=zone) == self._repetition:
                return {}
        return {"rrule": build_rrule(self._repetition, zone=zone, all_day=all_day)}

    def _local(self, day: dt.date, time: dt.time, zone: str, field):
        try:
            return local_to_utc(day, time, zone)
        except ServiceError as error:
            add_error(field, error.message)
            return None

    def _programme_data(self, zone: str) -> list[dict]:
        items = []
        self._programme_rows = []
        for index, entry in enumerate(self.programme):
            row = entry.form
            if row.is_blank():
                continue
            day = _checked_date(row.on) or _checked_date(self.start_date)
            item = {
                "id": row.id.data,
                "title": row.title.data,
                "place": row.place.data,
                "who": row.who.data,
            }
            item["starts_at"] = (
                self._local(day, row.starts_at.data, zone, row.starts_at)
                if day and row.starts_at.data
                else None
            )
            item["ends_at"] = (
                self._local(day, row.ends_at.data, zone, row.ends_at)
                if day and row.ends_at.data
                else None
            )
            items.append(item)
            self._programme_rows.append(index)
        return items

    def _participant_data(self) -> list[dict]:
        items = []
        self._participant_rows = []
        for index, entry in enumerate(self.participations):
            row = entry.form
            if row.is_blank() or row.errors:
                continue
            found = row.resolve()
            if found:
                items.append({**found, "role": row.role.data})
                self._participant_rows.append(index)
        return items

    def _has_errors(self) -> bool:
        if any(f.errors for f in self if f.type not in ("FieldList",)):
            return True
        return any(
            e.form.errors or any(f.errors for f in e.form)
            for rows in (self.programme, self.participations)
            for e in rows
        )

    def service_data(self) -> dict:
        """The validated form as keyword arguments for create_event / update_event."""
        all_day = bool(self.is_all_day.data)
        return {
            "title": self.title.data,
            "kind": self.kind.data,
            "status": self.status.data,
            "visibility": self.visibility.data,
            "timezone": self.timezone.data,
            "is_all_day": all_day,
            "starts_at": self._starts_at,
            "ends_at": self._ends_at,
            "start_on": self.start_date.data if all_day else None,
            "end_on": (self.end_date.data or self.start_date.data) if all_day else None,
            "venue": self.venue.data,
            "countries": self.countries.data or [],
            "responsible_id": self.responsible_id.data,
            "tags": self.tags.data if isinstance(self.tags.data, str) else "",
            "expected_attendance": self.expected_attendance.data,
            "actual_attendance": self.actual_attendance.data,
            "description": self.description.data,
            "outcome_notes": self.outcome_notes.data,
            "programme": self._programme,
            "participations": self._participants,
            **self.rrule_data(),
        }


_ROW_FIELD = re.compile(r"(programme|participations)-(\d+)-(\w+)")
_TIME_FIELD = {
    "starts_at": "start_time",
    "ends_at": "end_time",
    "start_on": "start_date",
    "end_on": "end_date",
}


def apply_event_error(form: EventForm, error: ServiceError) -> None:
    """Show a service error on the form field (or programme/participant row) it names."""
    match = _ROW_FIELD.fullmatch(error.field or "")
    if match:
        rows = form._programme_rows if match[1] == "programme" else form._participant_rows
        index = int(match[2])
        if index < len(rows):
            entry = getattr(form, match[1]).entries[rows[index]]
            field = getattr(entry.form, match[3], None) or entry.form.name
            add_error(field, error.message)
            return
    if error.field in _TIME_FIELD:
        error = ServiceError(error.message, field=_TIME_FIELD[error.field])
    elif error.field == "rrule":
        field = "repeat_stop" if form.complex_rule else "repeats"
        error = ServiceError(error.message, field=field)
    apply_service_error(form, error)


def event_form_data(event: Event) -> dict:
    """An event as the form's initial data (times in the event's zone)."""
    if event.is_all_day:
        start_date, end_date = event.start_on, event.end_on
        start_time = end_time = None
    else:
        start, end = event.local_start, event.local_end
        start_date, start_time = start.date(), start.time().replace(tzinfo=None)
        end_date, end_time = end.date(), end.time().replace(tzinfo=None)
    repetition = event_repetition(event) or Repetition()
    return {
        "title": event.title,
        "kind": event.kind.value,
        "status": event.status.value,
        "visibility": event.visibility.value,
        "timezone": event.timezone,
        "is_all_day": event.is_all_day,
        "start_date": start_date,
        "start_time": start_time,
        "end_date": end_date,
        "end_time": end_time,
        "repeats": repetition.frequency,
        "repeat_until": repetition.until,
        "repeat_count": repetition.count,
        "venue": event.venue,
        "countries": event.country_codes,
        "responsible_id": event.responsible_id,
        "tags": ", ".join(t.name for t in event.tags),
        "expected_attendance": event.expected_attendance,
        "actual_attendance": event.actual_attendance,
        "description": event.description,
        "outcome_notes": event.outcome_notes,
        "version": event.version,
        "programme": [
            {
                "id": str(item.id),
                "on": item.local_start.date(),
                "starts_at": item.local_start.time().replace(tzinfo=None),
                "ends_at": item.local_end.time().replace(tzinfo=None) if item.local_end else None,
                "place": item.place,
                "title": item.title,
                "who": item.who,
            }
            for item in event.programme
        ],
        "participations": [
            {
                "kind": "organisation" if p.organisation_id else "contact",
                "name": p.participant.name,
                "participant_id": str(p.organisation_id or p.contact_id),
                "role": p.role.value,
            }
            for p in event.participations
        ],
    }
