"""JSON endpoints for organisations, contacts and events.

Each view parses (query args or the JSON body), calls the feature's services, commits once
and serialises. Errors become JSON bodies with the right status (see crm.api.errors).
"""

import re
from zoneinfo import ZoneInfo

from flask import abort, current_app, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from crm.api import bp, serializers
from crm.api.auth import authenticate_request
from crm.api.errors import ApiError, api_error_response, json_error
from crm.api.parsing import (
    MAX_INT,
    arg_choice,
    arg_date,
    arg_date_or_instant,
    arg_int,
    arg_text,
    boolean,
    column_text,
    date,
    instant,
    integer,
    pagination,
    parse_body,
    records,
    string_list,
    strings,
    text,
    text_list,
)
from crm.contacts import services as contact_services
from crm.contacts.models import Contact, Membership
from crm.enums import EventKind, EventStatus, OrganisationKind, Visibility
from crm.errors import NotFoundError, ServiceError
from crm.events import services as event_services
from crm.events.models import Event, Participation
from crm.extensions import db
from crm.organisations import services as organisation_services
from crm.organisations.models import Organisation
from crm.pagination import paginate

MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 25
# Fields the API shows but a client may not write.
READ_ONLY = frozenset({"id", "uid", "url", "updated_at"})

bp.before_request(authenticate_request)


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    db.session.rollback()
    return api_error_response(error)


# Services name fields as the forms do; the API speaks the names of its JSON.
API_FIELD_NAMES = {
    "is_all_day": "all_day",
    "start_on": "start_date",
    "end_on": "end_date",
    "responsible_id": "responsible",
    "responsible_email": "responsible",
}
_ITEM_FIELD = re.compile(r"^(programme|participations)-(\d+)-(\w+)$")


def api_field_name(field: str) -> str:
    """The JSON name of a field a service named ("programme-0-title" → "programme[0].title")."""
    match = _ITEM_FIELD.match(field)
    if match:
        name, index, sub = match.groups()
        return f"{name}[{index}]" if name == "participations" else f"{name}[{index}].{sub}"
    return API_FIELD_NAMES.get(field, field)


@bp.errorhandler(ServiceError)
def _service_error(error: ServiceError):
    db.session.rollback()
    if not error.field:
        return json_error(error.status_code, error.message)
    # A field naming a missing record (a responsible, a participant) is bad input: 422.
    status = 422 if isinstance(error, NotFoundError) else error.status_code
    return json_error(status, error.message, fields={api_field_name(error.field): error.message})


@bp.errorhandler(StaleDataError)
def _stale(error: StaleDataError):
    # Two saves of one version at the same instant: the database let only one through.
    db.session.rollback()
    return json_error(
        409,
        _(
            "Someone else changed this record while you were editing it. Your changes were "
            "not saved: read the record again, then make your changes again."
        ),
    )


def _get_or_404(model, ident: int, options=()):
    """The record with this id, else 404 (ids beyond the database's integers included)."""
    if ident > MAX_INT:
        abort(404)
    return db.get_or_404(model, ident, options=list(options))


def _page(stmt, serialise, *, max_per_page: int = MAX_PER_PAGE, expand=None, wrap=None):
    """A list answer: `{"items", "total", "page", "per_page"}` for a SELECT.

    With `expand`, each row may give several items (a recurring event's instances); `total`
    still counts rows, so that paging works the same. With `wrap`, `stmt` selects columns
    and each row is wrapped (`wrap(row)`) before it is serialised.
    """
    page, per_page = pagination(max_per_page, DEFAULT_PER_PAGE)
    result = paginate(stmt, page=page, per_page=per_page, capped=False, rows=wrap is not None)
    records = [wrap(row) for row in result.items] if wrap is not None else result.items
    if expand is not None:
        items = [item for record in records for item in expand(record)]
    else:
        items = [serialise(record) for record in records]
    return jsonify(
        items=items,
        total=result.total,
        page=page,
        per_page=per_page,
    )


def _created(body: dict, location: str):
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = location
    return response


def _split_version(data: dict) -> tuple[dict, int | None]:
    data = dict(data)
    return data, data.pop("version", None)


# Organisations

_org = Organisation.__table__.c
ORGANISATION_FIELDS = {
    "name": column_text(_org.name),
    "kind": text(),
    "country": text(),
    "city": column_text(_org.city),
    "website": column_text(_org.website),
    "notes": text(),
    "represented_country": text(),
    "twin_city_category": text(),
    "twin_city_since": integer,
    "tags": string_list,
}


@bp.get("/organisations")
def list_organisations():
    """Organisations matching q, kind, country and tag, a page at a time."""
    stmt = organisation_services.organisation_query(
        q=arg_text("q"),
        kind=arg_choice("kind", OrganisationKind),
        country=arg_text("country"),
        tag=arg_text("tag"),
    )
    return _page(stmt, serializers.organisation_json)


@bp.post("/organisations")
def create_organisation():
    """Create an organisation; 201 with its Location."""
    data = parse_body(ORGANISATION_FIELDS, read_only=READ_ONLY | {"version"})
    org = organisation_services.create_organisation(**data)
    db.session.commit()
    return _created(
        serializers.organisation_json(org),
        url_for("api.get_organisation", org_id=org.id, _external=True),
    )


@bp.get("/organisations/<int:org_id>")
def get_organisation(org_id: int):
    """One organisation."""
    org = _get_or_404(Organisation, org_id, [selectinload(Organisation.tags)])
    return jsonify(serializers.organisation_json(org))


@bp.patch("/organisations/<int:org_id>")
def update_organisation(org_id: int):
    """Change the given fields; 409 if `version` is not the current one."""
    org = _get_or_404(Organisation, org_id)
    data, version = _split_version(
        parse_body({**ORGANISATION_FIELDS, "version": integer}, read_only=READ_ONLY)
    )
    organisation_services.update_organisation(org, version=version, **data)
    db.session.commit()
    return jsonify(serializers.organisation_json(org))


# Contacts

_contact = Contact.__table__.c
CONTACT_FIELDS = {
    "first_name": column_text(_contact.first_name),
    "last_name": column_text(_contact.last_name),
    "title": column_text(_contact.title),
    "email": column_text(_contact.email),
    "other_emails": text_list("\n"),
    "phone": column_text(_contact.phone),
    "languages": text_list(", ", _contact.languages.type.length),
    "preferred_language": text(),
    "nationality": text(),
    "dietary_needs": text(),
    "access_needs": text(),
    "notes": text(),
    "tags": string_list,
}
CONTACT_READ_ONLY = READ_ONLY | {"name", "organisations"}


def _contact_options():
    return [
        selectinload(Contact.tags),
        selectinload(Contact.memberships).selectinload(Membership.organisation),
    ]


@bp.get("/contacts")
def list_contacts():
    """Contacts matching q, nationality, tag and organisation (an id), a page at a time."""
    organisation = arg_int("organisation", 0) or None
    stmt = contact_services.contact_query(
        q=arg_text("q"),
        nationality=arg_text("nationality"),
        tag=arg_text("tag"),
        organisation_id=organisation,
    )
    return _page(stmt, serializers.contact_json)


def _may_see_sensitive() -> bool:
    return bool(current_user.can_edit)


@bp.post("/contacts")
def create_contact():
    """Create a contact; 201 with its Location."""
    data = parse_body(CONTACT_FIELDS, read_only=CONTACT_READ_ONLY | {"version"})
    contact = contact_services.create_contact(**data)
    db.session.commit()
    return _created(
        serializers.contact_json(contact, sensitive=_may_see_sensitive()),
        url_for("api.get_contact", contact_id=contact.id, _external=True),
    )


@bp.get("/contacts/<int:contact_id>")
def get_contact(contact_id: int):
    """One contact; dietary and access needs only for editors."""
    contact = _get_or_404(Contact, contact_id, _contact_options())
    return jsonify(serializers.contact_json(contact, sensitive=_may_see_sensitive()))


@bp.patch("/contacts/<int:contact_id>")
def update_contact(contact_id: int):
    """Change the given fields; 409 if `version` is not the current one."""
    contact = _get_or_404(Contact, contact_id)
    data, version = _split_version(
        parse_body({**CONTACT_FIELDS, "version": integer}, read_only=CONTACT_READ_ONLY)
    )
    contact_services.update_contact(contact, version=version, **data)
    db.session.commit()
    return jsonify(serializers.contact_json(contact, sensitive=_may_see_sensitive()))


# Events

EVENT_FIELDS = {
    "title": text(),
    "kind": text(),
    "status": text(),
    "visibility": text(),
    "timezone": text(64),
    "all_day": boolean,
    "starts_at": instant,
    "ends_at": instant,
    "start_date": date,
    "end_date": date,
    "venue": text(),
    "description": text(),
    "outcome_notes": text(),
    "expected_attendance": integer,
    "actual_attendance": integer,
    "responsible": text(254),
    "countries": strings,
    "tags": string_list,
    "programme": records(
        {
            "starts_at": instant,
            "ends_at": instant,
            "place": text(),
            "title": text(),
            "who": text(),
        },
        ignored=frozenset({"id"}),
    ),
    "participations": records(
        {"organisation_id": integer, "contact_id": integer, "role": text()},
        ignored=frozenset({"id", "name"}),
    ),
}
# JSON name → the services' keyword.
EVENT_ARGUMENTS = {
    "all_day": "is_all_day",
    "start_date": "start_on",
    "end_date": "end_on",
    "responsible": "responsible_email",
}
MAX_CALENDAR_PER_PAGE = 1000


def _event_arguments(data: dict) -> dict:
    arguments = {EVENT_ARGUMENTS.get(key, key): value for key, value in data.items()}
    if "responsible_email" in arguments and not arguments["responsible_email"]:
        # null or "" clears the responsible staff member
        arguments["responsible_email"] = None
        arguments["responsible_id"] = None
    return arguments


def _event_options():
    return [
        selectinload(Event.tags),
        selectinload(Event.countries),
        selectinload(Event.responsible),
        selectinload(Event.programme),
        selectinload(Event.participations).selectinload(Participation.organisation),
        selectinload(Event.participations).selectinload(Participation.contact),
    ]


def _get_event(event_id: int) -> Event:
    event = _get_or_404(Event, event_id, _event_options())
    if event.is_deleted:
        abort(404)
    return event


# `view=calendar`: only what a calendar draws (see serializers.event_calendar_json).
CALENDAR_VIEW = "calendar"


def _calendar_view() -> bool:
    """Whether the query asks for `view=calendar`; 422 for any other view."""
    view = request.args.get("view", "").strip()
    if view and view != CALENDAR_VIEW:
        raise ApiError(
            422,
            _("Some query arguments are not valid."),
            fields={"view": _("Use one of: %(values)s.", values=CALENDAR_VIEW)},
        )
    return bool(view)


def _calendar_query(stmt):
    """`stmt`'s events (its filters, event_query's order) with only the calendar's columns.

    A new SELECT of columns, not of events: the eager loads event_query adds cannot be taken
    back, and its rows become `serializers.CalendarEvent`s, which have no other attribute.
    """
    return (
        select(*serializers.EVENT_CALENDAR_COLUMNS)
        .where(stmt.whereclause)
        .order_by(Event.starts_at, Event.id)
    )


@bp.get("/events")
def list_events():
    """Events matching the filters; with `start`/`end`, those overlapping [start, end).

    `view=calendar` answers with slim items (see serializers.event_calendar_json).
    """
    slim = _calendar_view()
    stmt = event_services.event_query(
        q=arg_text("q"),
        kind=arg_choice("kind", EventKind),
        status=arg_choice("status", EventStatus),
        visibility=arg_choice("visibility", Visibility),
        country=arg_text("country"),
        tag=arg_text("tag"),
        date_from=arg_date("from"),
        date_to=arg_date("to"),
        organisation_id=arg_int("organisation", 0) or None,
    )
    if slim:
        stmt, serialise = _calendar_query(stmt), serializers.event_calendar_json
        wrap = serializers.CalendarEvent
    else:
        stmt, serialise = stmt.options(*_event_options()), serializers.event_json
        wrap = None
    zone = ZoneInfo(current_app.config["OFFICE_TIMEZONE"])
    start, end = arg_date_or_instant("start", zone), arg_date_or_instant("end", zone)
    if start and end and end <= start:
        raise ApiError(
            422,
            _("Some query arguments are not valid."),
            fields={"end": _("The end must be after the start.")},
        )
    if start and end:
        # A recurring series that began before the range may still have instances in it.
        stmt = stmt.where(Event.id.in_(event_services.overlapping(start, end)))
        return _page(
            stmt,
            serialise,
            max_per_page=MAX_CALENDAR_PER_PAGE,
            expand=lambda event: serializers.event_occurrences_json(event, start, end, serialise),
            wrap=wrap,
        )
    if start:
        stmt = stmt.where(Event.ends_at > start)
    if end:
        stmt = stmt.where(Event.starts_at < end)
    limit = MAX_CALENDAR_PER_PAGE if start or end else MAX_PER_PAGE
    return _page(stmt, serialise, max_per_page=limit, wrap=wrap)


@bp.post("/events")
def create_event():
    """Create an event; 201 with its Location."""
    data = _event_arguments(parse_body(EVENT_FIELDS, read_only=READ_ONLY | {"version"}))
    data.setdefault("title", "")
    data.setdefault("kind", EventKind.OTHER.value)
    event = event_services.create_event(**data)
    db.session.commit()
    return _created(
        serializers.event_json(_get_event(event.id)),
        url_for("api.get_event", event_id=event.id, _external=True),
    )


@bp.get("/events/<int:event_id>")
def get_event(event_id: int):
    """One event with its programme and participants."""
    return jsonify(serializers.event_json(_get_event(event_id)))


@bp.patch("/events/<int:event_id>")
def update_event(event_id: int):
    """Change the given fields (lists are replaced); 409 if `version` is not the current one."""
    event = _get_event(event_id)
    data, version = _split_version(
        parse_body({**EVENT_FIELDS, "version": integer}, read_only=READ_ONLY)
    )
    event_services.update_event(event, version=version, **_event_arguments(data))
    db.session.commit()
    return jsonify(serializers.event_json(_get_event(event.id)))
