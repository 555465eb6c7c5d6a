"""The allocation's pages: the officer's comparison of the call's rules with an alternative
(nothing written), the run after a confirmation that repeats its decisions, the runs and
awards recorded with the revocation of an award; the budget chart (here and on the public
call page); the applicant's explanation of the outcome, with the acceptance or the
renunciation of an award, each after its confirmation.

Thin views over bando.allocation.operations, the same the API calls, with the signed-in
user as the actor; a refusal is shown on the page with its reason, never a 500. The
applicant's pages live here, not in bando.applications, because they call the allocation's
operations (the layout lets allocation use applications, not the other way round).
"""

import hashlib
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from wtforms import TextAreaField

from bando.accounts.models import User
from bando.allocation import operations
from bando.allocation.api import explanation
from bando.allocation.models import AllocationDecision, AllocationRun
from bando.applications import rules
from bando.applications.lifecycle import check
from bando.applications.pages.officer import edition_for_officer
from bando.budget.figures import figures
from bando.core.auth import roles_required, signed_in_user
from bando.core.extensions import db
from bando.core.formatting import money, percent
from bando.core.operations import OperationError, commit
from bando.core.schemas import many_lines
from bando.core.transitions import TransitionRefused
from bando.ranking.models import RankingEntry
from scoring.allocation import Allocation, Decision, allocate
from scoring.money import AmountError, parse_cents

bp = Blueprint("allocation", __name__)


@bp.app_template_filter("allocation_reason")
def allocation_reason(decision: Decision | AllocationDecision | None) -> str:
    """Why a run decided so, in the page's language, from the decision's figures: a run's
    own Decision, or a stored one that kept them (one of a run made before they were kept
    has only its Italian text)."""
    if decision is None:
        return ""
    if isinstance(decision, AllocationDecision):
        if decision.full_cents is None:
            return decision.reason_text
        decision = Decision(
            id=decision.application_id,
            outcome=decision.outcome,
            amount_cents=decision.amount_cents,
            added_cents=decision.added_cents,
            reason=decision.reason,
            pass_=decision.pass_name,
            residual_before=decision.residual_before,
            residual_after=decision.residual_after,
            reserve_position=decision.reserve_position,
            requested_cents=decision.requested_cents or 0,
            full_cents=decision.full_cents,
            min_partial_share_bp=decision.min_partial_share_bp or 0,
        )
    return decision.reason_sentence(_, money)


MODE_LABELS = {
    "single_ranking": _l("graduatoria unica per tutti i quartieri"),
    "area_quotas_then_pool": _l("prima le quote dei quartieri, poi la graduatoria unica"),
}
POLICY_LABELS = {
    "stop": _l("l'assegnazione si ferma"),
    "skip": _l("si passa alla domanda successiva"),
    "partial": _l("contributo parziale"),
}
OUTCOME_LABELS = {
    "funded": _l("finanziata"),
    "reserve": _l("in riserva"),
    "not_funded": _l("non finanziata"),
    "ended": _l("contributo cessato"),
}
CAUSE_LABELS = {
    "allocation": _l("Assegnazione dei contributi"),
    "renounce": _l("Scorrimento dopo una rinuncia"),
    "revoke": _l("Scorrimento dopo una revoca"),
}
AWARD_STATE_LABELS = {
    "active": _l("in corso"),
    "renounced": _l("rinunciato"),
    "revoked": _l("revocato"),
}
# The query parameters of the alternative (the API's names).
ALTERNATIVE_KEYS = ("mode", "on_insufficient", "cap", "min_partial_share")
REASON_LIMIT = 5000


class ConfirmForm(FlaskForm):
    """The CSRF token; the rest is read from the request."""


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Motivazione"))


def _refusal(error) -> str:
    """The reason of a refusal, as the page shows it."""
    if isinstance(error, TransitionRefused):
        return error.reason
    if isinstance(error, OperationError):
        return error.message
    # The database's guard of the cap (migration 0004): the code's own check came first,
    # so this is a run that raced another one.
    return _("le risorse del bando non bastano più: ricaricare la pagina e riprovare")


def _text_problem(text: str) -> str | None:
    if not text:
        return _("Indicare la motivazione.")
    if len(text) > REASON_LIMIT:
        return _("Al massimo %(count)s caratteri.", count=REASON_LIMIT)
    try:
        many_lines(text)
    except ValueError as error:
        return str(error)
    return None


# --- the budget chart ------------------------------------------------------------------------

CHART_WIDTH = 1000  # the drawing's units across the call's cap


def _units(cents: int, scale: int) -> int:
    """A length in the drawing's units; anything above zero stays visible."""
    if cents <= 0 or scale <= 0:
        return 0
    return max(1, min(CHART_WIDTH, (cents * CHART_WIDTH + scale // 2) // scale))


@dataclass(frozen=True)
class Bar:
    """One bar of the budget chart: the call's, or a neighbourhood's, on the call's scale
    (so that the bars compare); widths in the drawing's units."""

    key: str
    name: str
    limit: int | None  # the cap, or the neighbourhood's quota where the call sets one
    committed: int
    paid: int
    paid_width: int
    unpaid_width: int  # committed, not paid yet
    limit_x: int | None  # where the quota ends

    @property
    def available(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.committed)

    @property
    def over_limit(self) -> int:
        """What a neighbourhood received beyond its quota (from the shared ranking)."""
        return 0 if self.limit is None else max(0, self.committed - self.limit)

    @property
    def committed_percent(self) -> int:
        return percent(self.committed, self.limit) if self.limit else 0


@dataclass(frozen=True)
class Chart:
    edition: Bar
    neighbourhoods: list[Bar]

    @property
    def any_quota(self) -> bool:
        return any(b.limit is not None for b in self.neighbourhoods)


def _bar(key, name, limit, committed, paid, scale, marker=True) -> Bar:
    paid_shown = max(0, min(paid, committed))
    paid_width = _units(paid_shown, scale)
    committed_width = max(_units(committed, scale), paid_width)
    return Bar(
        key=key,
        name=name,
        limit=limit,
        committed=committed,
        paid=paid,
        paid_width=paid_width,
        unpaid_width=committed_width - paid_width,
        limit_x=_units(limit, scale) if marker and limit is not None else None,
    )


@bp.app_template_global("budget_chart")
def budget_chart(money: dict) -> Chart:
    """The bars of bando.budget.figures' figures (cap, committed, paid, by neighbourhood)."""
    cap = money["cap"]
    return Chart(
        edition=_bar(
            "edition", _("Totale del bando"), cap, money["committed"], money["paid"], cap, False
        ),
        neighbourhoods=[
            _bar(h["slug"], h["name"], h["quota"], h["committed"], h["paid"], cap)
            for h in money["neighbourhoods"]
        ],
    )


# --- the officer's page: simulation, comparison, run ----------------------------------------


@dataclass(frozen=True)
class Simulation:
    """One simulation as the page shows it: the rules followed and their decisions."""

    rules: object  # scoring.allocation.Rules
    allocation: Allocation

    @property
    def funded(self):
        return self.allocation.funded()

    @property
    def reserve(self):
        return self.allocation.reserve()


@dataclass(frozen=True)
class Compared:
    """A proposal of the ranking with its decision under the call's rules and, when asked,
    under the alternative."""

    entry: RankingEntry
    own: object  # scoring.allocation.Decision
    other: object | None

    @property
    def differs(self) -> bool:
        return self.other is not None and (self.own.outcome, self.own.amount_cents) != (
            self.other.outcome,
            self.other.amount_cents,
        )


def _percent_to_bp(text: str) -> int:
    """ "50", "50%", "12,5" (percent of the request) → basis points; ValueError if not."""
    try:
        value = Decimal(text.replace("%", "").replace(",", ".").strip())
    except InvalidOperation:
        raise ValueError from None
    if not value.is_finite() or not 0 <= value <= 100:  # before any arithmetic: 1e999999
        raise ValueError
    bp = value * 100
    if bp != bp.to_integral_value():
        raise ValueError
    return int(bp)


def read_alternative(args) -> tuple[dict, dict, dict]:
    """The alternative typed in the form: (rules_of overrides, the values as typed,
    messages by field). Empty fields keep the call's own rule."""
    typed = {key: (args.get(key) or "").strip() for key in ALTERNATIVE_KEYS}
    alternative, errors = {}, {}
    for key, value in typed.items():
        if len(value) > 40:
            typed[key] = value[:40]
            errors[key] = [_("Al massimo %(count)s caratteri.", count=40)]
    if errors:
        return alternative, typed, errors
    if typed["mode"]:
        if typed["mode"] in MODE_LABELS:
            alternative["mode"] = typed["mode"]
        else:
            errors["mode"] = [_("Scegliere una delle modalità proposte.")]
    if typed["on_insufficient"]:
        if typed["on_insufficient"] in POLICY_LABELS:
            alternative["on_insufficient"] = typed["on_insufficient"]
        else:
            errors["on_insufficient"] = [_("Scegliere una delle possibilità proposte.")]
    if typed["cap"]:
        try:
            alternative["cap_cents"] = parse_cents(typed["cap"])
        except AmountError as error:
            errors["cap"] = [_("Importo non valido: %(why)s.", why=str(error))]
    if typed["min_partial_share"]:
        try:
            alternative["min_partial_share_bp"] = _percent_to_bp(typed["min_partial_share"])
        except ValueError:
            errors["min_partial_share"] = [
                _("Una percentuale tra 0 e 100, al massimo con due decimali (es. 50).")
            ]
    return alternative, typed, errors


def _simulate(edition, alternative: dict) -> Simulation:
    rules_used = operations.rules_of(edition, **alternative)
    return Simulation(rules_used, operations.simulate(edition, **alternative))


def fingerprint(allocation: Allocation) -> str:
    """What the officer confirmed: each proposal's outcome, amount and reserve place."""
    text = ";".join(
        f"{d.id}:{d.outcome}:{d.amount_cents}:{d.reserve_position or ''}"
        for d in allocation.decisions
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _runs(edition) -> list[AllocationRun]:
    return list(
        db.session.scalars(
            select(AllocationRun)
            .where(AllocationRun.edition_id == edition.id)
            .options(selectinload(AllocationRun.decisions))
            .order_by(AllocationRun.at, AllocationRun.id)
        )
    )


def _officer_page(edition, *, refusal=None, status=200):
    entries = {row.application_id: row for row in operations.ranked(edition)}
    context = {
        "edition": edition,
        "money": figures(edition),
        "refusal": refusal,
        "entries": entries,
        "ranked": bool(entries) and edition.state in ("ranked", "allocated", "archived"),
        "mode_labels": MODE_LABELS,
        "policy_labels": POLICY_LABELS,
        "outcome_labels": OUTCOME_LABELS,
        "cause_labels": CAUSE_LABELS,
        "award_state_labels": AWARD_STATE_LABELS,
        "typed": {key: "" for key in ALTERNATIVE_KEYS},
        "errors": {},
        "lines": [],
        "own": None,
        "other": None,
        "problem": None,
        "runs": [],
        "latest": [],
        "actors": {},
        "awards": [],
    }
    if context["ranked"] and edition.state == "ranked":
        alternative, typed, errors = read_alternative(request.args)
        context.update(typed=typed, errors=errors)
        asked = any(typed.values()) and not errors
        try:
            own = _simulate(edition, {})
            other = _simulate(edition, alternative) if asked else None
        except OperationError as error:
            context["problem"] = error.message
            own = other = None
            status = max(status, 422)
        if errors:
            status = max(status, 422)
        if own is not None:
            theirs = other.allocation.by_id() if other else {}
            context.update(
                own=own,
                other=other,
                lines=[
                    Compared(entries[d.id], d, theirs.get(d.id)) for d in own.allocation.decisions
                ],
            )
    elif context["ranked"]:
        runs = _runs(edition)
        ids = {r.actor_id for r in runs if r.actor_id}
        context.update(
            runs=runs,
            actors={
                u.id: u.email for u in db.session.scalars(select(User).where(User.id.in_(ids)))
            },
            latest=runs[-1].decisions if runs else [],
            awards=[row.application for row in entries.values() if row.application.award],
        )
    return render_template("allocation/officer.html", **context), status


@bp.route("/istruttoria/bandi/<code>/assegnazione")
@roles_required("officer")
def officer_allocation(code):
    return _officer_page(edition_for_officer(code))


@bp.route("/istruttoria/bandi/<code>/assegnazione", methods=["POST"])
@roles_required("officer")
def run(code):
    """First the confirmation (the decisions that will be written, the same as the
    simulation with the call's rules), then the run."""
    edition = edition_for_officer(code)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if edition.state != "ranked":
        why = (
            _("i contributi sono già stati assegnati")
            if edition.state in ("allocated", "archived")
            else _("la graduatoria del bando non è ancora approvata")
        )
        return _officer_page(edition, refusal=why, status=409)
    try:
        planned = _simulate(edition, {})
    except OperationError as error:
        return _officer_page(edition, refusal=error.message, status=409)
    entries = {row.application_id: row for row in operations.ranked(edition)}
    confirm = {
        "edition": edition,
        "simulation": planned,
        "entries": entries,
        "fingerprint": fingerprint(planned.allocation),
        "outcome_labels": OUTCOME_LABELS,
        "mode_labels": MODE_LABELS,
        "policy_labels": POLICY_LABELS,
        "changed": False,
    }
    if not request.form.get("confirm"):
        return render_template("allocation/confirm_run.html", **confirm)
    try:
        done = operations.run(edition, signed_in_user())
        if fingerprint(done) != request.form.get("decisions"):
            # Something moved since the confirmation (a withdrawal, another officer): the
            # officer confirms what would be written now, not what they saw before.
            db.session.rollback()
            return render_template(
                "allocation/confirm_run.html", **{**confirm, "changed": True}
            ), 409
        commit()
    except (OperationError, TransitionRefused, IntegrityError) as error:
        db.session.rollback()
        return _officer_page(edition_for_officer(code), refusal=_refusal(error), status=409)
    flash(
        ngettext(
            "Contributi assegnati: %(num)s domanda finanziata per %(amount)s.",
            "Contributi assegnati: %(num)s domande finanziate per %(amount)s.",
            len(done.funded()),
            amount=money(done.committed_cents),
        ),
        "success",
    )
    return redirect(url_for(".officer_allocation", code=code, _anchor="esito"))


# --- the officer's revocation --------------------------------------------------------------


def _after_ending(application) -> list:
    """Who the reserve list would fund with what the award frees (nothing is written)."""
    try:
        entries, existing, _rows = operations.inputs(application.edition)
        award = existing.get(application.id)
        if award is None or not award.active:
            return []
        existing[application.id] = replace(award, active=False)
        result = allocate(entries, operations.rules_of(application.edition), existing)
    except (OperationError, ValueError):
        return []
    return [d for d in result.decisions if d.added_cents > 0]


def _officer_application(application_id):
    application = rules.visible_application(signed_in_user(), application_id)
    if application is None:
        abort(404)
    return application


@bp.route("/istruttoria/domande/<int:application_id>/revoca", methods=["GET", "POST"])
@roles_required("officer")
def revoke(application_id):
    """The reason, then a confirmation of what happens, then the revocation."""
    application = _officer_application(application_id)
    form = ReasonForm()
    refusals = check(application, "revoke", signed_in_user(), "revoca")
    entries = {row.application_id: row for row in operations.ranked(application.edition)}
    context = {
        "application": application,
        "form": form,
        "blocked": "; ".join(r.reason for r in refusals),
        "refusal": None,
        "problem": None,
        "entries": entries,
    }
    if request.method == "GET":
        return render_template("allocation/revoke.html", **context)
    if not form.validate_on_submit():
        abort(400)
    if context["blocked"]:
        return render_template(
            "allocation/revoke.html", **{**context, "refusal": context["blocked"]}
        ), 409
    reason = (form.reason.data or "").replace("\r\n", "\n").strip()
    if problem := _text_problem(reason):
        return render_template("allocation/revoke.html", **{**context, "problem": problem}), 422
    if not request.form.get("confirm"):
        return render_template(
            "allocation/confirm_revoke.html",
            **context,
            reason=reason,
            freed=_after_ending(application),
        )
    try:
        operations.revoke(application, signed_in_user(), reason)
        commit()
    except (OperationError, TransitionRefused, IntegrityError) as error:
        db.session.rollback()
        application = _officer_application(application_id)
        return render_template(
            "allocation/revoke.html",
            **{**context, "application": application, "refusal": _refusal(error)},
        ), 409
    flash(
        _("Contributo di %(protocol)s revocato.", protocol=application.protocol),
        "success",
    )
    return redirect(url_for(".officer_allocation", code=application.edition.code, _anchor="esito"))


# --- the applicant's explanation and award -------------------------------------------------


@dataclass(frozen=True)
class AwardSummary:
    """What the organisation is told about the allocation of one of its proposals."""

    outcome: str | None
    position: int | None
    total: str | None
    reason_text: str | None
    award: object | None  # bando.budget.models.Award
    partial: bool
    can_accept: bool
    can_renounce: bool
    accept_refusal: str | None

    @property
    def awaiting_acceptance(self) -> bool:
        return (
            self.award is not None
            and self.award.state == "active"
            and self.award.accepted_at is None
        )


def _full_cents(application) -> int:
    limit = application.edition.max_grant_cents
    requested = application.requested_cents or 0
    return requested if limit is None else min(requested, limit)


@bp.app_template_global("award_summary")
def award_summary(application) -> AwardSummary | None:
    """The outcome of the allocation for the organisation's page and dashboard, or None
    before any allocation decided it."""
    award = application.award
    if award is None and application.state not in (*rules.ALLOCATED_STATES, "withdrawn"):
        return None  # no allocation has decided it yet: no need to ask
    explained = explanation(application)
    if explained["outcome"] is None and award is None:
        return None
    actor = signed_in_user()
    active = award is not None and award.state == "active" and application.state == "funded"
    accept_refusals = check(application, "accept", actor, "accettazione") if active else []
    renounce_refusals = check(application, "renounce", actor, "rinuncia") if active else []
    return AwardSummary(
        outcome=explained["outcome"],
        position=explained["position"],
        total=explained["total"],
        reason_text=allocation_reason(explained["decision"]) or None,
        award=award,
        partial=award is not None and award.amount_cents < _full_cents(application),
        can_accept=active and not accept_refusals,
        can_renounce=active and not renounce_refusals,
        accept_refusal="; ".join(r.reason for r in accept_refusals) or None,
    )


def _own(application_id):
    application = rules.visible_application(signed_in_user(), application_id)
    if application is None or not rules.can_act_as_owner(signed_in_user(), application):
        abort(404)
    return application


@bp.route("/domande/<int:application_id>/contributo")
@roles_required("applicant")
def award(application_id):
    application = _own(application_id)
    return render_template(
        "applicant/award.html",
        application=application,
        summary=award_summary(application),
        outcome_labels=OUTCOME_LABELS,
    )


def _award_step(application_id, trigger: str, template: str):
    """The confirmation page of accepting or renouncing, then the move."""
    application = _own(application_id)
    summary = award_summary(application)
    form = ReasonForm()
    context = {"application": application, "summary": summary, "form": form, "refusal": None}
    if summary is None or summary.award is None:
        abort(404)
    if request.method == "GET":
        return render_template(template, **context)
    if not form.validate_on_submit():
        abort(400)
    note = (form.reason.data or "").replace("\r\n", "\n").strip()
    if note and (problem := _text_problem(note)):
        return render_template(template, **{**context, "refusal": problem}), 422
    try:
        if trigger == "accept":
            operations.accept(application, signed_in_user())
        else:
            operations.renounce(application, signed_in_user(), note)
        commit()
    except (OperationError, TransitionRefused, IntegrityError) as error:
        db.session.rollback()
        application = _own(application_id)
        return render_template(
            template,
            **{
                **context,
                "application": application,
                "summary": award_summary(application),
                "refusal": _refusal(error),
            },
        ), 409
    if trigger == "accept":
        flash(_("Contributo accettato."), "success")
    else:
        flash(
            _("Rinuncia registrata: il contributo passa alle domande in riserva."),
            "success",
        )
    return redirect(url_for(".award", application_id=application.id))


@bp.route("/domande/<int:application_id>/contributo/accetta", methods=["GET", "POST"])
@roles_required("applicant")
def accept(application_id):
    return _award_step(application_id, "accept", "applicant/award_accept.html")


@bp.route("/domande/<int:application_id>/contributo/rinuncia", methods=["GET", "POST"])
@roles_required("applicant")
def renounce(application_id):
    return _award_step(application_id, "renounce", "applicant/award_renounce.html")
