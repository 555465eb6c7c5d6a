"""Who is asking: the signed-in user of the pages (Flask-Login) or the bearer token of the
API, and the role checks both share. The user table belongs to bando.accounts, which
plugs its loaders in at start-up (`init_loaders`), so core imports no capability."""

from collections.abc import Callable
from functools import wraps

from flask import abort, current_app
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from bando.core.extensions import login_manager


def init_app(app):
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Accedi per continuare.")
    login_manager.login_message_category = "info"


def init_loaders(app, *, user_by_id: Callable, user_by_token: Callable):
    """How a session's user id and an API token become a user (given by bando.accounts)."""
    login_manager.user_loader(user_by_id)
    app.extensions["bando.user_by_token"] = user_by_token


def user_by_token(token: str):
    return current_app.extensions["bando.user_by_token"](token)


def roles_required(*roles):
    """A page decorator: signed in and holding one of the roles, else 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
