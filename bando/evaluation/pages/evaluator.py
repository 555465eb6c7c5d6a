"""The evaluator's pages: the calls they sit on, the conflict-of-interest declaration signed
before any proposal is shown, the proposals they may see, their scores or their recusal.

Thin views: every proposal is looked up through bando.applications.rules (404 when the
evaluator may not see it), every act goes through bando.evaluation.operations with the
signed-in evaluator as the actor. Usable without JavaScript: the irreversible acts (sending
the scores, recusing) are confirmed on a page of their own.
"""

import re
from dataclasses import dataclass, field

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import and_, select
from sqlalchemy.orm import selectinload
from wtforms import SelectMultipleField, SubmitField, TextAreaField, widgets

from bando.accounts.models import Organisation
from bando.applications import rules
from bando.applications.attachments import attachment_kinds
from bando.applications.models import Application
from bando.calls.models import Edition
from bando.core.auth import roles_required
from bando.core.downloads import download
from bando.core.extensions import db
from bando.core.formatting import dated
from bando.core.models import AuditEvent
from bando.core.operations import OperationError, commit
from bando.core.schemas import many_lines, one_line
from bando.core.transitions import TransitionRefused
from bando.evaluation import operations
from bando.evaluation.models import Assignment
from scoring.criteria import review_problems

bp = Blueprint("evaluation", __name__)

# As the API takes them (bando.evaluation.schemas): a comment, a recusal's reason, a tax code.
COMMENT_LIMIT = 5000
REASON_LIMIT = 2000
TAX_CODE_LIMIT = 16

# The proposal as the evaluator stands with it: label and Bootstrap Italia colour.
STATUS = {
    "todo": (_l("Da valutare"), "warning"),
    "draft": (_l("Bozza salvata"), "info"),
    "submitted": (_l("Valutazione inviata"), "success"),
    "recused": (_l("Astensione"), "secondary"),
    "closed": (_l("Non più valutabile"), "dark"),
}


def _me():
    return current_user._get_current_object()


def status_of(user, application) -> str:
    review = rules.review_of(user, application)
    if review is not None and review.conflict_of_interest:
        return "recused"
    if review is not None and review.submitted_at is not None:
        return "submitted"
    if not rules.can_score(user, application):
        return "closed"
    return "todo" if review is None else "draft"


@dataclass
class Work:
    """An evaluator's work on one call: the declaration, the proposals they may see (with
    where they stand on each) and the ones they recused from."""

    edition: Edition
    declaration: object | None
    proposals: list[tuple[Application, str]] = field(default_factory=list)
    recused: list[Application] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for _a, s in self.proposals if s == status)


def work_of(user, edition: Edition) -> Work:
    declaration = rules.declaration_of(user, edition) if rules.has_declared(user, edition) else None
    work = Work(edition, declaration)
    if declaration is None:
        return work  # nothing of the proposals before the declaration, not even a count
    # One statement: each proposal with whether the evaluator's list holds it (the rule
    # the API's list uses); the others are kept only to show the recusals.
    candidates = db.session.execute(
        select(Application, and_(*rules.listed(user)))
        .options(selectinload(Application.reviews))
        .where(
            Application.edition_id == edition.id,
            Application.state.in_(rules.EVALUATION_STATES),
        )
        .order_by(Application.protocol_number)
    ).all()
    for application, listed in candidates:
        if listed:
            work.proposals.append((application, status_of(user, application)))
        elif rules.has_recused(user, application) and not rules.is_linked(user, application):
            work.recused.append(application)
    return work


def _committee_edition(code) -> Edition:
    edition = db.session.scalar(select(Edition).where(Edition.code == str(code)[:100]))
    if edition is None or not rules.sits_on_committee(current_user, edition):
        abort(404)
    return edition


def _proposal(application_id) -> Application:
    application = rules.visible_application(current_user, application_id)
    if application is None or not rules.can_evaluate(current_user, application):
        abort(404)
    return application


# --- the calls -----------------------------------------------------------------------------


@bp.route("/valutazione")
@roles_required("evaluator")
def dashboard():
    editions = db.session.scalars(
        select(Edition)
        .join(Assignment, Assignment.edition_id == Edition.id)
        .where(Assignment.evaluator_id == current_user.id)
        .order_by(Edition.closes_at.desc())
    ).all()
    return render_template(
        "evaluation/evaluator_dashboard.html",
        works=[work_of(current_user, e) for e in editions],
    )


# --- the declaration -----------------------------------------------------------------------


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class DeclarationForm(FlaskForm):
    linked = MultiCheckboxField(_l("Enti che hanno presentato domanda"), validate_choice=False)
    other_tax_codes = TextAreaField(
        _l("Altri enti collegati: codici fiscali (uno per riga, o separati da virgole)")
    )
    sign = SubmitField(_l("Firmo la dichiarazione"))


def applicants_of(edition: Edition) -> list[Organisation]:
    """The organisations that sent a proposal to the call: names and tax codes are all the
    declaration shows of them."""
    return list(
        db.session.scalars(
            select(Organisation)
            .where(
                Organisation.id.in_(
                    select(Application.organisation_id).where(
                        Application.edition_id == edition.id,
                        Application.submitted_at.is_not(None),
                    )
                )
            )
            .order_by(Organisation.name)
        )
    )


def _control_problem(text: str, check=many_lines) -> str | None:
    """What the API would refuse in this text (control characters), or None."""
    try:
        check(text)
    except ValueError as error:
        return str(error)
    return None


def _tax_codes(form) -> list[str]:
    """The ticked organisations and the typed codes; a typed word that cannot be a tax code
    is named next to the field."""
    typed = [w for w in re.split(r"[\s,;]+", form.other_tax_codes.data or "") if w]
    for word in typed:
        if len(word) > TAX_CODE_LIMIT:
            form.other_tax_codes.errors.append(
                _("«%(code)s…» non è un codice fiscale (al massimo 16 caratteri).", code=word[:20])
            )
        elif problem := _control_problem(word, one_line):
            form.other_tax_codes.errors.append(problem)
    return [*(form.linked.data or []), *typed]


@bp.route("/valutazione/bandi/<code>/dichiarazione", methods=["GET", "POST"])
@roles_required("evaluator")
def declaration(code):
    edition = _committee_edition(code)
    signed = rules.declaration_of(current_user, edition)
    organisations = applicants_of(edition)
    form = DeclarationForm()
    form.linked.choices = [(o.tax_code, o.name) for o in organisations]
    status = 200
    if request.method == "POST":
        if signed is not None:
            return redirect(url_for(".proposals", code=edition.code))
        if not form.validate_on_submit():
            abort(400)
        codes = _tax_codes(form)
        if not form.other_tax_codes.errors:
            try:
                operations.sign_declaration(edition, _me(), codes)
                commit()
            except OperationError as error:
                db.session.rollback()
                if error.code == "already_declared":
                    return redirect(url_for(".proposals", code=edition.code))
                messages = [m for ms in error.errors.values() for m in ms] or [error.message]
                form.other_tax_codes.errors.extend(messages)
            else:
                signed = rules.declaration_of(current_user, edition)
                flash(
                    _(
                        "Dichiarazione firmata %(when)s. Ora si possono vedere le proposte.",
                        when=dated(signed.signed_at, "il", time=True),
                    ),
                    "success",
                )
                return redirect(url_for(".proposals", code=edition.code))
        status = 422
    return (
        render_template(
            "evaluation/evaluator_declaration.html",
            edition=edition,
            signed=signed,
            text=operations.declaration_text(edition, []),
            organisations=organisations,
            form=form,
        ),
        status,
    )


# --- the proposals -------------------------------------------------------------------------


@bp.route("/valutazione/bandi/<code>")
@roles_required("evaluator")
def proposals(code):
    edition = _committee_edition(code)
    if not rules.has_declared(current_user, edition):
        flash(
            _(
                "Prima di vedere le proposte va firmata la dichiarazione di assenza di "
                "conflitti di interesse."
            ),
            "info",
        )
        return redirect(url_for(".declaration", code=edition.code))
    return render_template(
        "evaluation/evaluator_proposals.html", work=work_of(current_user, edition), STATUS=STATUS
    )


class ReviewForm(FlaskForm):
    """The comment and the buttons; the points are one input per criterion of the call,
    drawn by the template (score-<code>)."""

    comment = TextAreaField(_l("Commento"))
    save = SubmitField(_l("Salva bozza"))
    submit = SubmitField(_l("Invia la valutazione"))
    confirm = SubmitField(_l("Sì, invia la valutazione"))
    back = SubmitField(_l("Torna a modificare"))


_WHOLE = re.compile(r"[+-]?[0-9]{1,6}")


def _posted_scores(edition) -> tuple[dict, dict]:
    """The points typed per criterion, as typed (for the form) and as the operation takes
    them: a whole number, None when empty, the text itself when it is not a number (the
    operation then names it)."""
    typed, scores = {}, {}
    for criterion in edition.criteria:
        raw = (request.form.get(f"score-{criterion.code}") or "").strip()[:20]
        typed[criterion.code] = raw
        if not raw:
            scores[criterion.code] = None
        elif _WHOLE.fullmatch(raw):
            scores[criterion.code] = int(raw)
        else:
            scores[criterion.code] = raw
    return typed, scores


def _comment(form) -> str:
    return (form.comment.data or "").replace("\r\n", "\n")


def _too_long(comment: str) -> dict:
    """What the API's schema refuses in a comment: too long, or a control character."""
    if len(comment) > COMMENT_LIMIT:
        return {"comment": [_("Al massimo %(count)s caratteri.", count=COMMENT_LIMIT)]}
    if problem := _control_problem(comment):
        return {"comment": [problem]}
    return {}


def _reopened_because(application, user) -> str | None:
    """Why the officer sent this evaluator's review back, when they did."""
    for event in db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.application_id == application.id, AuditEvent.trigger == "reopen_review")
        .order_by(AuditEvent.id.desc())
    ):
        if (event.payload or {}).get("evaluator") == user.email:
            return event.reason
    return None


def _proposal_page(application, form, typed=None, errors=None, message=None, status=200):
    user = current_user
    review = rules.review_of(user, application)
    if typed is None:
        typed = {s.criterion.code: str(s.points) for s in review.scores} if review else {}
        if review is not None and not form.comment.data:
            form.comment.data = review.comment
    errors = errors or {}
    labels = {f"scores.{c.code}": c.label for c in application.edition.criteria}
    summary = []
    for key, messages in errors.items():
        target = f"score-{key[7:]}" if key in labels else "comment"
        name = labels.get(key, form.comment.label.text)
        summary += [(target, f"{name}: {m}") for m in messages]
    others = []
    if rules.can_see_all_scores(user, application):
        others = sorted(
            (r for r in application.reviews if r.counts and r.evaluator_id != user.id),
            key=lambda r: r.submitted_at,
        )
    return (
        render_template(
            "evaluation/evaluator_proposal.html",
            application=application,
            review=review,
            status=status_of(user, application),
            STATUS=STATUS,
            can_score=rules.can_score(user, application),
            form=form,
            typed=typed,
            errors=errors,
            summary=summary,
            message=message,
            others=others,
            reopened=_reopened_because(application, user)
            if review is not None and review.submitted_at is None
            else None,
            kinds=attachment_kinds(application.edition),
            comment_limit=COMMENT_LIMIT,
        ),
        status,
    )


@bp.route("/valutazione/domande/<int:application_id>", methods=["GET", "POST"])
@roles_required("evaluator")
def proposal(application_id):
    application = _proposal(application_id)
    form = ReviewForm()
    if request.method == "GET":
        return _proposal_page(application, form)
    if not form.validate_on_submit():
        abort(400)
    if not rules.can_score(current_user, application):
        flash(_("La proposta non è più valutabile: nulla è stato salvato."), "danger")
        return redirect(url_for(".proposal", application_id=application.id))
    edition = application.edition
    typed, scores = _posted_scores(edition)
    comment = _comment(form)
    if form.back.data:
        return _proposal_page(application, form, typed)
    if not (form.save.data or form.submit.data or form.confirm.data):
        abort(400)
    if form.submit.data:
        # First step of sending: the same checks as the operation's, nothing written yet;
        # the confirmation page sends the very values it shows.
        problems = {
            **review_problems(scores, operations.criteria_of(edition), comment),
            **_too_long(comment),
        }
        if problems:
            message = _("La valutazione non è stata inviata: correggere i campi indicati.")
            return _proposal_page(application, form, typed, problems, message, 422)
        return render_template(
            "evaluation/evaluator_confirm.html",
            application=application,
            form=form,
            typed=typed,
            scores=scores,
            total=sum(scores.values()),
            comment=comment,
        )
    if problems := _too_long(comment):
        return _proposal_page(application, form, typed, problems, None, 422)
    try:
        operations.save_review(application, _me(), scores, comment, submit=bool(form.confirm.data))
        commit()
    except (OperationError, TransitionRefused) as error:
        db.session.rollback()
        errors = getattr(error, "errors", {}) or {}
        why = getattr(error, "message", None) or error.reason
        message = (
            _("La valutazione non è stata inviata: %(why)s.", why=why)
            if form.confirm.data
            else _("Bozza NON salvata: %(why)s.", why=why)
        )
        return _proposal_page(application, form, typed, errors, message, 422)
    if form.confirm.data:
        flash(_("Valutazione inviata. Ora si vedono anche le valutazioni degli altri."), "success")
    else:
        flash(_("Bozza salvata: non è ancora inviata."), "success")
    return redirect(
        url_for(".proposal", application_id=application.id, _anchor="la-mia-valutazione")
    )


class RecusalForm(FlaskForm):
    reason = TextAreaField(_l("Motivo dell'astensione"))
    confirm = SubmitField(_l("Sì, mi astengo"))


@bp.route("/valutazione/domande/<int:application_id>/astensione", methods=["GET", "POST"])
@roles_required("evaluator")
def recusal(application_id):
    application = _proposal(application_id)
    if not rules.can_score(current_user, application):
        flash(_("Per questa proposta non ci si può più astenere."), "info")
        return redirect(url_for(".proposal", application_id=application.id))
    form = RecusalForm()
    status = 200
    if form.validate_on_submit():
        reason = (form.reason.data or "").replace("\r\n", "\n")
        if len(reason) > REASON_LIMIT:
            form.reason.errors.append(_("Al massimo %(count)s caratteri.", count=REASON_LIMIT))
        elif problem := _control_problem(reason):
            form.reason.errors.append(problem)
        else:
            edition = application.edition
            try:
                operations.recuse(application, _me(), reason)
                commit()
            except OperationError as error:
                db.session.rollback()
                form.reason.errors.extend(error.errors.get("reason") or [error.message])
            else:
                flash(
                    _(
                        "Astensione registrata per la proposta %(protocol)s: non le sarà più "
                        "mostrata.",
                        protocol=application.protocol,
                    ),
                    "success",
                )
                return redirect(url_for(".proposals", code=edition.code))
        status = 422
    return (
        render_template(
            "evaluation/evaluator_recusal.html",
            application=application,
            form=form,
            reason_limit=REASON_LIMIT,
        ),
        status,
    )


@bp.route("/valutazione/domande/<int:application_id>/allegati/<kind>")
@roles_required("evaluator")
def attachment(application_id, kind):
    application = _proposal(application_id)
    row = next((a for a in application.attachments if a.kind == kind), None)
    if row is None:
        abort(404)
    return download(row.data, "application/pdf", f"{row.kind}.pdf")
