"""Rows → the plain inputs of workflows/: the call's rules, a proposal's figures, what an
application still lacks, and the facts the lifecycle's guards see.

No decision is taken here: the rules are in workflows/, this only reads the rows.
"""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select

from bando.applications.attachments import attachment_kinds
from bando.applications.models import Application
from bando.calls.lifecycle import edition_fact
from bando.calls.models import Edition
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


def call_rules(edition: Edition) -> CallRules:
    # Every guideline of the call is in edition.guidelines, a neighbourhood's too: grouped
    # here, so the neighbourhoods' own lists need not be loaded.
    by_hood: dict[int, set[str]] = {}
    for g in edition.guidelines:
        if g.neighbourhood_id is not None:
            by_hood.setdefault(g.neighbourhood_id, set()).add(g.code)
    return CallRules(
        max_grant_cents=edition.max_grant_cents,
        min_cofinancing_bp=edition.min_cofinancing_bp,
        project_starts_on=edition.project_starts_on,
        project_ends_on=edition.project_ends_on,
        categories=tuple(edition.budget_categories or ()),
        guidelines={
            hood.slug: frozenset(by_hood.get(hood.id, ())) for hood in edition.neighbourhoods
        },
        general_guidelines=frozenset(g.code for g in edition.general_guidelines),
    )


def proposal_of(application: Application) -> Proposal:
    return Proposal(
        neighbourhood=application.neighbourhood.slug if application.neighbourhood else None,
        guidelines=tuple(g.code for g in application.guidelines),
        budget=tuple(
            RuleLine(line.category, line.amount_cents, line.description)
            for line in application.budget_lines
        ),
        requested_cents=application.requested_cents,
        cofinancing_cents=application.cofinancing_cents,
        start_date=application.start_date,
        end_date=application.end_date,
    )


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
    present = {a.kind for a in application.attachments}
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
