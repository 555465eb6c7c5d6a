"""Signing in and out of the pages."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from bando.accounts.operations import authenticate

bp = Blueprint("auth", __name__)


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
