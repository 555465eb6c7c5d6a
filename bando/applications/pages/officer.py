"""The officer's pages: the admissibility check (istruttoria formale) of an edition.

Thin views: they load rows, call bando.applications.lifecycle.fire with the signed-in
officer as the actor, and show the machine's reason when it refuses.
"""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField, TextAreaField
from wtforms.validators import AnyOf, Length

from bando.applications.lifecycle import expire_if_overdue, fire
from bando.applications.models import Application
from bando.applications.rules import can_decide_admissibility, visible_application
from bando.calls.models import Edition
from bando.core.auth import roles_required
from bando.core.extensions import db
from bando.core.labels import state_label
from bando.core.transitions import TransitionRefused

bp = Blueprint("officer", __name__, url_prefix="/istruttoria")

DECISIONS = {
    "eligible": "declare_eligible",
    "request_integration": "request_integration",
    "ineligible": "declare_ineligible",
}
PENDING = ("submitted", "integration_requested")


class DecisionForm(FlaskForm):
    decision = StringField(validators=[AnyOf(list(DECISIONS))])
    reason = TextAreaField(validators=[Length(max=5000)])


def _edition_from_query() -> Edition | None:
    code = request.args.get("bando")
    if code:
        return db.session.scalar(select(Edition).where(Edition.code == code))
    # By default the most recent call with applications still waiting for a decision.
    return db.session.scalar(
        select(Edition)
        .join(Application, Application.edition_id == Edition.id)
        .where(Application.state.in_(PENDING))
        .order_by(Edition.closes_at.desc())
        .limit(1)
    ) or db.session.scalar(select(Edition).order_by(Edition.closes_at.desc()).limit(1))


@bp.route("/")
@roles_required("officer")
def dashboard():
    editions = db.session.scalars(select(Edition).order_by(Edition.closes_at.desc())).all()
    edition = _edition_from_query()
    if request.args.get("bando") and edition is None:
        abort(404)
    applications = []
    if edition is not None:
        applications = db.session.scalars(
            select(Application)
            .where(Application.edition_id == edition.id, Application.state != "draft")
            .order_by(Application.protocol_number)
        ).all()
        expired = [a for a in applications if expire_if_overdue(a) is not None]
        if expired:
            db.session.commit()
    return render_template(
        "officer/istruttoria.html",
        editions=editions,
        edition=edition,
        pending=[a for a in applications if a.state in PENDING],
        decided=[a for a in applications if a.state not in PENDING],
        form=DecisionForm(),
    )


@bp.route("/domande/<int:application_id>/esito", methods=["POST"])
@roles_required("officer")
def decide(application_id):
    application = visible_application(current_user, application_id)
    if application is None or not can_decide_admissibility(current_user, application):
        abort(404)
    back = url_for(".dashboard", bando=application.edition.code)
    form = DecisionForm()
    if not form.validate_on_submit():
        flash(_("Scegliere un esito valido."), "danger")
        return redirect(back)
    if expire_if_overdue(application) is not None:
        db.session.commit()
    try:
        fire(
            application,
            DECISIONS[form.decision.data],
            current_user._get_current_object(),
            form.reason.data or "",
        )
        db.session.commit()
    except TransitionRefused as refused:
        db.session.rollback()
        flash(_("Operazione non eseguita: %(reason)s.", reason=refused.reason), "danger")
        return redirect(back)
    flash(
        _(
            "Domanda %(protocol)s: %(state)s.",
            protocol=application.protocol,
            state=state_label(application.state),
        ),
        "success",
    )
    return redirect(back)
