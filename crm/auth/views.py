"""Log in, log out, and (for admins) manage staff users."""

from urllib.parse import urlsplit

from flask import (
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from crm.audit.services import acting_as, record
from crm.auth import bp, services, throttle
from crm.auth.access import admin_required, login_required
from crm.auth.forms import LanguageForm, LoginForm, NewUserForm, PasswordChangeForm, UserForm
from crm.auth.models import User
from crm.errors import ServiceError
from crm.extensions import db
from crm.forms import apply_service_error


def safe_next(target: str | None) -> str | None:
    """Only same-site paths are followed after login (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form and log the user in (throttled per account and per address)."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        if throttle.reserve(form.email.data, client_ip()) is None:
            return too_many_attempts("auth/login.html", form=form)
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:  # the reserved attempt stays counted as a failure
            db.session.rollback()
            record(
                "login_failed",
                object_type="user",
                label=services.normalise_email(form.email.data)[:254],
            )
            db.session.commit()
            form.form_errors.append(_("Wrong email or password."))
        else:
            throttle.clear_failures(user.email)
            lang = session.get("lang")
            session.clear()  # a fresh session at login
            if lang and not user.locale:
                user.locale = lang
            record("login", user, user=user)
            with acting_as(user):  # a hash upgraded at login is the user's own change
                db.session.commit()
            login_user(user, remember=form.remember.data)
            flash(_("Welcome, %(name)s.", name=user.display_name), "success")
            return redirect(safe_next(request.args.get("next")) or url_for("main.home"))
    return render_template("auth/login.html", form=form)


def client_ip() -> str:
    """The client's address (behind a proxy: set PROXY_COUNT so that this is the real one)."""
    return request.remote_addr or "unknown"


def too_many_attempts(template: str, **context):
    """429 with the form and a message saying when to try again; the same for every account."""
    minutes = max(1, current_app.config["LOGIN_WINDOW"] // 60)
    context["form"].form_errors.append(
        _(
            "Too many failed attempts. Please wait %(minutes)d minutes and try again.",
            minutes=minutes,
        )
    )
    response = make_response(render_template(template, **context), 429)
    response.headers["Retry-After"] = str(current_app.config["LOGIN_WINDOW"])
    return response


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Log out and end this user's sessions everywhere (old cookies stop working)."""
    user = current_user._get_current_object()
    services.end_sessions(user)
    record("logout", user, user=user)
    db.session.commit()
    lang = session.get("lang")
    logout_user()
    session.clear()
    session["_remember"] = "clear"  # Flask-Login deletes the remember-me cookie too
    if lang:
        session["lang"] = lang
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account")
@login_required
def account():
    """The logged-in user's own settings: language and password."""
    return render_account()


def render_account(language_form=None, password_form=None, status=200):
    """The account page with its two forms."""
    if language_form is None:
        language_form = LanguageForm(formdata=None, locale=current_user.locale or "")
    return (
        render_template(
            "auth/account.html",
            language_form=language_form,
            password_form=password_form or PasswordChangeForm(formdata=None),
        ),
        status,
    )


@bp.route("/account/language", methods=["POST"])
@login_required
def account_language():
    """Save the user's language."""
    form = LanguageForm()
    if form.validate_on_submit():
        try:
            services.set_locale(current_user, form.locale.data)
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            db.session.commit()
            if form.locale.data:
                session["lang"] = form.locale.data
            else:
                session.pop("lang", None)
            flash(_("Your language is saved."), "success")
            return redirect(url_for("auth.account"))
    return render_account(language_form=form)


@bp.route("/account/password", methods=["POST"])
@login_required
def account_password():
    """Change one's own password; every other session of the user ends."""
    form = PasswordChangeForm()
    user = current_user._get_current_object()
    if form.validate_on_submit():
        attempt = throttle.reserve(user.email, client_ip())
        if attempt is None:
            return too_many_attempts(
                "auth/account.html",
                form=form,
                password_form=form,
                language_form=LanguageForm(formdata=None, locale=user.locale or ""),
            )
        try:
            services.change_password(
                user,
                current_password=form.current_password.data,
                new_password=form.new_password.data,
            )
        except ServiceError as error:
            db.session.rollback()
            if error.field != "current_password":
                # only a guessed current password counts like a failed login
                throttle.release(attempt)
            apply_service_error(form, error)
        else:
            db.session.delete(attempt)
            db.session.commit()
            remember = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
            lang = session.get("lang")
            session.clear()  # a fresh session, carrying the new session version
            if lang:
                session["lang"] = lang
            login_user(user, remember=remember in request.cookies)
            flash(_("Your password is changed. Your other sessions have ended."), "success")
            return redirect(url_for("auth.account"))
    return render_account(password_form=form)


@bp.route("/users")
@admin_required
def users():
    """List staff users."""
    rows = db.session.scalars(select(User).order_by(User.name, User.email)).all()
    return render_template("auth/users.html", users=rows)


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def new_user():
    """Create a staff user."""
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user = services.create_user(
                email=form.email.data,
                password=form.password.data,
                role=form.role.data,
                name=form.name.data or "",
            )
            user.is_active_user = form.is_active.data
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            db.session.commit()
            flash(_("User %(name)s created.", name=user.display_name), "success")
            return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_user(user_id: int):
    """Edit a staff user's name, role, active flag or password."""
    user = db.get_or_404(User, user_id)
    form = UserForm(obj=user)
    form.email.render_kw = {"readonly": True}
    if request.method == "GET":
        form.is_active.data = user.is_active_user
    was_active = user.is_active_user
    if form.validate_on_submit():
        try:
            services.update_user(
                user,
                name=form.name.data or "",
                role=form.role.data,
                is_active=form.is_active.data,
                acting=current_user,
            )
            if form.password.data:
                services.set_password(user, form.password.data)
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            db.session.commit()
            flash(_("User %(name)s saved.", name=user.display_name), "success")
            if was_active and not user.is_active_user:
                _warn_of_open_followups(user)
            return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=user)


def _warn_of_open_followups(user: User) -> None:
    """Say so when a deactivated user still has open follow-ups: nobody else sees them as theirs."""
    from crm.followups.services import count_open_followups

    count = count_open_followups(assignee_id=user.id)
    if count:
        flash(
            _(
                "%(name)s is inactive but still has open follow-ups: %(count)s."
                " Reassign them if someone else should do them.",
                name=user.display_name,
                count=count,
            ),
            "warning",
        )
