"""Contact pages: list with search and filters, detail, new, edit, delete, memberships."""

import functools

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from crm.auth.access import editor_required, require_login
from crm.contacts import bp, services
from crm.contacts.forms import ContactForm, MembershipForm
from crm.contacts.models import Contact, Membership
from crm.db import as_id
from crm.enums import ParticipationRole
from crm.errors import ServiceError
from crm.events import services as event_services
from crm.extensions import db
from crm.followups import views as followup_views  # a module: the two packages import each other
from crm.forms import apply_service_error
from crm.i18n import locale_code
from crm.organisations.models import Organisation
from crm.pagination import paginate

bp.before_request(require_login)

# A contact's page lists their latest events, this many at most.
CONTACT_EVENTS = 200


@bp.route("/")
def index():
    """List contacts; `?q=` searches name, email and title; filters by nationality, tag ..."""
    args = request.args
    organisation_id = args.get("organisation", type=int)
    stmt = services.contact_query(
        q=args.get("q", ""),
        nationality=args.get("nationality", ""),
        tag=args.get("tag", ""),
        organisation_id=organisation_id,
        language=args.get("language", ""),
    )
    # A search sorts every match it finds (see contact_query): counted in the same scan.
    page = paginate(stmt, count_over=bool(args.get("q", "").strip()))
    known = as_id(organisation_id)
    organisation = db.session.get(Organisation, known) if known else None
    return render_template(
        "contacts/index.html",
        page=page,
        organisation=organisation,
    )


def _render_show(contact: Contact, membership_form: MembershipForm):
    """The contact page, with the membership form as given (it may carry errors)."""
    # The events list and the timeline from one read of what they take part in; the list
    # first, as it shows the most of them, so the timeline finds its events read already.
    taken = event_services.taken_part(contact_id=contact.id)
    shown = taken.rows[:CONTACT_EVENTS]
    events = taken.events(row.event_id for row in shown)
    timeline = followup_views.timeline_page(contact=contact, taken=taken)
    return render_template(
        "contacts/show.html",
        contact=contact,
        participations=[(events[row.event_id], ParticipationRole(row.role)) for row in shown],
        membership_form=membership_form,
        timeline=timeline,
    )


@bp.app_template_global("membership_fields")
def membership_fields(form: MembershipForm) -> Markup:
    """The visible fields of the contact page's membership form.

    Blank, they read the same on every contact page in one language, so WTForms renders
    them once per language; a form sent back with what was typed, or with errors, is
    rendered as it is.
    """
    visible = (form.organisation, form.organisation_id, form.role, form.starts_on, form.ends_on)
    if form.errors or any(f.data or f.raw_data for f in visible):
        return _membership_fields(form)
    return _blank_membership_fields(locale_code())


@functools.lru_cache(maxsize=4)
def _blank_membership_fields(locale: str) -> Markup:
    return _membership_fields(MembershipForm(formdata=None, meta={"csrf": False}))


def _membership_fields(form: MembershipForm) -> Markup:
    html = render_template("contacts/_membership_fields.html", form=form)
    return Markup(html)  # noqa: S704 (an autoescaping template's output)


def _load(contact_id: int) -> Contact:
    """A contact with what its page shows, or 404."""
    return db.get_or_404(
        Contact,
        contact_id,
        options=[
            joinedload(Contact.tags),  # one query with the contact
            selectinload(Contact.memberships).joinedload(Membership.organisation),
        ],
    )


@bp.route("/<int:contact_id>")
def show(contact_id: int):
    """A contact with their organisations and the events they take part in."""
    return _render_show(_load(contact_id), MembershipForm(formdata=None))


@bp.route("/new", methods=["GET", "POST"])
@editor_required
def new():
    """Create a contact."""
    form = ContactForm()
    if form.validate_on_submit():
        try:
            contact = services.create_contact(**form.service_data())
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            db.session.commit()
            flash(_("Contact %(name)s created.", name=contact.name), "success")
            return redirect(url_for("contacts.show", contact_id=contact.id))
    return render_template("contacts/form.html", form=form, contact=None)


@bp.route("/<int:contact_id>/edit", methods=["GET", "POST"])
@editor_required
def edit(contact_id: int):
    """Edit a contact; refused if someone else saved it meanwhile."""
    contact = db.get_or_404(Contact, contact_id)
    form = ContactForm(obj=contact)
    if request.method == "GET":
        form.tags.data = ", ".join(t.name for t in contact.tags)
        form.preferred_language.data = contact.preferred_language.value
    if form.validate_on_submit():
        try:
            services.update_contact(contact, version=form.version.data, **form.service_data())
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            db.session.commit()
            flash(_("Contact %(name)s saved.", name=contact.name), "success")
            return redirect(url_for("contacts.show", contact_id=contact.id))
    return render_template("contacts/form.html", form=form, contact=contact)


@bp.route("/<int:contact_id>/delete", methods=["POST"])
@editor_required
def delete(contact_id: int):
    """Delete a contact; if records link to them, first say which, until `confirmed`."""
    contact = db.get_or_404(Contact, contact_id)
    name = contact.name
    try:
        linked = services.delete_contact(
            contact,
            version=request.form.get("version", type=int),
            confirmed=request.form.get("confirmed") == "1",
        )
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return redirect(url_for("contacts.show", contact_id=contact_id))
    if linked:
        return render_template("contacts/delete.html", contact=contact, linked=linked)
    db.session.commit()
    flash(_("Contact %(name)s deleted.", name=name), "success")
    return redirect(url_for("contacts.index"))


@bp.route("/<int:contact_id>/memberships", methods=["POST"])
@editor_required
def add_membership(contact_id: int):
    """Add the contact to an organisation named in the form (or picked by id)."""
    contact = _load(contact_id)
    form = MembershipForm()
    if form.validate_on_submit():
        try:
            org = services.resolve_organisation(
                name=form.organisation.data, organisation_id=form.organisation_id.data
            )
            services.add_membership(
                contact,
                organisation_id=org.id,
                role=form.role.data,
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data,
            )
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            db.session.commit()
            flash(
                _("%(name)s added to %(organisation)s.", name=contact.name, organisation=org.name),
                "success",
            )
            return redirect(url_for("contacts.show", contact_id=contact.id))
    return _render_show(_load(contact_id), form)


@bp.route("/<int:contact_id>/memberships/<int:membership_id>/delete", methods=["POST"])
@editor_required
def remove_membership(contact_id: int, membership_id: int):
    """Remove one of the contact's memberships."""
    membership = db.first_or_404(
        select(Membership).where(
            Membership.id == membership_id, Membership.contact_id == contact_id
        )
    )
    name = membership.organisation.name
    services.remove_membership(membership)
    db.session.commit()
    flash(_("Membership of %(organisation)s removed.", organisation=name), "success")
    return redirect(url_for("contacts.show", contact_id=contact_id))
