"""Follow-up pages: mine (overdue first), new, from an event, edit, done, drop; interactions."""

import datetime as dt
import functools

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from crm.auth.access import editor_required, require_login
from crm.auth.views import safe_next
from crm.db import utcnow
from crm.errors import ServiceError
from crm.events.models import Event
from crm.extensions import db
from crm.followups import bp, services
from crm.followups.forms import (
    FollowUpEditForm,
    FollowUpForm,
    InteractionForm,
    ParticipantsFollowUpForm,
    assignee_choices,
)
from crm.followups.models import FollowUp, Interaction
from crm.forms import apply_service_error
from crm.i18n import locale_code

bp.before_request(require_login)


@bp.app_template_global("timeline_for")
def timeline_page(contact=None, organisation=None, taken=None):
    """The page of the timeline that `?timeline_page=` asks for (page 1 if it is not a number).

    `taken` is the page's `events.services.taken_part`, when its view has read it."""
    page = request.args.get("timeline_page", 1, type=int)
    return services.timeline_for(contact=contact, organisation=organisation, page=page, taken=taken)


@bp.app_template_global("timeline_page_url")
def _timeline_page_url(page: int) -> str:
    """This page's address showing timeline page `page`, the other query arguments kept."""
    args = {
        key: values
        for key, values in request.args.to_dict(flat=False).items()
        if key != "timeline_page" and not key.startswith("_")
    }
    if page > 1:
        args["timeline_page"] = page
    args.update(request.view_args or {})
    return url_for(request.endpoint, **args, _anchor="timeline-heading")


@bp.app_template_global("open_followups_for_event")
def _open_followups_for_event(event):
    return services.open_followups_for_event(event)


@bp.app_template_global("interaction_fields")
def interaction_fields() -> Markup:
    """The visible fields of the timeline's blank interaction form, dated today.

    They read the same on every timeline in one language on one day, so WTForms renders
    each (language, day) once per process; the timeline adds the hidden fields itself.
    """
    return _interaction_fields(locale_code(), today())


@functools.lru_cache(maxsize=8)
def _interaction_fields(locale: str, day: dt.date) -> Markup:
    form = InteractionForm(formdata=None, meta={"csrf": False})
    form.occurred_on.data = day
    html = render_template("followups/_interaction_fields.html", form=form)
    return Markup(html)  # noqa: S704 (an autoescaping template's output)


@bp.app_template_global("office_today")
def today() -> dt.date:
    """Today in the office's zone."""
    from zoneinfo import ZoneInfo

    from flask import current_app

    return utcnow().astimezone(ZoneInfo(current_app.config["OFFICE_TIMEZONE"])).date()


def _back(default: str):
    return redirect(safe_next(request.form.get("next") or request.args.get("next")) or default)


@bp.route("/")
def index():
    """My open follow-ups, overdue first (`?who=all`: everyone's)."""
    who = "all" if request.args.get("who") == "all" else "mine"
    stmt = services.followup_query(assignee_id=None if who == "all" else current_user.id)
    items = db.session.scalars(stmt.limit(500)).all()
    return render_template("followups/index.html", items=items, who=who, today=today())


@bp.route("/new", methods=["GET", "POST"])
@editor_required
def new():
    """Create a follow-up, optionally about an event, a contact or an organisation."""
    form = FollowUpForm()
    if request.method == "GET":
        form.assignee_id.data = current_user.id
        for key in ("event_id", "contact_id", "organisation_id"):
            getattr(form, key).data = request.args.get(key, "")
    if form.validate_on_submit():
        try:
            followup = services.create_followup(
                title=form.title.data,
                due_on=form.due_on.data,
                assignee_id=form.assignee_id.data,
                event_id=form.event_id.data,
                contact_id=form.contact_id.data,
                organisation_id=form.organisation_id.data,
                outcome=form.outcome.data,
                actor=current_user._get_current_object(),
            )
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            db.session.commit()
            flash(_("Follow-up “%(title)s” created.", title=followup.title), "success")
            return redirect(_subject_url(followup))
    return render_template("followups/form.html", form=form, followup=None)


def _subject_url(followup: FollowUp) -> str:
    if followup.contact_id:
        return url_for("contacts.show", contact_id=followup.contact_id)
    if followup.organisation_id:
        return url_for("organisations.show", org_id=followup.organisation_id)
    if followup.event_id:
        return url_for("events.show", event_id=followup.event_id)
    return url_for("followups.index")


@bp.route("/<int:followup_id>/edit", methods=["GET", "POST"])
@editor_required
def edit(followup_id: int):
    """Edit a follow-up: what, when, who, status, outcome."""
    followup = db.get_or_404(FollowUp, followup_id)
    form = FollowUpEditForm(obj=followup)
    form.assignee_id.choices = assignee_choices(current=followup.assignee)
    if request.method == "GET":
        form.assignee_id.data = followup.assignee_id or 0
        form.status.data = followup.status.value
    if form.validate_on_submit():
        try:
            services.update_followup(
                followup,
                version=form.version.data,
                title=form.title.data,
                due_on=form.due_on.data,
                assignee_id=form.assignee_id.data,
                status=form.status.data,
                outcome=form.outcome.data,
                actor=current_user._get_current_object(),
            )
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            db.session.commit()
            flash(_("Follow-up saved."), "success")
            return redirect(url_for("followups.index"))
    return render_template("followups/form.html", form=form, followup=followup)


@bp.route("/<int:followup_id>/done", methods=["POST"])
def done(followup_id: int):
    """Mark done in one click (editors, and the assignee)."""
    followup = db.get_or_404(FollowUp, followup_id)
    if not (current_user.can_edit or followup.assignee_id == current_user.id):
        abort(403)
    try:
        services.complete_followup(followup, outcome=request.form.get("outcome"))
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "danger")
    else:
        db.session.commit()
        flash(_("Marked done: %(title)s", title=followup.title), "success")
    return _back(url_for("followups.index"))


@bp.route("/<int:followup_id>/drop", methods=["POST"])
@editor_required
def drop(followup_id: int):
    """Drop a follow-up that no longer needs doing."""
    followup = db.get_or_404(FollowUp, followup_id)
    services.drop_followup(followup)
    db.session.commit()
    flash(_("Dropped: %(title)s", title=followup.title), "success")
    return _back(url_for("followups.index"))


@bp.route("/from-event/<int:event_id>", methods=["GET", "POST"])
@editor_required
def from_event(event_id: int):
    """Create one follow-up per chosen participant of an event."""
    event = db.get_or_404(Event, event_id)
    if event.deleted_at is not None:
        abort(404)
    form = ParticipantsFollowUpForm()
    form.participation_ids.choices = [
        (p.id, f"{p.participant} ({p.role.label})") for p in event.participations
    ]
    if request.method == "GET":
        form.assignee_id.data = current_user.id
        form.participation_ids.data = [p.id for p in event.participations]
    if form.validate_on_submit():
        try:
            created = services.create_followups_for_participants(
                event,
                title=form.title.data,
                participation_ids=form.participation_ids.data,
                due_on=form.due_on.data,
                assignee_id=form.assignee_id.data,
                actor=current_user._get_current_object(),
            )
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            db.session.commit()
            flash(_("%(count)s follow-ups created.", count=len(created)), "success")
            return redirect(url_for("followups.index", who="all"))
    return render_template("followups/from_event.html", form=form, event=event)


@bp.route("/interactions/new", methods=["POST"])
@editor_required
def new_interaction():
    """Record an interaction from the timeline's form."""
    form = InteractionForm()
    if not form.validate_on_submit():
        for field_errors in form.errors.values():
            for message in field_errors:
                flash(message, "danger")
        return _back(url_for("main.home"))
    try:
        services.add_interaction(
            kind=form.kind.data,
            occurred_on=form.occurred_on.data,
            note=form.note.data,
            contact_id=form.contact_id.data,
            organisation_id=form.organisation_id.data,
            actor=current_user._get_current_object(),
        )
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "danger")
    else:
        db.session.commit()
        flash(_("Interaction recorded."), "success")
    return _back(url_for("main.home"))


@bp.route("/interactions/<int:interaction_id>/delete", methods=["POST"])
@editor_required
def delete_interaction(interaction_id: int):
    """Delete an interaction entered by mistake."""
    interaction = db.get_or_404(Interaction, interaction_id)
    services.delete_interaction(interaction)
    db.session.commit()
    flash(_("Interaction deleted."), "success")
    return _back(url_for("main.home"))
