"""Personal data rights: consent and legal basis, export, erasure, restriction, retention."""

from flask import Blueprint

bp = Blueprint("privacy", __name__, url_prefix="/privacy")

from crm.privacy import views  # noqa: E402,F401
