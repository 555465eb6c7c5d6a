"""Sign-in for the pages (Flask-Login) and the role checks shared by pages and API."""

from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from .extensions import db, login_manager
from .models import User
from .users import authenticate

bp = Blueprint("auth", __name__)


def init_app(app):
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Accedi per continuare.")
    login_manager.login_message_category = "info"


@login_manager.user_loader
def load_user(user_id):
    try:
        return db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None


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


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Campo obbligatorio"))])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Campo obbligatorio"))])


def _safe_next(target):
    if not target:
        return None
    parts = urlsplit(target)
    # Only paths on this site: no scheme, no host, no protocol-relative tricks.
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/accedi", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is None:
            flash(_("Email o password non corretti."), "danger")
        else:
            login_user(user)
            flash(_("Accesso effettuato."), "success")
            return redirect(_safe_next(request.args.get("next")) or url_for("public.index"))
    return render_template("auth/login.html", form=form)


@bp.route("/esci", methods=["POST"])
def logout():
    logout_user()
    flash(_("Sei uscito da bando."), "info")
    return redirect(url_for("public.index"))
