"""Contact pages (stub, being written)."""

from flask import abort

from crm.auth.access import require_login
from crm.contacts import bp

bp.before_request(require_login)


@bp.route("/")
def index():
    """List contacts."""
    abort(404)


@bp.route("/<int:contact_id>")
def show(contact_id: int):
    """A contact."""
    abort(404)
