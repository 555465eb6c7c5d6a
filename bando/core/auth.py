"""Who is asking: the signed-in user of the pages (Flask-Login over a server-side session)
or the bearer token of the API, and the role checks both share. The user and session
tables belong to bando.accounts, which plugs its loaders in at start-up (`init_loaders`),
so core imports no capability.

A page session is a row of its own: the signed cookie carries the user's id and the
session's secret (SESSION_KEY); the loader accepts the pair only while the row is live
(not ended by sign-out, password change or deactivation, within the idle and absolute
timeouts), so a cookie copied before sign-out opens nothing afterwards."""

from collections.abc import Callable
from functools import wraps

from flask import abort, current_app, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

from bando.core import ratelimit
from bando.core.extensions import login_manager

SESSION_KEY = "_sid"


def init_app(app):
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Per continuare occorre accedere.")
    login_manager.login_message_category = "info"
    # Sign-in is what the rate limits protect first: they are set up with it.
    ratelimit.init_app(app)

    @app.before_request
    def _load_user_first():
        # The loader may note the session's last activity on a connection of its own:
        # done before the request writes anything, so the two never wait on each other.
        if SESSION_KEY in session and request.endpoint != "static":
            _ = current_user.is_authenticated


def init_loaders(app, *, user_by_session: Callable, user_by_token: Callable):
    """How a page session and an API token become a user (given by bando.accounts):
    user_by_session(user_id, secret) and user_by_token(token), None when not valid."""
    app.extensions["bando.user_by_session"] = user_by_session
    app.extensions["bando.user_by_token"] = user_by_token
    login_manager.user_loader(_user_for_session)


def _user_for_session(user_id):
    secret = session.get(SESSION_KEY)
    if not secret:
        return None
    return current_app.extensions["bando.user_by_session"](user_id, secret)


def user_by_token(token: str):
    return current_app.extensions["bando.user_by_token"](token)


def sign_in(user, secret: str) -> None:
    """The browser's session becomes `user`'s, tied to the server-side session `secret`."""
    login_user(user)
    session[SESSION_KEY] = secret


def sign_out() -> str | None:
    """Forgets the signed-in user in the browser; returns the secret of the session that
    the caller ends on the server."""
    secret = session.pop(SESSION_KEY, None)
    logout_user()
    return secret


def session_secret() -> str | None:
    return session.get(SESSION_KEY)


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


def signed_in_user():
    """The user of this request as the plain object the operations take as their actor
    (pages pass it explicitly; business code never reads the request's user itself)."""
    return current_user._get_current_object()
