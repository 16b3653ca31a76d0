"""Event pages (stub, being written)."""

from flask import abort

from crm.auth.access import require_login
from crm.events import bp

bp.before_request(require_login)


@bp.route("/")
def index():
    """List events."""
    abort(404)


@bp.route("/new")
def new():
    """New event."""
    abort(404)


@bp.route("/<int:event_id>")
def show(event_id: int):
    """An event."""
    abort(404)
