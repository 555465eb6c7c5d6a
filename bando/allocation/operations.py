"""The allocation of a call's money down its approved ranking, never above the cap.

`simulate` and `run` are the same code: the pure scoring.allocation.allocate over the
ranking, the call's rules and the awards already made. `run` holds the edition's row
lock for the whole transaction (on SQLite, the database's write lock, taken first), reads
the awards and the residual inside it, and writes only what the decisions add: new
awards, top-ups of partial ones, the application moves (allocate_*, fund), a record of
the run. A second run with nothing changed writes nothing. The database refuses an
over-cap commit by itself too (triggers of migration 0004).

A renunciation, a revocation or an award left unaccepted past its deadline ends the
award; what was not paid goes back down the reserve list by a new run, in the same
transaction. Flush, never commit: the caller commits.
"""

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from bando.accounts.models import User
from bando.allocation.models import AllocationDecision, AllocationRun
from bando.applications.facts import application_fact
from bando.applications.lifecycle import MACHINE, fire, integration_deadline
from bando.applications.models import Application
from bando.budget.models import Award
from bando.calls.lifecycle import fire_edition, lock_edition
from bando.calls.models import Edition
from bando.core import audit
from bando.core.extensions import db
from bando.core.operations import OperationError
from bando.core.tick import tick_job
from bando.core.timeutil import utcnow
from bando.core.transitions import Move, TransitionRefused
from bando.ranking.models import RankingEntry
from scoring.allocation import (
    NOT_FUNDED,
    RESERVE,
    Allocation,
    Entry,
    Existing,
    Rules,
    allocate,
    validate_rules,
)
from workflows.machine import Refusal, Refused

# Applications that have left the running: they keep their place in the record, not in
# the allocation.
GONE = ("withdrawn",)


def write_lock(edition: Edition) -> Edition:
    """The edition's row lock, held until the commit. SQLite has no row locks: a no-op
    update takes the database's write lock now, before anything is read."""
    if db.engine.dialect.name == "sqlite":
        db.session.execute(
            update(Edition)
            .where(Edition.id == edition.id)
            .values(protocol_counter=Edition.protocol_counter)
            .execution_options(synchronize_session=False)
        )
    return lock_edition(edition.id)


def rules_of(
    edition: Edition,
    *,
    mode: str | None = None,
    on_insufficient: str | None = None,
    cap_cents: int | None = None,
    min_partial_share_bp: int | None = None,
) -> Rules:
    """The call's rules, or an alternative for the simulation."""
    rules = Rules(
        cap_cents=edition.budget_cap_cents if cap_cents is None else cap_cents,
        mode=mode or edition.allocation_mode,
        on_insufficient=on_insufficient or edition.on_insufficient,
        min_partial_share_bp=edition.min_partial_share_bp
        if min_partial_share_bp is None
        else min_partial_share_bp,
        quotas={h.slug: h.quota_cents for h in edition.neighbourhoods if h.quota_cents is not None},
        max_grant_cents=edition.max_grant_cents,
    )
    try:
        validate_rules(rules)
    except ValueError as error:
        raise OperationError(422, str(error), {"rules": [str(error)]}) from None
    return rules


def ranked(edition: Edition) -> list[RankingEntry]:
    """The approved ranking with each proposal, its award and the award's payments (what
    was paid is read for every row), in one query for any number of proposals."""
    return list(
        db.session.scalars(
            select(RankingEntry)
            .where(RankingEntry.edition_id == edition.id)
            .options(
                joinedload(RankingEntry.application).options(
                    joinedload(Application.neighbourhood),
                    joinedload(Application.organisation),
                    joinedload(Application.award).joinedload(Award.payments),
                )
            )
            .order_by(RankingEntry.position)
        ).unique()
    )


def inputs(edition: Edition) -> tuple[list[Entry], dict[int, Existing], list[RankingEntry]]:
    """The ranking as allocation entries, and the awards made so far."""
    rows = [r for r in ranked(edition) if r.application.state not in GONE]
    if not rows:
        raise OperationError(409, "la graduatoria non è ancora approvata", code="not_ranked")
    entries = [
        Entry(
            id=row.application_id,
            neighbourhood=row.application.neighbourhood.slug
            if row.application.neighbourhood
            else "",
            requested_cents=row.application.requested_cents,
            fundable=row.fundable,
        )
        for row in rows
    ]
    existing = {
        row.application_id: Existing(
            amount_cents=award.amount_cents,
            active=award.state == "active",
            paid_cents=award.paid_cents,
        )
        for row in rows
        if (award := row.application.award) is not None
    }
    return entries, existing, rows


def simulate(edition: Edition, **alternative) -> Allocation:
    """What a run would decide now, with the call's rules or an alternative; writes
    nothing."""
    entries, existing, _ = inputs(edition)
    rules = rules_of(edition, **alternative)
    try:
        return allocate(entries, rules, existing)
    except ValueError as error:  # e.g. a cap below what is already committed
        raise OperationError(422, str(error), {"rules": [str(error)]}) from None


def run(
    edition: Edition, actor: User | None, cause: str = "allocation", *, now: datetime | None = None
) -> Allocation:
    """Allocates (or moves down the reserve list): the same decisions as simulate, now
    written under the edition's lock."""
    now = now or utcnow()
    write_lock(edition)
    if edition.state == "ranked":
        fire_edition(edition, "allocate", actor, "assegnazione dei contributi", now=now)
    elif edition.state != "allocated":
        raise OperationError(
            409, "la graduatoria del bando non è ancora approvata", code="not_ranked"
        )
    entries, existing, rows = inputs(edition)
    allocation = allocate(entries, rules_of(edition), existing)
    by_id = {row.application_id: row for row in rows}
    changed = False
    for decision in allocation.decisions:
        application = by_id[decision.id].application
        changed |= _apply(application, decision, actor, cause, now)
    # A run moving down the reserve list is recorded even when it funds nobody: it is why
    # the reserve stays as it is after the money freed.
    if changed or cause != "allocation":
        _record(edition, allocation, rows, actor, cause, now)
    db.session.flush()
    return allocation


def _apply(application: Application, decision, actor, cause: str, now) -> bool:
    """Writes what one decision adds; True when something changed."""
    reason = decision.reason_text
    details = {"reason": decision.reason_code_text, "cause": cause}
    if decision.added_cents:
        award = application.award
        if award is None:
            award = Award(
                application=application,
                edition_id=application.edition_id,
                amount_cents=decision.amount_cents,
                reason=decision.reason_code_text[:300],
                decided_at=now,
                accept_by=integration_deadline(now, application.edition.acceptance_days),
            )
            db.session.add(award)
            db.session.flush()  # the cap's trigger judges it now, inside the lock
            trigger = "fund" if application.state == "reserve" else "allocate_funded"
            fire(application, trigger, actor, reason, details, now=now)
        else:  # a partial award topped up
            award.amount_cents = decision.amount_cents
            db.session.flush()
            audit.append(
                subject="application",
                trigger="top_up_award",
                actor=actor,
                application_id=application.id,
                edition_id=application.edition_id,
                reason=reason,
                payload={**details, "added_cents": decision.added_cents},
                at=now,
            )
        return True
    if application.state == "scored" and decision.outcome in (RESERVE, NOT_FUNDED):
        trigger = "allocate_reserve" if decision.outcome == RESERVE else "allocate_not_funded"
        fire(application, trigger, actor, reason, details, now=now)
        return True
    return False


def _record(edition, allocation: Allocation, rows, actor, cause, now) -> None:
    position = {row.application_id: row.position for row in rows}
    db.session.add(
        AllocationRun(
            edition_id=edition.id,
            cause=cause,
            actor_id=None if actor is None else actor.id,
            at=now,
            committed_cents=allocation.committed_cents,
            residual_cents=allocation.residual_cents,
            decisions=[
                AllocationDecision(
                    application_id=d.id,
                    position=position[d.id],
                    outcome=d.outcome,
                    reason=d.reason,
                    reason_text=d.reason_text,
                    reason_code_text=d.reason_code_text,
                    amount_cents=d.amount_cents,
                    added_cents=d.added_cents,
                    residual_before=d.residual_before,
                    residual_after=d.residual_after,
                    reserve_position=d.reserve_position,
                    requested_cents=d.requested_cents,
                    full_cents=d.full_cents,
                    pass_name=d.pass_,
                    min_partial_share_bp=d.min_partial_share_bp,
                )
                for d in allocation.decisions
            ],
        )
    )


def latest_decision(application: Application) -> AllocationDecision | None:
    """Why the application has the outcome it has: the last run that decided it."""
    return db.session.scalar(
        select(AllocationDecision)
        .where(AllocationDecision.application_id == application.id)
        .order_by(AllocationDecision.id.desc())
        .limit(1)
    )


# --- the award's life: accepted, renounced, revoked --------------------------------------


@application_fact("award_accepted", triggers=("accept", "renounce"))
def _accepted(application: Application) -> bool:
    return application.award is not None and application.award.accepted_at is not None


@application_fact("acceptance_deadline", triggers=("accept", "renounce"))
def _acceptance_deadline(application: Application):
    return None if application.award is None else application.award.accept_by


@MACHINE.effect("accept")
def _record_acceptance(application: Application, move: Move) -> None:
    if application.award is None:  # a funded application always has one: a broken row
        raise Refused([Refusal("no_award", "nessun contributo da accettare")])
    application.award.accepted_at = move.now
    move.details["amount_cents"] = application.award.amount_cents


@MACHINE.effect("renounce", "revoke")
def _end_award(application: Application, move: Move) -> None:
    award = application.award
    if award is not None and award.state == "active":
        award.state = "renounced" if move.trigger == "renounce" else "revoked"
        award.ended_at = move.now
        move.details["freed_cents"] = award.amount_cents - award.paid_cents


def accept(application: Application, user: User, *, now=None):
    return fire(application, "accept", user, "contributo accettato", now=now)


def renounce(application: Application, user: User | None, reason: str = "", *, now=None):
    """The organisation renounces (or the system, for an award left unaccepted): the
    unpaid amount goes down the reserve list at once."""
    now = now or utcnow()
    write_lock(application.edition)
    fire(application, "renounce", user, reason or "rinuncia al contributo", now=now)
    return run(application.edition, None, "renounce", now=now)


def revoke(application: Application, officer: User, reason: str, *, now=None):
    now = now or utcnow()
    write_lock(application.edition)
    fire(application, "revoke", officer, reason, now=now)
    return run(application.edition, None, "revoke", now=now)


@tick_job(25)
def renounce_unaccepted(now: datetime) -> list[str]:
    """Awards left unaccepted past their deadline count as renounced."""
    done = []
    due = db.session.scalars(
        select(Application.id)
        .join(Award, Award.application_id == Application.id)
        .where(
            Application.state == "funded",
            Award.state == "active",
            Award.accepted_at.is_(None),
            # The deadline's last second is still in time.
            Award.accept_by <= now - timedelta(seconds=1),
        )
        .order_by(Application.id)
    ).all()
    for application_id in due:
        application = db.session.get(Application, application_id)
        try:
            renounce(application, None, "contributo non accettato entro il termine", now=now)
            db.session.commit()
        except TransitionRefused:
            db.session.rollback()  # not due yet: the guard judged the deadline
            continue
        done.append(f"application {application.protocol}: award not accepted, renounced")
    return done
