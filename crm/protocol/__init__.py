"""The protocol office's own tools: programme details and conflicts, agreements, gifts."""

from flask import Blueprint

bp = Blueprint("protocol", __name__)

from crm.protocol import views  # noqa: E402,F401
