"""Organisation pages: list with search and filters, detail, new, edit, delete."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from crm.auth.access import editor_required, require_login
from crm.contacts.models import Membership
from crm.enums import OrganisationKind
from crm.errors import ServiceError
from crm.events import services as event_services
from crm.extensions import db
from crm.followups import views as followup_views  # a module: the two packages import each other
from crm.forms import apply_service_error
from crm.organisations import bp, services
from crm.organisations.forms import OrganisationForm
from crm.organisations.models import Organisation
from crm.pagination import paginate

bp.before_request(require_login)

# The organisation page lists this many of its latest events; the event list has them all.
RECENT_EVENTS = 20


@bp.route("/")
def index():
    """List organisations; `?q=` searches name and city, filters by kind, country, tag."""
    args = request.args
    stmt = services.organisation_query(
        q=args.get("q", ""),
        kind=args.get("kind", ""),
        country=args.get("country", ""),
        tag=args.get("tag", ""),
    )
    page = paginate(stmt)
    return render_template(
        "organisations/index.html",
        page=page,
        kinds=OrganisationKind.choices(),
    )


@bp.route("/<int:org_id>")
def show(org_id: int):
    """An organisation with its people and its latest events (all of them: the event list)."""
    org = db.get_or_404(
        Organisation,
        org_id,
        options=[
            joinedload(Organisation.tags),  # one query with the organisation
            selectinload(Organisation.memberships).joinedload(Membership.contact),
        ],
    )
    # The events list and the timeline from one read of what it takes part in; the timeline
    # first, as its events are the newest, which the list then mostly finds read already.
    taken = event_services.taken_part(organisation_id=org.id)
    timeline = followup_views.timeline_page(organisation=org, taken=taken)
    events = event_services.organisation_events(taken, limit=RECENT_EVENTS)
    return render_template("organisations/show.html", org=org, events=events, timeline=timeline)


@bp.route("/new", methods=["GET", "POST"])
@editor_required
def new():
    """Create an organisation."""
    form = OrganisationForm()
    if form.validate_on_submit():
        try:
            org = services.create_organisation(**form.service_data())
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            db.session.commit()
            flash(_("Organisation %(name)s created.", name=org.name), "success")
            return redirect(url_for("organisations.show", org_id=org.id))
    return render_template("organisations/form.html", form=form, org=None)


@bp.route("/<int:org_id>/edit", methods=["GET", "POST"])
@editor_required
def edit(org_id: int):
    """Edit an organisation; refused if someone else saved it meanwhile."""
    org = db.get_or_404(Organisation, org_id)
    form = OrganisationForm(obj=org)
    if request.method == "GET":
        form.tags.data = ", ".join(t.name for t in org.tags)
        form.twin_city_category.data = (
            org.twin_city_category.value if org.twin_city_category else ""
        )
        form.kind.data = org.kind.value
    if form.validate_on_submit():
        try:
            services.update_organisation(org, version=form.version.data, **form.service_data())
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            db.session.commit()
            flash(_("Organisation %(name)s saved.", name=org.name), "success")
            return redirect(url_for("organisations.show", org_id=org.id))
    return render_template("organisations/form.html", form=form, org=org)


@bp.route("/<int:org_id>/delete", methods=["POST"])
@editor_required
def delete(org_id: int):
    """Delete an organisation; if records link to it, first say which, until `confirmed`."""
    org = db.get_or_404(Organisation, org_id)
    name = org.name
    try:
        linked = services.delete_organisation(
            org,
            version=request.form.get("version", type=int),
            confirmed=request.form.get("confirmed") == "1",
        )
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return redirect(url_for("organisations.show", org_id=org_id))
    if linked:
        return render_template("organisations/delete.html", org=org, linked=linked)
    db.session.commit()
    flash(_("Organisation %(name)s deleted.", name=name), "success")
    return redirect(url_for("organisations.index"))
