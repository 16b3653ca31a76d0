"""The audit trail for administrators, and the per-record history partial."""

from flask import render_template, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crm.audit import bp, services
from crm.audit.forms import AuditFilterForm
from crm.audit.models import AuditEntry
from crm.auth.access import admin_required
from crm.auth.models import User
from crm.extensions import db
from crm.pagination import paginate


@bp.route("/")
@admin_required
def index():
    """Every entry, newest first; filter by user, record type, action and dates."""
    form = AuditFilterForm(request.args)
    users = db.session.scalars(select(User).order_by(User.email)).all()
    form.user.choices = [("", "—"), *((str(u.id), u.email) for u in users)]
    form.object_type.choices = [("", "—"), *((t, t) for t in services.object_types())]
    form.action.choices = [("", "—"), *((k, str(v)) for k, v in services.ACTIONS.items())]
    valid = form.validate() if request.args else True
    stmt = services.audit_query(
        user_id=int(form.user.data) if (form.user.data or "").isdigit() else None,
        object_type=form.object_type.data or "",
        action=form.action.data or "",
        date_from=form.date_from.data if valid else None,
        date_to=form.date_to.data if valid else None,
    ).options(selectinload(AuditEntry.user))
    page = paginate(stmt)
    return render_template("audit/index.html", form=form, page=page)


@bp.app_template_global("audit_history")
def audit_history(obj, limit: int = 50) -> list[AuditEntry]:
    """The latest entries about a record, for `templates/audit/_history.html` (staff only)."""
    if not current_user.is_authenticated or obj is None:
        return []
    return services.history(obj, limit=limit)


@bp.app_template_filter("audit_action")
def audit_action(action: str) -> str:
    """An action's label in the user's language."""
    label = services.ACTIONS.get(action)
    return str(label) if label else action
