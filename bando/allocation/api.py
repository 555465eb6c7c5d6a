"""The allocation's API: the officer's run and simulations, the applicant's acceptance or
renunciation, the officer's revocation, the explanation of an outcome, the budget."""

from fractions import Fraction

from sqlalchemy import select

from bando.allocation import operations
from bando.allocation.schemas import (
    AllocationOut,
    AwardOut,
    BudgetOut,
    Explanation,
    RevokeIn,
    SimulationQuery,
    Simulations,
)
from bando.applications import rules
from bando.budget.figures import figures
from bando.calls.api import edition_or_404
from bando.calls.models import Edition
from bando.core.api import ApiError, endpoint
from bando.core.extensions import db
from bando.core.operations import commit
from bando.core.schemas import api_amount
from bando.ranking.models import RankingEntry
from scoring.allocation import Allocation


def allocation_view(edition: Edition, allocation: Allocation, rules_used) -> dict:
    rows = {row.application_id: row for row in operations.ranked(edition)}
    return {
        "edition": edition.code,
        "committed": allocation.committed_cents,
        "residual": allocation.residual_cents,
        "rules": {
            "mode": rules_used.mode,
            "on_insufficient": rules_used.on_insufficient,
            "min_partial_share": rules_used.min_partial_share_bp / 10000,
            "cap": rules_used.cap_cents,
        },
        "decisions": [
            {
                "application_id": d.id,
                "protocol": rows[d.id].application.protocol,
                "organisation": rows[d.id].application.organisation.name,
                "position": rows[d.id].position,
                "outcome": d.outcome,
                "amount": d.amount_cents,
                "added": d.added_cents,
                "reason": d.reason,
                "reason_code": d.reason_code_text,
                "reason_text": d.reason_text,
                "residual_before": d.residual_before,
                "residual_after": d.residual_after,
                "reserve_position": d.reserve_position,
            }
            for d in allocation.decisions
        ],
    }


@endpoint(
    "POST",
    "/editions/<code>/allocation",
    summary="Allocate the call's money down the approved ranking (ranked → allocated); "
    "running it again changes nothing",
    tag="allocation",
    roles=("officer",),
    ok=(200, "the decisions", AllocationOut),
    errors={409: "the ranking is not approved"},
)
def run_allocation(user, code):
    edition = edition_or_404(code)
    allocation = operations.run(edition, user)
    commit()
    return AllocationOut.of(allocation_view(edition, allocation, operations.rules_of(edition)))


def _alternative(query: SimulationQuery) -> dict:
    """?mode=&on_insufficient=&cap=16000.00&min_partial_share=0.5 → rules_of overrides."""
    alternative, errors = {}, {}
    if query.mode:
        alternative["mode"] = query.mode
    if query.on_insufficient:
        alternative["on_insufficient"] = query.on_insufficient
    if query.cap:
        try:
            alternative["cap_cents"] = api_amount(query.cap)
        except ValueError as error:
            errors["cap"] = [str(error)]
    if query.min_partial_share:  # the schema's pattern: 0 to 1, four decimals at most
        alternative["min_partial_share_bp"] = int(Fraction(query.min_partial_share) * 10000)
    if errors:
        raise ApiError(422, "invalid alternative", errors)
    return alternative


@endpoint(
    "GET",
    "/editions/<code>/allocation/simulation",
    summary="Preview the allocation (the call's rules, and an alternative given as query "
    "parameters mode, on_insufficient, cap, min_partial_share) without writing anything",
    tag="allocation",
    roles=("officer",),
    query=SimulationQuery,
    ok=(200, "the call's rules first, then the alternative", Simulations),
    errors={409: "the ranking is not approved", 422: "an alternative that is not valid"},
)
def simulate_allocation(user, code, query: SimulationQuery):
    edition = edition_or_404(code)
    asked = [{}]
    if query.given():
        asked.append(_alternative(query))
    return Simulations.of(
        {
            "edition": edition.code,
            "simulations": [
                allocation_view(
                    edition,
                    operations.simulate(edition, **alternative),
                    operations.rules_of(edition, **alternative),
                )
                for alternative in asked
            ],
        }
    )


def _award_view(application) -> dict:
    award = application.award
    return {
        "application_id": application.id,
        "state": application.state,
        "amount": award.amount_cents if award else 0,
        "accept_by": award.accept_by if award else None,
        "accepted_at": award.accepted_at if award else None,
    }


def _owned(user, application_id):
    application = rules.visible_application(user, application_id)
    if application is None:
        raise ApiError(404, "application not found")
    if not rules.can_act_as_owner(user, application):
        raise ApiError(403, "only the organisation that owns the application can do this")
    return application


_MOVE = {403: "only the owning organisation", 409: "refused by the state machine"}


@endpoint(
    "POST",
    "/applications/<int:application_id>/accept",
    summary="Accept the award (before its acceptance deadline)",
    tag="allocation",
    roles=("applicant",),
    ok=(200, "accepted", AwardOut),
    errors=_MOVE,
)
def accept_award(user, application_id):
    application = _owned(user, application_id)
    operations.accept(application, user)
    commit()
    return AwardOut.of(_award_view(application))


@endpoint(
    "POST",
    "/applications/<int:application_id>/renounce",
    summary="Renounce the award: the unpaid amount goes down the reserve list",
    tag="allocation",
    roles=("applicant",),
    ok=(200, "renounced", AwardOut),
    errors=_MOVE,
)
def renounce_award(user, application_id):
    application = _owned(user, application_id)
    operations.renounce(application, user)
    commit()
    return AwardOut.of(_award_view(application))


@endpoint(
    "POST",
    "/applications/<int:application_id>/revoke",
    summary="Revoke the award, with the reason: the unpaid amount goes down the reserve list",
    tag="allocation",
    roles=("officer",),
    body=RevokeIn,
    ok=(200, "revoked", AwardOut),
    errors={409: "refused by the state machine"},
)
def revoke_award(user, application_id, body: RevokeIn):
    application = rules.visible_application(user, application_id)
    if application is None:
        raise ApiError(404, "application not found")
    operations.revoke(application, user, body.reason)
    commit()
    return AwardOut.of(_award_view(application))


def explanation(application) -> dict:
    decision = operations.latest_decision(application)
    entry = db.session.scalar(
        select(RankingEntry).where(RankingEntry.application_id == application.id)
    )
    award = application.award
    return {
        "application_id": application.id,
        "outcome": decision.outcome if decision else None,
        "position": entry.position if entry else None,
        "total": entry.total if entry else None,
        "amount": award.amount_cents if award else None,
        "reason_text": decision.reason_text if decision else None,
        "accept_by": award.accept_by if award else None,
        "accepted_at": award.accepted_at if award else None,
        "decision": decision,  # for the pages, which say the reason in their language
    }


@endpoint(
    "GET",
    "/applications/<int:application_id>/allocation",
    summary="The outcome of the allocation for this application, its position, points and why",
    tag="allocation",
    ok=(200, "the explanation", Explanation),
)
def explain_allocation(user, application_id):
    application = rules.visible_application(user, application_id)
    if application is None:
        raise ApiError(404, "application not found")
    return Explanation.of(explanation(application))


@endpoint(
    "GET",
    "/editions/<code>/budget",
    summary="The call's money: cap, committed, paid, available, and by neighbourhood",
    tag="allocation",
    roles=None,
    ok=(200, "the figures", BudgetOut),
)
def get_budget(code):
    edition = edition_or_404(code)
    return BudgetOut.of({"edition": edition.code, **figures(edition)})
