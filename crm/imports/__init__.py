"""CSV import and export of organisations and contacts; duplicate detection and merge."""

from flask import Blueprint

bp = Blueprint("imports", __name__, url_prefix="/data")

from crm.imports import views  # noqa: E402,F401
