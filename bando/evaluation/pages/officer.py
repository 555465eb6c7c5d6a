"""The officer's pages of the committee of a call: who sits on it and when each signed the
declaration, adding and removing evaluators, where the committee disagrees (the
statistics), the reviews of a proposal and sending one back to its evaluator.

Thin views: the operations of bando.evaluation.operations with the signed-in officer as
the actor; their refusals become messages on the page, never a 500.
"""

from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import HiddenField, IntegerField, TextAreaField
from wtforms.validators import DataRequired, NumberRange

from bando.accounts.models import User
from bando.applications import rules
from bando.applications.models import Application
from bando.applications.pages.officer import edition_for_officer
from bando.core.auth import roles_required
from bando.core.extensions import db
from bando.core.forms import FreeText
from bando.core.operations import OperationError, commit
from bando.core.types import ID_LIMIT, row_id
from bando.evaluation import operations
from bando.evaluation.models import Assignment, Review, Score

bp = Blueprint("committee", __name__, url_prefix="/istruttoria/bandi/<code>/commissione")


class EvaluatorForm(FlaskForm):
    evaluator = IntegerField(
        _l("Valutatore"),
        validators=[
            DataRequired(_l("Scegliere un valutatore.")),
            NumberRange(1, ID_LIMIT - 1, _l("Scegliere un valutatore.")),
        ],
    )


class RemoveForm(FlaskForm):
    confirm = HiddenField()


class ReopenForm(FlaskForm):
    reason = TextAreaField(
        _l("Motivo"),
        validators=[DataRequired(_l("Indicare il motivo.")), FreeText(2000)],
    )


@bp.app_template_filter("decimal_points")
def decimal_points(value, signed: bool = False) -> str:
    """Points as the API writes them ("72.33", "-3.50") as the page's language reads
    them: "72,33", "−3,50" (with `signed`, "+3,50" for a positive deviation)."""
    if value is None or value == "":
        return "—"
    number = Decimal(str(value))
    text = format_decimal(abs(number), format="#,##0.00")
    if number < 0:
        return "−" + text
    return ("+" + text) if signed and number > 0 else text


def _refusal(error: OperationError) -> str:
    detail = "; ".join(str(m) for messages in error.errors.values() for m in messages)
    return detail or error.message


def _committee(edition):
    """The committee's rows with their users, and the evaluators who could join it."""
    assignments = list(
        db.session.scalars(
            select(Assignment)
            .where(Assignment.edition_id == edition.id)
            .options(selectinload(Assignment.evaluator))
            .order_by(Assignment.assigned_at, Assignment.id)
        )
    )
    seated = {a.evaluator_id for a in assignments}
    candidates = [
        u
        for u in db.session.scalars(
            select(User)
            .where(User.role == "evaluator", User.active.is_(True))
            .order_by(User.full_name, User.email)
        )
        if u.id not in seated
    ]
    return assignments, candidates


def _render(edition, *, form=None, status=200):
    assignments, candidates = _committee(edition)
    declared = {d.evaluator_id: d for d in edition.declarations}
    statistics = operations.statistics(edition)
    emails = [row["evaluator"] for row in statistics["evaluators"]]
    names = {
        u.email: u.full_name or u.email
        for u in db.session.scalars(select(User).where(User.email.in_(emails)))
    }
    return (
        render_template(
            "evaluation/officer_committee.html",
            edition=edition,
            assignments=assignments,
            declared=declared,
            candidates=candidates,
            form=form or EvaluatorForm(formdata=None),
            statistics=statistics,
            names=names,
        ),
        status,
    )


@bp.route("", methods=["GET"])
@roles_required("officer")
def committee(code):
    return _render(edition_for_officer(code))


@bp.route("", methods=["POST"])
@roles_required("officer")
def add(code):
    edition = edition_for_officer(code)
    form = EvaluatorForm()
    if not form.validate_on_submit():
        form.evaluator.errors = [_("Scegliere un valutatore.")]
        return _render(edition, form=form, status=422)
    evaluator = db.session.get(User, form.evaluator.data)
    if evaluator is None:
        form.evaluator.errors = [_("Scegliere un valutatore.")]
        return _render(edition, form=form, status=422)
    try:
        operations.assign_evaluator(edition, current_user._get_current_object(), evaluator)
        commit()
    except OperationError as error:
        db.session.rollback()
        flash(_("Valutatore non aggiunto: %(reason)s.", reason=_refusal(error)), "danger")
        return redirect(url_for(".committee", code=code))
    flash(
        _("%(name)s fa ora parte della commissione.", name=evaluator.full_name or evaluator.email),
        "success",
    )
    return redirect(url_for(".committee", code=code))


@bp.route("/componenti/<int:user_id>/rimuovi", methods=["GET", "POST"])
@roles_required("officer")
def remove(code, user_id):
    """A confirmation page, then the removal (refused once the evaluator has reviewed)."""
    edition = edition_for_officer(code)
    assignment = next((a for a in edition.assignments if a.evaluator_id == user_id), None)
    if assignment is None:
        abort(404)
    evaluator = assignment.evaluator
    form = RemoveForm()
    if form.validate_on_submit() and form.confirm.data:
        try:
            operations.remove_evaluator(edition, current_user._get_current_object(), evaluator)
            commit()
        except OperationError as error:
            db.session.rollback()
            flash(_("Valutatore non rimosso: %(reason)s.", reason=_refusal(error)), "danger")
            return redirect(url_for(".committee", code=code))
        flash(
            _(
                "%(name)s non fa più parte della commissione.",
                name=evaluator.full_name or evaluator.email,
            ),
            "success",
        )
        return redirect(url_for(".committee", code=code))
    return render_template(
        "evaluation/officer_remove.html", edition=edition, evaluator=evaluator, form=form
    )


def _application_of(edition, application_id) -> Application:
    application = rules.visible_application(current_user, application_id)
    if application is None or application.edition_id != edition.id:
        abort(404)
    return application


def _reviews_page(edition, application, *, form=None, review_id=None, status=200):
    reviews = list(
        db.session.scalars(
            select(Review)
            .where(Review.application_id == application.id)
            .options(
                selectinload(Review.evaluator),
                selectinload(Review.scores).selectinload(Score.criterion),
            )
            .order_by(Review.id)
        )
    )
    return (
        render_template(
            "evaluation/officer_reviews.html",
            edition=edition,
            application=application,
            reviews=reviews,
            form=form or ReopenForm(formdata=None),
            failed_review=review_id,
            reopenable=edition.state in ("open", "closed"),
        ),
        status,
    )


@bp.route("/domande/<int:application_id>")
@roles_required("officer")
def reviews(code, application_id):
    edition = edition_for_officer(code)
    return _reviews_page(edition, _application_of(edition, application_id))


@bp.route("/valutazioni/<int:review_id>/riapri", methods=["POST"])
@roles_required("officer")
def reopen(code, review_id):
    edition = edition_for_officer(code)
    review = db.session.get(Review, review_id) if row_id(review_id) else None
    if review is None:
        abort(404)
    application = _application_of(edition, review.application_id)
    form = ReopenForm()
    if not form.validate_on_submit():
        return _reviews_page(edition, application, form=form, review_id=review.id, status=422)
    try:
        operations.reopen_review(review, current_user._get_current_object(), form.reason.data)
        commit()
    except OperationError as error:
        db.session.rollback()
        flash(_("Valutazione non riaperta: %(reason)s.", reason=_refusal(error)), "danger")
        return redirect(url_for(".reviews", code=code, application_id=application.id))
    flash(
        _(
            "La valutazione di %(name)s è stata riaperta: il valutatore può modificarla e "
            "inviarla di nuovo.",
            name=review.evaluator.full_name or review.evaluator.email,
        ),
        "success",
    )
    return redirect(url_for(".reviews", code=code, application_id=application.id))
