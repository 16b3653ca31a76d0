"""The audit trail: who changed which record when, logins, exports, erasures, token changes."""

from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/audit")

from crm.audit import views  # noqa: E402,F401
