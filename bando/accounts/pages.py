"""The pages of accounts: an organisation registers and confirms its address; people sign in
(throttled) and out, see their account and change their password."""

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo

from bando.accounts.limits import (
    confirmation_limit,
    login_limit,
    password_reset_limit,
    registration_limit,
)
from bando.accounts.operations import (
    CONFIRM_PATH,
    REGISTRATION_REFUSED,
    RESET_PATH,
    attempt_sign_in,
    change_password,
    confirm_email,
    is_invited,
    register_organisation,
    registration_problems,
    request_confirmation,
    request_password_reset,
    reset_minutes,
    reset_password,
    send_confirmation,
    user_for_confirmation,
    user_for_reset,
)
from bando.accounts.sessions import end_session, open_session
from bando.core.auth import session_secret, sign_in, sign_out
from bando.core.extensions import db
from bando.core.forms import place_errors
from bando.core.layout import role_links
from bando.core.operations import OperationError, commit
from bando.core.ratelimit import Throttled, wait_text
from workflows.organisation import FIELDS as ORGANISATION_FIELDS
from workflows.organisation import NON_PROFIT_FORMS

bp = Blueprint("auth", __name__)

# The registration's fields a person must fill (marked on the page, `required` for
# assistive technology); the rules of workflows.organisation say the same on the server.
REQUIRED_FIELDS = (
    "name",
    "tax_code",
    "legal_form",
    "pec",
    "address",
    "legal_representative",
    "email",
    "password",
    "password_confirm",
)


ROLE_NAMES = {
    "applicant": _l("Ente richiedente"),
    "officer": _l("Istruttore"),
    "evaluator": _l("Commissione di valutazione"),
    "finance": _l("Ufficio finanziario"),
    "admin": _l("Amministrazione"),
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
    password = PasswordField(_l("Password (almeno 12 caratteri)"))
    password_confirm = PasswordField(
        _l("Ripeti la password"),
        validators=[EqualTo("password", _l("Le due password non coincidono"))],
    )
    register = SubmitField(_l("Registra l'ente"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Non-profit forms only: a company that distributes profits cannot apply (the
        # server still refuses one sent anyway, saying why).
        self.legal_form.choices = [
            ("", _("— scegliere —")),
            *((code, _(label)) for code, label in NON_PROFIT_FORMS.items()),
        ]
        for name in REQUIRED_FIELDS:
            self[name].flags.required = True


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Campo obbligatorio"))])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Campo obbligatorio"))])


class ResendForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Campo obbligatorio"))])
    send = SubmitField(_l("Invia un nuovo collegamento"))


class ConfirmForm(FlaskForm):
    confirm = SubmitField(_l("Conferma l'indirizzo"))


class NewPasswordForm(FlaskForm):
    """The new password, twice: on the account's page and on the page of a mailed link."""

    password = PasswordField(
        _l("Nuova password (almeno 12 caratteri)"),
        validators=[DataRequired(_l("Campo obbligatorio"))],
    )
    password_confirm = PasswordField(
        _l("Ripeti la nuova password"), validators=[DataRequired(_l("Campo obbligatorio"))]
    )


class PasswordForm(NewPasswordForm):
    current_password = PasswordField(
        _l("Password attuale"), validators=[DataRequired(_l("Campo obbligatorio"))]
    )
    change = SubmitField(_l("Cambia la password"))


class ForgottenForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Campo obbligatorio"))])
    send = SubmitField(_l("Invia il collegamento"))


class ResetForm(NewPasswordForm):
    save = SubmitField(_l("Salva la nuova password"))


def _safe_next(target):
    if not target:
        return None
    parts = urlsplit(target)
    # Only paths on this site: no scheme, no host, no protocol-relative tricks.
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def landing(user) -> str:
    """Where a person goes after signing in: an applicant to the applications, staff to
    the page of their role (their account page while the role has none)."""
    for endpoint, _label in role_links(user):
        return url_for(endpoint)
    return url_for("auth.account")


def _throttled_login(form, throttled: Throttled):
    form.password.errors = [
        *form.password.errors,
        _(
            "Troppi tentativi non riusciti per questo account: per sicurezza il prossimo è "
            "possibile tra %(wait)s.",
            wait=wait_text(throttled.seconds),
        ),
    ]
    response = make_response(render_template("auth/login.html", form=form), 429)
    response.headers["Retry-After"] = str(throttled.seconds)
    return response


@bp.route("/accedi", methods=["GET", "POST"])
@login_limit
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = attempt_sign_in(form.email.data, form.password.data)
        except Throttled as throttled:
            return _throttled_login(form, throttled)
        if user is None:
            g.sign_in_failed = True
            # A deactivated account is told apart from none: the words cover both.
            flash(
                _(
                    "Email o password non corretti. Un account disattivato non accede: in "
                    "quel caso rivolgersi all'ufficio che gestisce il bando."
                ),
                "danger",
            )
        else:
            end_session(session_secret(), reason="replaced")  # whoever was signed in here
            secret = open_session(user)
            db.session.commit()
            sign_in(user, secret)
            flash(_("Accesso effettuato."), "success")
            if user.role == "applicant" and not user.email_confirmed:
                flash(
                    _(
                        "L'indirizzo email non è ancora confermato: seguire il collegamento "
                        "ricevuto per poter presentare la domanda. Se ne può chiedere "
                        "uno nuovo dalla pagina «Account»."
                    ),
                    "warning",
                )
            return redirect(_safe_next(request.args.get("next")) or landing(user))
    return render_template("auth/login.html", form=form)


@bp.route("/esci", methods=["POST"])
def logout():
    end_session(sign_out())
    db.session.commit()
    flash(_("Uscita da bando eseguita."), "info")
    return redirect(url_for("public.index"))


@bp.route("/registrazione", methods=["GET", "POST"])
@registration_limit
def register():
    if current_user.is_authenticated:
        return redirect(landing(current_user))
    form = RegistrationForm()
    if not form.is_submitted():
        return render_template("auth/register.html", form=form)
    if not form.validate() and "csrf_token" in form.errors:
        return render_template("auth/register.html", form=form), 400
    organisation = {name: getattr(form, name).data for name in ORGANISATION_FIELDS}
    organisation["withholding_exempt"] = bool(organisation["withholding_exempt"])
    account = {
        "email": form.email.data or "",
        "password": form.password.data or "",
        "full_name": form.full_name.data or "",
        "organisation": organisation,
    }
    try:
        if form.errors:  # the passwords differ: the rest is checked too, every problem at once
            raise OperationError(422, REGISTRATION_REFUSED, registration_problems(account)[2])
        register_organisation(account)
    except OperationError as error:
        db.session.rollback()
        place_errors(form, error.errors)
        flash(
            _("La registrazione non è andata a buon fine: correggere i campi indicati."),
            "danger",
        )
        return render_template("auth/register.html", form=form), 422
    # The same answer whether or not the address already had an account.
    commit()
    return redirect(url_for("auth.registered"))


@bp.route("/registrazione/inviata")
def registered():
    return render_template("auth/registered.html")


@bp.route(CONFIRM_PATH + "<token>", methods=["GET", "POST"])
def confirm(token):
    """The link of the confirmation e-mail: the page asks for one click (a POST), so that a
    mail scanner opening links confirms nothing."""
    g.private = True  # the address is a secret: no cache keeps the page
    try:
        user = user_for_confirmation(token)
    except OperationError as error:
        return render_template("auth/confirm.html", problem=error.message), 400
    form = ConfirmForm()
    if form.validate_on_submit():
        confirm_email(token)
        db.session.commit()
        flash(_("Indirizzo email confermato: ora è possibile presentare le domande."), "success")
        if current_user.is_authenticated and current_user.id == user.id:
            return redirect(landing(user))
        return redirect(url_for("auth.login"))
    return render_template("auth/confirm.html", form=form, user=user, problem=None)


@bp.route("/conferma", methods=["GET", "POST"])
@confirmation_limit
def resend_confirmation():
    """A new confirmation link: for the signed-in person, or for any address typed (the
    answer never says whether it has an account)."""
    form = ResendForm()
    if request.method == "GET" and current_user.is_authenticated:
        form.email.data = current_user.email
    if form.validate_on_submit():
        if current_user.is_authenticated and form.email.data.strip().lower() == (
            current_user.email
        ):
            send_confirmation(current_user)
        else:
            request_confirmation(form.email.data)
        db.session.commit()
        flash(
            _(
                "Se l'indirizzo appartiene a un account non ancora confermato, riceverà a "
                "breve un nuovo collegamento di conferma."
            ),
            "info",
        )
        if current_user.is_authenticated:
            return redirect(url_for("auth.account"))
        return redirect(url_for("auth.login"))
    return render_template(
        "auth/ask_link.html",
        form=form,
        heading=_("Nuovo collegamento di conferma"),
        lead=_(
            "Indicare l'email dell'account: se non è ancora confermata, arriverà un nuovo "
            "collegamento per confermarla."
        ),
    )


@bp.route("/password/dimenticata", methods=["GET", "POST"])
@password_reset_limit
def forgotten_password():
    """A link to choose a new password, mailed to the address typed when it has an account
    (the answer never says whether it has one)."""
    form = ForgottenForm()
    if form.validate_on_submit():
        request_password_reset(form.email.data)
        db.session.commit()
        flash(
            _(
                "Se l'indirizzo appartiene a un account, riceverà a breve un collegamento "
                "per scegliere una nuova password (vale %(minutes)d minuti).",
                minutes=reset_minutes(),
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template(
        "auth/ask_link.html",
        form=form,
        heading=_("Password dimenticata"),
        lead=_(
            "Indicare l'email dell'account: arriverà un collegamento per scegliere una nuova "
            "password. Fino ad allora la password attuale resta valida."
        ),
    )


RESET_PROBLEMS = {
    "link_expired": _l("Il collegamento è scaduto: chiederne uno nuovo."),
    "link_invalid": _l("Il collegamento non è valido o è già stato usato: chiederne uno nuovo."),
}


def _spent_link(error: OperationError):
    problem = RESET_PROBLEMS.get(error.code, RESET_PROBLEMS["link_invalid"])
    return render_template("auth/reset.html", problem=problem), 400


@bp.route(RESET_PATH + "<token>", methods=["GET", "POST"])
def reset(token):
    """The page of the mailed link: the new password, twice. Saving it spends the link and
    ends every open session of the account, this browser's included."""
    g.private = True  # the address is a secret: no cache keeps the page
    try:
        user = user_for_reset(token)
    except OperationError as error:
        return _spent_link(error)
    form = ResetForm()
    if form.validate_on_submit():
        try:
            reset_password(token, form.password.data, form.password_confirm.data)
        except OperationError as error:
            db.session.rollback()
            if error.status == 400:  # spent meanwhile, by another tab or request
                return _spent_link(error)
            place_errors(form, error.errors)
            return (
                render_template(
                    "auth/reset.html", form=form, user=user, problem=None, first=is_invited(user)
                ),
                422,
            )
        commit()
        flash(_("Password salvata: ora si può accedere con la nuova password."), "success")
        return redirect(url_for("auth.login"))
    status = 422 if form.errors else 200
    return (
        render_template(
            "auth/reset.html", form=form, user=user, problem=None, first=is_invited(user)
        ),
        status,
    )


@bp.route("/profilo")
@login_required
def account():
    return render_template(
        "auth/account.html",
        resend=ResendForm(email=current_user.email),
        role=ROLE_NAMES.get(current_user.role, current_user.role),
    )


@bp.route("/profilo/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            change_password(
                current_user,
                form.current_password.data,
                form.password.data,
                form.password_confirm.data,
                keep_session=session_secret(),
            )
        except Throttled as throttled:
            db.session.rollback()
            form.current_password.errors = [
                _(
                    "Troppi tentativi non riusciti: riprovare tra %(wait)s.",
                    wait=wait_text(throttled.seconds),
                )
            ]
            response = make_response(render_template("auth/password.html", form=form), 429)
            response.headers["Retry-After"] = str(throttled.seconds)
            return response
        except OperationError as error:
            db.session.rollback()
            place_errors(form, error.errors)
            return render_template("auth/password.html", form=form), 422
        commit()
        flash(_("Password cambiata: gli altri accessi all'account sono stati chiusi."), "success")
        return redirect(url_for("auth.account"))
    return render_template("auth/password.html", form=form)
