"""Who is calling the API: a bearer token or the browser session (with a CSRF header)."""

from flask import current_app, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from crm.api.errors import ApiError
from crm.auth.services import user_for_api_token
from crm.extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _unauthorized(message: str, *, invalid_token: bool = False) -> ApiError:
    challenge = 'Bearer error="invalid_token"' if invalid_token else "Bearer"
    return ApiError(401, message, headers={"WWW-Authenticate": challenge})


def authenticate_request() -> None:
    """The API blueprint's `before_request`: identify the caller and check what it may do.

    A request that carries an Authorization header is judged by that header alone, even
    if a session cookie is present, so a revoked token can never fall back to the session.
    """
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _sep, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized(
                _('Send the token as "Authorization: Bearer <token>".'), invalid_token=True
            )
        user = user_for_api_token(token)
        if user is None:
            db.session.rollback()
            raise _unauthorized(
                _("The API token is invalid or has been revoked."), invalid_token=True
            )
        # Record the token's last use even if the request itself then fails.
        db.session.commit()
        # Flask-Login's own hook for "this request's user" (login_user uses it too); it
        # touches no session, so a token request never sets a cookie.
        current_app.login_manager._update_request_context_with_user(user)
    elif not current_user.is_authenticated:
        raise _unauthorized(_("Log in or send a valid API token."))
    elif request.method not in SAFE_METHODS and current_app.config.get("WTF_CSRF_ENABLED", True):
        # A session is sent by the browser on its own: a cross-site page could ride on it.
        try:
            validate_csrf(request.headers.get("X-CSRFToken"))
        except ValidationError:
            raise ApiError(
                403,
                _("Send the page's CSRF token in the X-CSRFToken header."),
            ) from None
    if request.method not in SAFE_METHODS and not current_user.can_edit:
        raise ApiError(403, _("Your role may read but not change records."))
