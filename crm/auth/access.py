"""Who may do what: decorators that views use to state what they need."""

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from crm.enums import Role

__all__ = ["admin_required", "editor_required", "login_required", "require_login"]


def require_login():
    """A blueprint `before_request` hook: everything in it needs a logged-in user."""
    from crm.extensions import login_manager

    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def roles_required(*roles: Role):
    """Decorator: the current user must have one of the roles, else 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                from crm.extensions import login_manager

                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


editor_required = roles_required(Role.ADMIN, Role.COORDINATOR)
admin_required = roles_required(Role.ADMIN)
