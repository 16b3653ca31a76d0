"""CSV import (upload, map, preview, confirm), CSV export, and the merge screen."""

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from crm.auth.access import admin_required, editor_required, require_login
from crm.contacts.models import Contact
from crm.db import utcnow
from crm.errors import ServiceError
from crm.extensions import db
from crm.forms import apply_service_error
from crm.i18n import locale_code
from crm.imports import bp, csvfile, duplicates, services
from crm.imports.forms import MergeForm, UploadForm
from crm.imports.models import CsvImport

bp.before_request(require_login)

MAX_UPLOAD = 20 * 1024 * 1024


def _delimiter() -> str:
    # Excel in Norwegian expects ";" (the comma is the decimal sign); in English ",".
    return ";" if locale_code() == "nb" else ","


def _render_preview(upload: CsvImport, parsed, mapping, result, *, error: str = "", status=200):
    return render_template(
        "imports/preview.html",
        upload=upload,
        headers=parsed.headers,
        mapping=mapping,
        choices=services.field_choices(upload.kind),
        result=result,
        error=error,
    ), status


def _preview(upload: CsvImport, parsed, mapping: dict):
    """Preview with a mapping; a mapping that cannot work is shown with its message."""
    try:
        _parsed, mapping, result = services.preview_import(
            upload.kind, upload.content, mapping, skip_duplicates=upload.skip_duplicates
        )
    except ServiceError as error:
        db.session.rollback()
        return _render_preview(upload, parsed, mapping, None, error=error.message, status=422)
    upload.mapping = mapping
    db.session.commit()
    return _render_preview(upload, parsed, mapping, result)


@bp.route("/import", methods=["GET", "POST"])
@editor_required
def upload():
    """Upload a CSV file; the preview shows the guessed mapping, row errors and duplicates."""
    form = UploadForm()
    if form.validate_on_submit():
        content = form.file.data.read(MAX_UPLOAD + 1)
        if len(content) > MAX_UPLOAD:
            form.file.errors.append(_("The file is larger than 20 MB."))
        else:
            try:
                parsed = csvfile.parse(content)
            except ServiceError as error:
                apply_service_error(form, ServiceError(error.message, field="file"))
            else:
                # Keep the very bytes previewed, so that confirming imports exactly these.
                staged = services.stage_upload(
                    kind=form.kind.data,
                    content=content,
                    filename=form.file.data.filename,
                    mapping=services.guess_mapping(form.kind.data, parsed.headers),
                    skip_duplicates=form.skip_duplicates.data,
                    user_id=current_user.id,
                )
                db.session.commit()
                return _preview(staged, parsed, dict(staged.mapping))
    return render_template("imports/upload.html", form=form), (422 if form.errors else 200)


def _staged(upload_id: int) -> CsvImport:
    staged = db.get_or_404(CsvImport, upload_id)
    if staged.user_id != current_user.id and not current_user.is_admin:
        abort(404)
    return staged


@bp.route("/import/<int:upload_id>/mapping", methods=["POST"])
@editor_required
def remap(upload_id: int):
    """Change which column feeds which field, and preview again."""
    staged = _staged(upload_id)
    if staged.imported_at is not None:
        flash(_("This file has already been imported."), "warning")
        return redirect(url_for("imports.upload"))
    wanted = {
        key.removeprefix("col-"): value
        for key, value in request.form.items()
        if key.startswith("col-")
    }
    return _preview(staged, csvfile.parse(staged.content), wanted)


@bp.route("/import/<int:upload_id>/confirm", methods=["POST"])
@editor_required
def confirm(upload_id: int):
    """Import the previewed file with the previewed mapping, in one transaction."""
    staged = _staged(upload_id)
    try:
        result = services.import_staged(staged, now=utcnow())
    except services.ImportRefused as error:
        db.session.rollback()
        parsed = csvfile.parse(staged.content)
        return _render_preview(
            staged, parsed, staged.mapping, error.result, error=error.message, status=422
        )
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "warning")
        return redirect(url_for("imports.upload"))
    db.session.commit()
    flash(
        _(
            "Imported %(created)s records; %(skipped)s rows skipped as duplicates.",
            created=result.count("new"),
            skipped=result.count("skip"),
        ),
        "success",
    )
    target = "contacts.index" if staged.kind == "contacts" else "organisations.index"
    return redirect(url_for(target))


def _csv_response(text: str, filename: str) -> Response:
    return Response(
        text.encode("utf-8"),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@bp.route("/export/organisations.csv", methods=["POST"])
@editor_required
def export_organisations():
    """Every organisation as a spreadsheet-safe CSV file."""
    text = services.export_organisations(delimiter=_delimiter())
    db.session.commit()
    return _csv_response(text, "organisations.csv")


@bp.route("/export/contacts.csv", methods=["POST"])
@admin_required
def export_contacts():
    """Contacts (no sensitive fields, none restricted or erased) as a CSV file; admins only."""
    text = services.export_contacts(delimiter=_delimiter())
    db.session.commit()
    return _csv_response(text, "contacts.csv")


@bp.route("/merge/<int:kept_id>/<int:other_id>", methods=["GET", "POST"])
@editor_required
def merge(kept_id: int, other_id: int):
    """Merge two contacts: choose the record to keep and, per field, whose value stays."""
    kept = duplicates.load_for_merge(kept_id)
    other = duplicates.load_for_merge(other_id)
    if kept is None or other is None or kept.id == other.id:
        abort(404)
    form = MergeForm()
    if form.validate_on_submit():
        choices = {name: request.form.get(name, "kept") for name in duplicates.MERGE_FIELDS}
        try:
            duplicates.merge_contacts(
                kept,
                other,
                choices=choices,
                kept_version=form.kept_version.data,
                other_version=form.other_version.data,
            )
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "danger")
            return redirect(url_for("imports.merge", kept_id=kept_id, other_id=other_id))
        except StaleDataError:
            # Someone changed or deleted one of the records while the form was open.
            db.session.rollback()
            flash(_("One of the records was changed meanwhile; check and try again."), "danger")
            return redirect(url_for("imports.merge", kept_id=kept_id, other_id=other_id))
        db.session.commit()
        flash(_("The contacts were merged into %(name)s.", name=kept.name), "success")
        return redirect(url_for("contacts.show", contact_id=kept.id))
    form.kept_version.data = kept.version
    form.other_version.data = other.version
    rows = [
        (name, services.CONTACT_FIELDS[name][0], _shown(kept, name), _shown(other, name))
        for name in duplicates.MERGE_FIELDS
    ]
    return render_template("imports/merge.html", kept=kept, other=other, form=form, rows=rows)


def _shown(contact: Contact, name: str) -> str:
    value = getattr(contact, name)
    label = getattr(value, "label", None)
    return str(label) if label is not None else (value or "")


@bp.app_template_global("duplicates_of")
def duplicates_of(contact: Contact) -> list:
    """Possible duplicates of a contact, for the notice on its page (editors only)."""
    if not current_user.is_authenticated or not current_user.can_edit or contact is None:
        return []
    return duplicates.duplicates_of(contact)
