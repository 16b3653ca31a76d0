"""Pages that belong to no single feature."""

from flask import current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import text

from crm.auth.access import login_required
from crm.auth.views import safe_next
from crm.extensions import db
from crm.main import bp


@bp.route("/")
@login_required
def home():
    """The logged-in user's start page."""
    from crm.main.services import home_overview

    return render_template("main/home.html", **home_overview(current_user))


@bp.route("/language", methods=["POST"])
def set_language():
    """Switch the UI language; remembered for the user (or the session when logged out)."""
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated:
            current_user.locale = lang
            db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for("main.home"))


@bp.route("/accessibility")
def accessibility():
    """The accessibility statement (public)."""
    return render_template("main/accessibility.html")


@bp.route("/healthz")
def healthz():
    """Health check: 200 when the database answers, 503 when it does not."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:  # any failure to reach the database is "unhealthy"
        db.session.rollback()
        current_app.logger.warning("health check failed: %s", error)
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
