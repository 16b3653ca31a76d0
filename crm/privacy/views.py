"""A contact's privacy page: consents, restriction, export, erasure; the retention review list."""

from flask import Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.auth.access import admin_required, editor_required, require_login
from crm.contacts.models import Contact
from crm.errors import ServiceError
from crm.extensions import db
from crm.forms import apply_service_error
from crm.pagination import paginate
from crm.privacy import bp, services
from crm.privacy.forms import ConsentForm, EraseForm, ExportForm, RestrictForm, WithdrawForm
from crm.privacy.models import Purpose

bp.before_request(require_login)

# The erase form's fields are named apart ("erase-reason"): the restrict form on the same
# page has a reason too, and each label must point at its own field.
ERASE = "erase"


def _page(contact: Contact, status: int = 200, **forms):
    forms.setdefault("consent_form", ConsentForm(formdata=None))
    forms.setdefault("restrict_form", RestrictForm(formdata=None))
    forms.setdefault("export_form", ExportForm(formdata=None))
    forms.setdefault("erase_form", EraseForm(formdata=None, prefix=ERASE))
    return render_template(
        "privacy/contact.html",
        contact=contact,
        state=services.privacy_of(contact),
        consents=services.consents_of(contact),
        withdraw_form=WithdrawForm(formdata=None),
        **forms,
    ), status


@bp.route("/contacts/<int:contact_id>")
@editor_required
def contact(contact_id: int):
    """Consents and legal bases; for admins also restriction, export and erasure."""
    return _page(db.get_or_404(Contact, contact_id))


@bp.route("/contacts/<int:contact_id>/consents", methods=["POST"])
@editor_required
def add_consent(contact_id: int):
    """Record the legal basis (and consent) for a purpose."""
    record = db.get_or_404(Contact, contact_id)
    form = ConsentForm()
    if form.validate_on_submit():
        try:
            consent = services.record_consent(
                record,
                purpose=form.purpose.data,
                legal_basis=form.legal_basis.data,
                source=form.source.data,
            )
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            db.session.commit()
            flash(_("Recorded: %(purpose)s.", purpose=consent.purpose.label), "success")
            return redirect(url_for("privacy.contact", contact_id=contact_id))
    return _page(record, 422, consent_form=form)


@bp.route("/contacts/<int:contact_id>/consents/withdraw", methods=["POST"])
@editor_required
def withdraw(contact_id: int):
    """Record that consent for a purpose was withdrawn; no more mail for it from the next run."""
    record = db.get_or_404(Contact, contact_id)
    form = WithdrawForm()
    try:
        purpose = Purpose(form.purpose.data or "")
        services.withdraw_consent(record, purpose=purpose, source=form.source.data or "")
    except (ValueError, ServiceError):
        db.session.rollback()
        flash(_("Choose a purpose from the list."), "danger")
        return redirect(url_for("privacy.contact", contact_id=contact_id))
    db.session.commit()
    flash(_("Withdrawn: %(purpose)s.", purpose=purpose.label), "success")
    return redirect(url_for("privacy.contact", contact_id=contact_id))


@bp.route("/contacts/<int:contact_id>/restrict", methods=["POST"])
@admin_required
def restrict(contact_id: int):
    """Restrict processing: no mail, no export, no feed."""
    record = db.get_or_404(Contact, contact_id)
    form = RestrictForm()
    if form.validate_on_submit():
        try:
            services.restrict_contact(record, reason=form.reason.data)
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            db.session.commit()
            flash(_("Processing of this contact's data is now restricted."), "success")
            return redirect(url_for("privacy.contact", contact_id=contact_id))
    return _page(record, 422, restrict_form=form)


@bp.route("/contacts/<int:contact_id>/unrestrict", methods=["POST"])
@admin_required
def unrestrict(contact_id: int):
    """Lift a restriction."""
    record = db.get_or_404(Contact, contact_id)
    try:
        services.lift_restriction(record)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "danger")
    else:
        db.session.commit()
        flash(_("The restriction was lifted."), "success")
    return redirect(url_for("privacy.contact", contact_id=contact_id))


@bp.route("/contacts/<int:contact_id>/export", methods=["POST"])
@admin_required
def export(contact_id: int):
    """Download everything about the contact as JSON or CSV (recorded in the audit trail)."""
    record = db.get_or_404(Contact, contact_id)
    form = ExportForm()
    if form.validate_on_submit():
        try:
            data = services.export_contact(
                record, for_data_subject=form.for_data_subject.data, fmt=form.fmt.data
            )
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "danger")
            return redirect(url_for("privacy.contact", contact_id=contact_id))
        db.session.commit()
        if form.fmt.data == "csv":
            body, mimetype = services.export_as_csv(data).encode("utf-8"), "text/csv"
        else:
            body, mimetype = services.export_as_json(data).encode("utf-8"), "application/json"
        filename = f"contact-{contact_id}.{form.fmt.data}"
        return Response(
            body,
            mimetype=mimetype,
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-store",
            },
        )
    return _page(record, 422, export_form=form)


@bp.route("/contacts/<int:contact_id>/erase", methods=["POST"])
@admin_required
def erase(contact_id: int):
    """Erase the contact by anonymisation."""
    record = db.get_or_404(Contact, contact_id)
    form = EraseForm(prefix=ERASE)
    if form.validate_on_submit():
        try:
            services.erase_contact(record, reason=form.reason.data)
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            db.session.commit()
            flash(_("The contact was erased."), "success")
            return redirect(url_for("contacts.show", contact_id=contact_id))
    return _page(record, 422, erase_form=form)


@bp.route("/review")
@admin_required
def review():
    """Contacts without activity for years, flagged by the retention job."""
    page = paginate(services.review_query())
    years = services.retention_settings()[1]
    return render_template("privacy/review.html", page=page, years=years)


@bp.route("/review/<int:contact_id>/keep", methods=["POST"])
@admin_required
def keep(contact_id: int):
    """Keep a flagged contact (the review clock starts again)."""
    record = db.get_or_404(Contact, contact_id)
    services.keep_after_review(record)
    db.session.commit()
    flash(_("%(name)s is kept.", name=record.name), "success")
    return redirect(url_for("privacy.review"))


@bp.app_template_global("privacy_state")
def privacy_state(contact: Contact):
    """The contact's privacy row (restricted, erased, flagged), for its page; staff only."""
    if not current_user.is_authenticated or contact is None:
        return None
    return services.privacy_of(contact)
