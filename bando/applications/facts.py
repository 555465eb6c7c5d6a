"""Rows → the plain inputs of workflows/: the call's rules, a proposal's figures, what an
application still lacks, and the facts the lifecycle's guards see.

No decision is taken here: the rules are in workflows/, this only reads the rows.
"""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import bindparam, func, select

from bando.applications.attachments import attachment_kinds
from bando.applications.models import (
    Application,
    Attachment,
    BudgetLine,
    application_guideline,
)
from bando.calls.lifecycle import edition_fact
from bando.calls.models import Edition, Guideline, Neighbourhood
from bando.core.extensions import db
from workflows import application as application_machine
from workflows.proposal import BudgetLine as RuleLine
from workflows.proposal import CallRules, Proposal, proposal_problems

# Where a rule's message is shown, for the fields whose name says little on its own.
FIELD_LABELS = {
    "neighbourhood": "quartiere",
    "guidelines": "linee di indirizzo",
    "budget": "piano economico",
    "requested_amount": "contributo richiesto",
    "cofinancing_amount": "cofinanziamento",
    "start_date": "data di inizio",
    "end_date": "data di fine",
}


# The rows the completeness checks read, as plain columns: built once, since every
# submission and every edit of a draft sends them (far cheaper than loading collections).
CALL_NEIGHBOURHOODS = (
    select(Neighbourhood.id, Neighbourhood.slug)
    .where(Neighbourhood.edition_id == bindparam("edition_id"))
    .order_by(Neighbourhood.position, Neighbourhood.id)
)
CALL_GUIDELINES = select(Guideline.code, Guideline.neighbourhood_id).where(
    Guideline.edition_id == bindparam("edition_id")
)
PROPOSAL_NEIGHBOURHOOD = (
    select(Neighbourhood.slug)
    .join(Application, Application.neighbourhood_id == Neighbourhood.id)
    .where(Application.id == bindparam("application_id"))
)
PROPOSAL_GUIDELINES = (
    select(Guideline.code)
    .join(application_guideline, application_guideline.c.guideline_id == Guideline.id)
    .where(application_guideline.c.application_id == bindparam("application_id"))
    .order_by(Guideline.position, Guideline.id)
)
PROPOSAL_BUDGET = (
    select(BudgetLine.category, BudgetLine.amount_cents, BudgetLine.description)
    .where(BudgetLine.application_id == bindparam("application_id"))
    .order_by(BudgetLine.position, BudgetLine.id)
)
ATTACHED_KINDS = select(Attachment.kind).where(
    Attachment.application_id == bindparam("application_id")
)


def written(application: Application) -> dict:
    """The parameters of the queries about `application`, once the session has written
    what it holds: a new application gets its id, an edit not yet flushed counts."""
    db.session.flush()
    return {"application_id": application.id}


def call_rules(edition: Edition) -> CallRules:
    """The call's rules; the neighbourhoods' guidelines are among the call's, grouped here."""
    call = {"edition_id": edition.id}
    by_hood: dict[int | None, set[str]] = {}
    for code, hood_id in db.session.execute(CALL_GUIDELINES, call):
        by_hood.setdefault(hood_id, set()).add(code)
    return CallRules(
        max_grant_cents=edition.max_grant_cents,
        min_cofinancing_bp=edition.min_cofinancing_bp,
        project_starts_on=edition.project_starts_on,
        project_ends_on=edition.project_ends_on,
        categories=tuple(edition.budget_categories or ()),
        guidelines={
            slug: frozenset(by_hood.get(hood_id, ()))
            for hood_id, slug in db.session.execute(CALL_NEIGHBOURHOODS, call)
        },
        general_guidelines=frozenset(by_hood.get(None, ())),
    )


def proposal_of(application: Application) -> Proposal:
    """The proposal's figures, as written (see `written`)."""
    proposal = written(application)
    return Proposal(
        neighbourhood=db.session.scalar(PROPOSAL_NEIGHBOURHOOD, proposal),
        guidelines=tuple(db.session.scalars(PROPOSAL_GUIDELINES, proposal)),
        budget=tuple(RuleLine(*line) for line in db.session.execute(PROPOSAL_BUDGET, proposal)),
        requested_cents=application.requested_cents,
        cofinancing_cents=application.cofinancing_cents,
        start_date=application.start_date,
        end_date=application.end_date,
    )


def attached_kinds(application: Application) -> frozenset[str]:
    """The kinds of document the application has."""
    return frozenset(db.session.scalars(ATTACHED_KINDS, written(application)))


def submission_problems(application: Application) -> list[str]:
    """Everything missing, in Italian; an empty list means the application is complete."""
    problems = []
    if not application.title.strip():
        problems.append("manca il titolo del progetto")
    if not application.summary.strip():
        problems.append("manca la sintesi del progetto")
    rules = proposal_problems(
        proposal_of(application), call_rules(application.edition), complete=True
    )
    for field, messages in rules.items():
        label = FIELD_LABELS.get(field.split(".")[0], "piano economico")
        problems.extend(f"{label}: {message}" for message in messages)
    present = attached_kinds(application)
    for kind, label in attachment_kinds(application.edition).items():
        if kind in application.edition.required_attachments and kind not in present:
            problems.append(f"manca l'allegato obbligatorio «{label}»")
    return problems


def is_owner(application: Application, actor) -> bool:
    return (
        actor is not None
        and actor.role == "applicant"
        and actor.organisation_id is not None
        and actor.organisation_id == application.organisation_id
    )


# Facts kept in the tables of later packages (the committee's reviews…): each registers
# its reader for the triggers whose guards need it, so this package never imports them.
APPLICATION_FACT_READERS: dict[str, tuple[frozenset[str], Callable]] = {}


def application_fact(name: str, *, triggers: tuple[str, ...]):
    """Registers a reader of one field of workflows.application.Facts, asked only when one
    of `triggers` is fired (a query the other moves do not need)."""

    def register(read):
        APPLICATION_FACT_READERS[name] = (frozenset(triggers), read)
        return read

    return register


def application_facts(
    application: Application, trigger: str, actor, reason: str = "", *, now: datetime
) -> application_machine.Facts:
    """What the guards see, read from the rows."""
    edition = application.edition
    later = {
        name: read(application)
        for name, (triggers, read) in APPLICATION_FACT_READERS.items()
        if trigger in triggers
    }
    return application_machine.Facts(
        now=now,
        actor_role=None if actor is None else actor.role,
        is_owner=is_owner(application, actor),
        reason=reason,
        edition_state=edition.state,
        opens_at=edition.opens_at,
        closes_at=edition.closes_at,
        integration_deadline=application.integration_deadline,
        # Only submit looks at completeness; the check reads attachments, so skip it otherwise.
        submission_problems=tuple(submission_problems(application)) if trigger == "submit" else (),
        email_confirmed=actor is None or actor.email_confirmed_at is not None,
        rejection_notice_days=edition.rejection_notice_days,
        notice_deadline=application.notice_deadline,
        notice_answered=application.notice_answered_at is not None,
        reviews_required=edition.reviews_required,
        **later,
    )


@edition_fact("unscored_eligible")
def unscored_eligible(edition) -> int:
    return db.session.scalar(
        select(func.count(Application.id)).where(
            Application.edition_id == edition.id, Application.state == "eligible"
        )
    )


@edition_fact("applications")
def applications_of_edition(edition) -> int:
    return db.session.scalar(
        select(func.count(Application.id)).where(Application.edition_id == edition.id)
    )
