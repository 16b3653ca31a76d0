"""Vertskap: the hosting office's CRM. `create_app()` builds the Flask application."""

from flask import Flask, render_template, request
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session
from werkzeug.routing import IntegerConverter

from config import BASE_DIR, Config
from crm import extensions as ext
from crm.db import MAX_ID, SearchableMixin


def create_app(config: type[Config] | dict = Config) -> Flask:
    """Application factory."""
    app = Flask(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
        instance_path=str(BASE_DIR / "instance"),
    )
    if isinstance(config, dict):
        app.config.from_object(Config)
        app.config.update(config)
    else:
        app.config.from_object(config)
    from crm.security import register_security

    register_security(app)
    register_extensions(app)
    register_converters(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    """Bind the extensions to the app."""
    from crm import models  # noqa: F401  (every table on the metadata)
    from crm.auth.services import load_user_from_session
    from crm.i18n import select_locale, select_timezone

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        (BASE_DIR / "instance").mkdir(exist_ok=True)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # Sessions in UTC, whatever the server's TimeZone: instants then come back in
        # datetime.UTC, which the UTCDateTime columns pass on as they are (no conversion).
        options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
        connect_args = {"options": "-c timezone=UTC", **options.get("connect_args", {})}
        if not app.config.get("DATABASE_PREPARED_STATEMENTS", True):
            connect_args["prepare_threshold"] = None
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**options, "connect_args": connect_args}
    db = ext.db
    db.init_app(app)
    from crm import readonly

    readonly.init_app(app)  # after Flask-SQLAlchemy: its teardown then runs after this one
    ext.migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    ext.csrf.init_app(app)
    ext.babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    from crm.forms import install_form_translations

    install_form_translations()
    login_manager = ext.login_manager
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_user_from_session)
    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please log in to see this page.")
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            from crm.sqlite import configure_sqlite

            configure_sqlite(db.engine)


class IdConverter(IntegerConverter):
    """`<int:...>` up to the largest id the database holds: a larger number is a 404, not a
    query the database refuses. A route may still ask for another `max`."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def register_converters(app: Flask) -> None:
    """URL converters every blueprint's routes use."""
    app.url_map.converters["int"] = IdConverter


def register_blueprints(app: Flask) -> None:
    """Register every feature's blueprint."""
    from crm.api import bp as api_bp
    from crm.audit import bp as audit_bp
    from crm.auth import bp as auth_bp
    from crm.calendars import bp as calendars_bp
    from crm.contacts import bp as contacts_bp
    from crm.events import bp as events_bp
    from crm.followups import bp as followups_bp
    from crm.imports import bp as imports_bp
    from crm.main import bp as main_bp
    from crm.organisations import bp as organisations_bp
    from crm.privacy import bp as privacy_bp
    from crm.protocol import bp as protocol_bp
    from crm.reminders import bp as reminders_bp
    from crm.reports import bp as reports_bp

    for bp in (main_bp, auth_bp, organisations_bp, contacts_bp, events_bp):
        app.register_blueprint(bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(followups_bp)
    app.register_blueprint(reminders_bp)
    app.register_blueprint(calendars_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(privacy_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(protocol_bp)
    app.register_blueprint(api_bp)
    ext.csrf.exempt(api_bp)  # the API authenticates each request; browser calls send the token


def register_errorhandlers(app: Flask) -> None:
    """Friendly pages for 403/404/500 (JSON under /api/)."""

    def render_error(error):
        code = getattr(error, "code", 500) or 500
        if request.path.startswith("/api/"):
            from crm.api.errors import http_error_response

            if code >= 500:
                ext.db.session.rollback()
            return http_error_response(error)
        if code >= 500:
            ext.db.session.rollback()
        return render_template(f"errors/{code}.html"), code

    for code in (400, 403, 404, 405, 500):
        app.register_error_handler(code, render_error)

    def stale_record(error):
        # Two saves of one record in the same instant: both passed the version check, the
        # database's `WHERE version = :seen` let only the first through. The second user gets
        # the same clear conflict message as a save from a stale form, not a 500.
        ext.db.session.rollback()
        from crm.locking import conflict_message

        return render_template("errors/409.html", message=conflict_message()), 409

    from sqlalchemy.orm.exc import StaleDataError

    app.register_error_handler(StaleDataError, stale_record)


def register_template_helpers(app: Flask) -> None:
    """Filters and globals used by every template."""
    from crm.i18n import register_template_helpers as register

    app.jinja_env.add_extension("jinja2.ext.do")
    register(app)


def register_commands(app: Flask) -> None:
    """The `flask crm ...` commands."""
    from crm.cli import crm_cli

    app.cli.add_command(crm_cli)


@sa_event.listens_for(Session, "before_flush")
def _refresh_search_text(session, flush_context, instances):
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, SearchableMixin):
            obj.refresh_search_text()
