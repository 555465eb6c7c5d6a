"""The administrator's pages (amministrazione): the accounts, found by role, status or
text, a staff account made (the person chooses the password through a mailed link),
deactivated, reactivated or sent a password link; the calls, and a call file loaded; the
audit chain checked. Thin views over bando.admin.operations, the same the API calls."""

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import func, select
from wtforms import EmailField, SelectField, StringField, SubmitField

from bando.accounts.models import ROLES, STAFF_ROLES, User
from bando.accounts.operations import EMAIL_LENGTH, NAME_LENGTH
from bando.accounts.pages import ROLE_NAMES
from bando.admin import operations
from bando.admin.schemas import CALL_FILE_CHARS, FIRST_DAY, LAST_DAY
from bando.calls.models import Edition
from bando.core.auth import roles_required, signed_in_user
from bando.core.extensions import db
from bando.core.forms import place_errors
from bando.core.labels import SUBJECT_LABELS
from bando.core.layout import EDITION_STATUS, edition_status, paging
from bando.core.operations import OperationError, commit
from bando.core.schemas import one_line

bp = Blueprint("admin", __name__, url_prefix="/amministrazione")

PER_PAGE = 50
STATUS_NAMES = {"active": _l("Attivi"), "inactive": _l("Disattivati")}
# An operation's refusal in the page's language, by its code (the API says it in Italian).
REFUSALS = {
    "own_account": _l("non si può disattivare il proprio account"),
    "already_inactive": _l("l'account è già disattivato"),
    "inactive": _l("l'account è disattivato: riattivarlo prima"),
    "active": _l("l'account è già attivo"),
    "last_admin": _l("non resterebbe alcun amministratore attivo"),
    "too_many_links": _l(
        "all'account sono già stati inviati diversi collegamenti nell'ultima ora: riprovare "
        "più tardi"
    ),
}
ACTIONS = {
    "disattiva": (
        operations.deactivate,
        _l("Account disattivato: gli accessi aperti sono chiusi."),
    ),
    "riattiva": (operations.reactivate, _l("Account riattivato.")),
    "collegamento": (
        operations.send_password_link,
        _l("Collegamento per scegliere una nuova password inviato all'indirizzo dell'account."),
    ),
}


class NewStaffForm(FlaskForm):
    email = EmailField(_l("Email"), render_kw={"maxlength": EMAIL_LENGTH})
    full_name = StringField(_l("Nome e cognome"), render_kw={"maxlength": NAME_LENGTH})
    # Checked by the operation with the address, so that both problems are told at once.
    role = SelectField(_l("Ruolo"), validate_choice=False)
    create = SubmitField(_l("Crea l'account e invia l'invito"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = [("", _("— scegliere —"))] + [
            (role, ROLE_NAMES[role]) for role in STAFF_ROLES
        ]
        self.email.flags.required = self.role.flags.required = True


class ActionForm(FlaskForm):
    """A button that changes an account: the CSRF token only."""


class CallFileForm(FlaskForm):
    file = FileField(_l("File del bando (TOML)"))
    load = SubmitField(_l("Carica il bando"))


@bp.route("/")
@roles_required("admin")
def dashboard():
    counts = db.session.execute(
        select(User.role, User.active, func.count(User.id)).group_by(User.role, User.active)
    ).all()
    by_role = {role: {"active": 0, "inactive": 0} for role in ROLES}
    for role, active, count in counts:
        by_role[role]["active" if active else "inactive"] += count
    return render_template(
        "admin/dashboard.html",
        by_role=by_role,
        role_names=ROLE_NAMES,
        editions=db.session.scalar(select(func.count(Edition.id))),
    )


def _text_filter() -> str:
    """The `q` of the query string: one line of at most 100 characters, or nothing."""
    try:
        return one_line(request.args.get("q", "")[:100])
    except ValueError:
        return ""


def _filters() -> dict:
    """The list's filters from the query string; a value that is none of the choices is
    left out, a text with control characters too."""
    filters = {}
    if (role := request.args.get("ruolo")) in ROLES:
        filters["ruolo"] = role
    if (status := request.args.get("stato")) in STATUS_NAMES:
        filters["stato"] = status
    if text := _text_filter():
        filters["q"] = text
    return filters


@bp.route("/utenti")
@roles_required("admin")
def users():
    filters = _filters()
    where = operations.matching(
        role=filters.get("ruolo"), status=filters.get("stato"), text=filters.get("q")
    )
    total = operations.count_users(where)
    shown = paging(total, PER_PAGE)
    rows = operations.users(where, limit=PER_PAGE, offset=shown.offset)
    return render_template(
        "admin/users.html",
        rows=rows,
        total=total,
        paging=shown,
        filters=filters,
        role_names=ROLE_NAMES,
        status_names=STATUS_NAMES,
    )


@bp.route("/utenti/nuovo", methods=["GET", "POST"])
@roles_required("admin")
def new_user():
    form = NewStaffForm()
    if not form.validate_on_submit():
        status = 422 if form.errors else 200
        return render_template("admin/user_new.html", form=form), status
    try:
        made = operations.invite_staff(
            signed_in_user(), form.email.data, form.role.data, form.full_name.data or ""
        )
        commit("un account con questo indirizzo è appena stato creato", code="user_exists")
    except OperationError as error:
        db.session.rollback()
        errors = error.errors or {"email": [error.message]}
        loose = place_errors(form, errors)
        return render_template("admin/user_new.html", form=form, loose=loose), error.status
    flash(
        _(
            "Account creato: a %(email)s è stato inviato il collegamento per scegliere la "
            "password.",
            email=made.email,
        ),
        "success",
    )
    return redirect(url_for("admin.user", user_id=made.id))


def _user_or_404(user_id) -> User:
    user = operations.user_or_none(user_id)
    if user is None:
        abort(404)
    return user


def _user_page(user: User, status: int = 200, problem: str | None = None):
    return (
        render_template(
            "admin/user.html",
            account=user,
            role_names=ROLE_NAMES,
            history=operations.account_history(user),
            form=ActionForm(),
            problem=problem,
            is_self=user.id == signed_in_user().id,
        ),
        status,
    )


@bp.route("/utenti/<int:user_id>")
@roles_required("admin")
def user(user_id):
    return _user_page(_user_or_404(user_id))


@bp.route("/utenti/<int:user_id>/disattiva")
@roles_required("admin")
def confirm_deactivation(user_id):
    """The deactivation is asked once more, saying what it does, before it is done."""
    account = _user_or_404(user_id)
    return render_template(
        "admin/confirm_deactivation.html",
        account=account,
        role_names=ROLE_NAMES,
        form=ActionForm(),
        is_self=account.id == signed_in_user().id,
    )


@bp.route("/utenti/<int:user_id>/<any(disattiva, riattiva, collegamento):action>", methods=["POST"])
@roles_required("admin")
def user_action(user_id, action):
    account = _user_or_404(user_id)
    operation, done = ACTIONS[action]
    try:
        operation(signed_in_user(), account)
        commit()
    except OperationError as error:
        db.session.rollback()
        return _user_page(
            _user_or_404(user_id), error.status, REFUSALS.get(error.code, error.message)
        )
    flash(str(done), "success")
    return redirect(url_for("admin.user", user_id=account.id))


@bp.route("/bandi", methods=["GET", "POST"])
@roles_required("admin")
def calls():
    form = CallFileForm()
    problems, status = None, 200
    if form.validate_on_submit():
        upload = request.files.get(form.file.name)
        if upload is None or not upload.filename:
            problems, status = {"": [_("Scegliere il file del bando.")]}, 422
        else:
            # A call file is a few kilobytes: what is read stops one byte past the limit.
            content = upload.read(CALL_FILE_CHARS + 1)
            if len(content) > CALL_FILE_CHARS:
                problems, status = {"": [_("Il file è troppo grande per un bando.")]}, 422
            else:
                name = _file_name(upload.filename)
                try:
                    edition, created = operations.load_call_file(signed_in_user(), content, name)
                except OperationError as error:
                    problems, status = error.errors, error.status
                else:
                    message = (
                        _("Bando «%(code)s» caricato, nello stato «%(state)s».")
                        if created
                        else _("Bando «%(code)s» aggiornato, nello stato «%(state)s».")
                    )
                    state = EDITION_STATUS[edition_status(edition)][0]
                    flash(message % {"code": edition.code, "state": state}, "success")
                    return redirect(url_for("admin.calls"))
    editions = db.session.scalars(select(Edition).order_by(Edition.opens_at.desc())).all()
    return (
        render_template(
            "admin/calls.html",
            form=form,
            problems=problems,
            editions=editions,
            status_of=edition_status,
            statuses=EDITION_STATUS,
            max_kb=CALL_FILE_CHARS // 1000,
        ),
        status,
    )


def _file_name(name: str) -> str:
    """The uploaded file's own name, for the trail: no folders, one line, not too long."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1][:100]
    try:
        return one_line(name) or "bando.toml"
    except ValueError:
        return "bando.toml"


def _day(name: str) -> date | None:
    try:
        day = date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None
    return day if FIRST_DAY <= day <= LAST_DAY else None


def _audit_filters(codes: dict[str, int]) -> dict:
    """The register's filters from the query string, as _filters (a day is YYYY-MM-DD, as
    the date field sends it)."""
    filters = {}
    if (subject := request.args.get("oggetto")) in SUBJECT_LABELS:
        filters["oggetto"] = subject
    if (code := request.args.get("bando")) in codes:
        filters["bando"] = code
    if text := _text_filter():
        filters["q"] = text
    for name in ("dal", "al"):
        if (day := _day(name)) is not None:
            filters[name] = day.isoformat()
    return filters


@bp.route("/registro")
@roles_required("admin")
def audit():
    result = operations.chain_check() if request.args.get("verifica") else None
    codes = dict(db.session.execute(select(Edition.code, Edition.id).order_by(Edition.code)).all())
    filters = _audit_filters(codes)
    where = operations.audit_matching(
        subject=filters.get("oggetto"),
        edition_id=codes.get(filters.get("bando")),
        text=filters.get("q"),
        since=_day("dal"),
        until=_day("al"),
    )
    total = operations.count_audit_events(where)
    shown = paging(total, PER_PAGE)
    return render_template(
        "admin/audit.html",
        result=result,
        rows=operations.audit_events(where, limit=PER_PAGE, offset=shown.offset),
        total=total,
        paging=shown,
        filters=filters,
        codes=codes,
        subjects=SUBJECT_LABELS,
    )
