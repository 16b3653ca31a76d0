"""Log in, log out, and (for admins) manage staff users."""

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from crm.auth import bp, services
from crm.auth.access import admin_required, login_required
from crm.auth.forms import LoginForm, UserForm
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
    """Show the login form and log the user in."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            db.session.rollback()
            form.form_errors.append(_("Wrong email or password."))
        else:
            lang = session.get("lang")
            session.clear()  # a fresh session at login
            if lang and not user.locale:
                user.locale = lang
            db.session.commit()
            login_user(user, remember=form.remember.data)
            flash(_("Welcome, %(name)s.", name=user.display_name), "success")
            return redirect(safe_next(request.args.get("next")) or url_for("main.home"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Log out and end this user's sessions everywhere (old cookies stop working)."""
    services.end_sessions(current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


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
    form = UserForm()
    if form.validate_on_submit():
        if not form.password.data:
            form.password.errors.append(_("Enter a password for the new user."))
        else:
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
            return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=user)
