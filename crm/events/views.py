"""Event pages: list with search and filters, detail, new, edit, delete, participants."""

import datetime as dt
import functools
import logging
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import joinedload, selectinload

from crm.auth.access import editor_required, require_login
from crm.db import as_id, utcnow
from crm.enums import EventKind, EventStatus, ParticipationRole, Visibility
from crm.errors import ServiceError
from crm.events import bp, services
from crm.events.forms import EventForm, ParticipantForm, apply_event_error, event_form_data
from crm.events.models import Event, Participation, ProgrammeItem
from crm.events.recurrence import event_repetition, occurrences
from crm.extensions import db
from crm.forms import apply_service_error
from crm.i18n import locale_code
from crm.organisations.models import Organisation
from crm.pagination import paginate
from crm.timeutil import in_bounds

bp.before_request(require_login)
log = logging.getLogger(__name__)

# A recurring event's page lists its next few dates, looked for this far ahead.
UPCOMING = 5
UPCOMING_WINDOW = dt.timedelta(days=400)


def _date_arg(name: str) -> tuple[dt.date | None, bool]:
    """A YYYY-MM-DD query argument as a date, and whether it was malformed or out of bounds."""
    value = request.args.get(name, "").strip()
    if not value:
        return None, False
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return None, True
    return (day, False) if in_bounds(day) else (None, True)


def _organisation_arg() -> tuple[Organisation | None, bool]:
    """The organisation `?organisation=<id>` names, and whether the argument was not understood."""
    value = request.args.get("organisation", "").strip()
    if not value:
        return None, False
    org_id = as_id(value)
    org = db.session.get(Organisation, org_id) if org_id else None
    return org, org is None


def _get_event(event_id: int) -> Event:
    """A live (not deleted) event with what its pages show, or 404.

    Three queries: the event with its responsible, tags and countries (a few of each, so
    joined), the participants with their organisation or contact, and the programme (with the
    items' details, which the conflict check reads).
    """
    event = db.get_or_404(
        Event,
        event_id,
        options=[
            joinedload(Event.responsible),
            joinedload(Event.tags),
            joinedload(Event.countries),
            selectinload(Event.programme).joinedload(ProgrammeItem.detail),
            selectinload(Event.participations).options(
                joinedload(Participation.organisation), joinedload(Participation.contact)
            ),
        ],
    )
    if event.is_deleted:
        abort(404)
    return event


def _deleted(event_id: int) -> bool:
    """Whether the event exists and is deleted (a form sent for it tells its user so)."""
    event = db.session.get(Event, event_id)
    return event is not None and event.is_deleted


@bp.app_template_global("status_badge")
def status_badge(status: EventStatus) -> Markup:
    """An event's status as a coloured badge; each (status, language) is made once.

    A contact page shows up to 200 of them, and a Jinja macro call costs about as much
    as the rest of its line.
    """
    return _status_badge(status, locale_code())


@functools.lru_cache(maxsize=32)
def _status_badge(status: EventStatus, locale: str) -> Markup:
    return Markup('<span class="badge status-{}">{}</span>').format(status.value, status.label)


@bp.route("/")
def index():
    """List events from today on (or between ?from and ?to); search and filters."""
    args = request.args
    if "from" in args:
        date_from, bad_from = _date_arg("from")
    else:
        # Upcoming events unless ?from= says otherwise (empty: all); the filter shows it.
        zone = ZoneInfo(current_app.config["OFFICE_TIMEZONE"])
        date_from, bad_from = utcnow().astimezone(zone).date(), False
    date_to, bad_to = _date_arg("to")
    organisation, bad_organisation = _organisation_arg()
    stmt = services.event_query(
        q=args.get("q", ""),
        kind=args.get("kind", ""),
        status=args.get("status", ""),
        visibility=args.get("visibility", ""),
        country=args.get("country", ""),
        tag=args.get("tag", ""),
        date_from=date_from,
        date_to=date_to,
        organisation_id=organisation.id if organisation else None,
    )
    # The responsible in the same query; countries and tags as plain values (list_labels).
    page = paginate(stmt.options(joinedload(Event.responsible)))
    countries, tags = services.list_labels(event.id for event in page.items)
    return render_template(
        "events/index.html",
        page=page,
        event_countries=countries,
        event_tags=tags,
        date_from=date_from,
        date_to=date_to,
        bad_dates=bad_from or bad_to,
        organisation=organisation,
        bad_organisation=bad_organisation,
        kinds=EventKind.choices(),
        statuses=EventStatus.choices(),
        visibilities=Visibility.choices(),
    )


def _render_show(event: Event, participant_form):
    """The event's page; a recurring event with its repetition and next dates."""
    repetition, upcoming = None, []
    if event.rrule:
        repetition = event_repetition(event)
        now = utcnow()
        try:
            upcoming = occurrences(event, now, now + UPCOMING_WINDOW)[:UPCOMING]
        except (ValueError, TypeError, OverflowError) as error:
            # a rule stored before rules were checked: the page shows without next dates
            log.warning("event %s: unreadable recurrence, no next dates: %s", event.id, error)
            upcoming = []
    return render_template(
        "events/show.html",
        event=event,
        participant_form=participant_form,
        repetition=repetition,
        upcoming=upcoming,
    )


@bp.route("/<int:event_id>")
def show(event_id: int):
    """An event with its programme and participants."""
    event = _get_event(event_id)
    return _render_show(event, ParticipantForm() if current_user.can_edit else None)


@bp.route("/new", methods=["GET", "POST"])
@editor_required
def new():
    """Log an event (a delegation visit with programme and participants) in one form."""
    if request.method == "GET":
        kind = request.args.get("kind", "")
        initial = {
            "kind": kind if kind in {k.value for k in EventKind} else "delegation",
            "responsible_id": current_user.id,
        }
        form = EventForm(data=initial)
        form.ensure_blank_rows()
    else:
        form = EventForm()
    if form.validate_on_submit():
        try:
            event = services.create_event(**form.service_data())
        except ServiceError as error:
            db.session.rollback()
            apply_event_error(form, error)
        else:
            db.session.commit()
            flash(_("Event %(title)s created.", title=event.title), "success")
            return redirect(url_for("events.show", event_id=event.id))
    return render_template("events/form.html", form=form, event=None)


@bp.route("/<int:event_id>/edit", methods=["GET", "POST"])
@editor_required
def edit(event_id: int):
    """Edit an event; refused if someone else saved it, or deleted it, meanwhile."""
    if request.method == "POST" and _deleted(event_id):
        message = _(
            "Someone else deleted this event while you were editing it, so your changes were "
            "not saved."
        )
        return render_template("errors/409.html", message=message), 409
    event = _get_event(event_id)
    if request.method == "GET":
        form = EventForm(data=event_form_data(event), zone=event.timezone, event=event)
        form.ensure_blank_rows()
    else:
        form = EventForm(zone=event.timezone, event=event)
    if form.validate_on_submit():
        try:
            services.update_event(event, version=form.version.data, **form.service_data())
        except ServiceError as error:
            db.session.rollback()
            apply_event_error(form, error)
        else:
            db.session.commit()
            flash(_("Event %(title)s saved.", title=event.title), "success")
            return redirect(url_for("events.show", event_id=event.id))
    return render_template("events/form.html", form=form, event=event)


@bp.route("/<int:event_id>/delete", methods=["POST"])
@editor_required
def delete(event_id: int):
    """Delete an event (it stays, cancelled, in calendar feeds for a while)."""
    event = _get_event(event_id)
    title = event.title
    try:
        services.delete_event(event, version=request.form.get("version", type=int))
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return redirect(url_for("events.show", event_id=event_id))
    db.session.commit()
    flash(_("Event %(title)s deleted.", title=title), "success")
    return redirect(url_for("events.index"))


@bp.route("/<int:event_id>/participants", methods=["POST"])
@editor_required
def add_participant(event_id: int):
    """Add an organisation or a contact to the event."""
    event = _get_event(event_id)
    form = ParticipantForm()
    if form.validate_on_submit():
        try:
            participation = services.add_participation(
                event, **form.found, role=form.role.data or ParticipationRole.GUEST
            )
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            name = participation.participant.name
            db.session.commit()
            flash(_("%(name)s added.", name=name), "success")
            return redirect(url_for("events.show", event_id=event.id) + "#participants")
    event = _get_event(event_id)
    return _render_show(event, form)


@bp.route("/<int:event_id>/participants/<int:participation_id>/delete", methods=["POST"])
@editor_required
def remove_participant(event_id: int, participation_id: int):
    """Remove a participant from the event."""
    event = _get_event(event_id)
    try:
        services.remove_participation(event, participation_id)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "danger")
    else:
        db.session.commit()
        flash(_("Participant removed."), "success")
    return redirect(url_for("events.show", event_id=event.id) + "#participants")
