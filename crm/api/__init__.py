"""The JSON API under /api/."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from crm.api import views  # noqa: E402,F401
