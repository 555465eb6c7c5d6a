"""The pages of accounts: an organisation registers; people sign in and out."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo

from bando.accounts.operations import authenticate, register_organisation
from bando.core.extensions import db
from bando.core.forms import place_errors
from bando.core.operations import OperationError, commit
from workflows.organisation import FIELDS as ORGANISATION_FIELDS
from workflows.organisation import FOR_PROFIT_FORMS, NON_PROFIT_FORMS

bp = Blueprint("auth", __name__)


def _legal_form_choices():
    return {
        str(_l("Enti senza scopo di lucro")): list(NON_PROFIT_FORMS.items()),
        str(_l("Imprese con scopo di lucro (non ammesse)")): [
            (code, label[0].upper() + label[1:]) for code, label in FOR_PROFIT_FORMS.items()
        ],
    }


class RegistrationForm(FlaskForm):
    name = StringField(_l("Denominazione dell'ente"))
    tax_code = StringField(_l("Codice fiscale dell'ente"))
    vat_number = StringField(_l("Partita IVA (se l'ente ne ha una)"))
    legal_form = SelectField(_l("Forma giuridica"), validate_choice=False)
    pec = EmailField(_l("Indirizzo PEC"))
    address = StringField(_l("Sede legale (indirizzo completo)"))
    legal_representative = StringField(_l("Legale rappresentante (nome e cognome)"))
    runts_number = StringField(_l("Numero di iscrizione al RUNTS (se iscritto)"))
    withholding_exempt = BooleanField(
        _l("L'ente NON è soggetto alla ritenuta d'acconto del 4 % (art. 28 DPR 600/1973)")
    )
    withholding_reason = StringField(_l("Motivo dell'esenzione (norma di riferimento)"))
    full_name = StringField(_l("Nome e cognome di chi compila"))
    email = EmailField(_l("Email per accedere"))
    password = PasswordField(_l("Password (almeno 10 caratteri)"))
    password_confirm = PasswordField(
        _l("Ripeti la password"),
        validators=[EqualTo("password", _l("Le due password non coincidono"))],
    )
    register = SubmitField(_l("Registra l'ente"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.legal_form.choices = {"": [("", _("— scegliere —"))], **_legal_form_choices()}


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


@bp.route("/registrazione", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("applicant.dashboard"))
    form = RegistrationForm()
    if form.validate_on_submit():
        organisation = {name: getattr(form, name).data for name in ORGANISATION_FIELDS}
        organisation["withholding_exempt"] = bool(organisation["withholding_exempt"])
        account = {
            "email": form.email.data or "",
            "password": form.password.data or "",
            "full_name": form.full_name.data or "",
            "organisation": organisation,
        }
        try:
            user = register_organisation(account)
        except OperationError as error:
            db.session.rollback()
            place_errors(form, error.errors)
            flash(
                _("La registrazione non è andata a buon fine: correggere i campi indicati."),
                "danger",
            )
        else:
            commit()
            login_user(user)
            flash(_("Ente registrato. Ora è possibile compilare la domanda."), "success")
            return redirect(url_for("applicant.dashboard"))
    return render_template("auth/register.html", form=form)
