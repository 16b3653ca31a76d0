"""Indicators of international activity: the dashboard, CSV exports and the annual report."""

from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")

from crm.reports import views  # noqa: E402,F401
