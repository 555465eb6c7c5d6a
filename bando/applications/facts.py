"""Rows → the plain inputs of workflows/: the call's rules, a proposal's figures, what an
application still lacks, and the facts the lifecycle's guards see.

No decision is taken here: the rules are in workflows/, this only reads the rows.
"""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    bindparam,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)

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


# The rows the completeness checks read, as plain columns and in one round trip: every
# submission and every edit of a draft reads them (a statement costs more than the rows
# it brings back here). Each part of the union is one read, tagged; `first` and `second`
# order the rows within it. A part whose parameter is None reads nothing.
def _part(tag: str, name, number=None, note=None, order=(None, None)):
    def column(label, value, type_):
        # A typed NULL: PostgreSQL resolves a union's column types part by part.
        return (cast(null(), type_) if value is None else value).label(label)

    return select(
        literal(tag, String).label("part"),
        name.label("name"),
        column("number", number, BigInteger),
        column("note", note, String),
        column("first", order[0], Integer),
        column("second", order[1], Integer),
    )


APPLICATION_ID, EDITION_ID = bindparam("application_id"), bindparam("edition_id")
COMPLETENESS = union_all(
    # the call's neighbourhoods, in the call's order, and its guidelines
    _part(
        "call_neighbourhood",
        Neighbourhood.slug,
        Neighbourhood.id,
        order=(Neighbourhood.position, Neighbourhood.id),
    ).where(Neighbourhood.edition_id == EDITION_ID),
    _part("call_guideline", Guideline.code, Guideline.neighbourhood_id).where(
        Guideline.edition_id == EDITION_ID
    ),
    # the proposal's neighbourhood, guidelines and budget, as written
    _part("neighbourhood", Neighbourhood.slug)
    .join(Application, Application.neighbourhood_id == Neighbourhood.id)
    .where(Application.id == APPLICATION_ID),
    _part("guideline", Guideline.code, order=(Guideline.position, Guideline.id))
    .join(application_guideline, application_guideline.c.guideline_id == Guideline.id)
    .where(application_guideline.c.application_id == APPLICATION_ID),
    _part(
        "budget",
        BudgetLine.category,
        BudgetLine.amount_cents,
        BudgetLine.description,
        order=(BudgetLine.position, BudgetLine.id),
    ).where(BudgetLine.application_id == APPLICATION_ID),
    # the kinds of document attached
    _part("attachment", Attachment.kind).where(Attachment.application_id == APPLICATION_ID),
).order_by("first", "second")


CALL_PARTS = ("call_neighbourhood", "call_guideline")
APPLICATION_PARTS = ("neighbourhood", "guideline", "budget", "attachment")


def completeness_rows(application_id: int | None, edition_id: int | None) -> dict[str, list]:
    """The parts of COMPLETENESS for one application and one call, by tag: only those
    read (a call's rules asked of rows read without the call fail, not look empty)."""
    parts: dict[str, list] = {
        tag: []
        for tags, given in ((CALL_PARTS, edition_id), (APPLICATION_PARTS, application_id))
        if given is not None
        for tag in tags
    }
    rows = db.session.execute(
        COMPLETENESS, {"application_id": application_id, "edition_id": edition_id}
    )
    for row in rows:
        parts[row.part].append(row)
    return parts


def written(application: Application, *, with_call: bool = False) -> dict[str, list]:
    """The application's parts of COMPLETENESS once the session has written what it holds
    (a new application gets its id, an edit not yet flushed counts); its call's too when
    `with_call`."""
    db.session.flush()
    return completeness_rows(application.id, application.edition_id if with_call else None)


def call_rules(edition: Edition, rows: dict[str, list] | None = None) -> CallRules:
    """The call's rules; the neighbourhoods' guidelines are among the call's, grouped here.
    `rows`: the call's parts of COMPLETENESS when already read."""
    rows = completeness_rows(None, edition.id) if rows is None else rows
    by_hood: dict[int | None, set[str]] = {}
    for row in rows["call_guideline"]:
        by_hood.setdefault(row.number, set()).add(row.name)
    return CallRules(
        max_grant_cents=edition.max_grant_cents,
        min_cofinancing_bp=edition.min_cofinancing_bp,
        project_starts_on=edition.project_starts_on,
        project_ends_on=edition.project_ends_on,
        categories=tuple(edition.budget_categories or ()),
        guidelines={
            row.name: frozenset(by_hood.get(row.number, ())) for row in rows["call_neighbourhood"]
        },
        general_guidelines=frozenset(by_hood.get(None, ())),
    )


def proposal_of(application: Application, rows: dict[str, list] | None = None) -> Proposal:
    """The proposal's figures, as written (see `written`). `rows`: its parts of
    COMPLETENESS when already read."""
    rows = written(application) if rows is None else rows
    hood = rows["neighbourhood"]
    return Proposal(
        neighbourhood=hood[0].name if hood else None,
        guidelines=tuple(row.name for row in rows["guideline"]),
        budget=tuple(RuleLine(row.name, row.number, row.note) for row in rows["budget"]),
        requested_cents=application.requested_cents,
        cofinancing_cents=application.cofinancing_cents,
        start_date=application.start_date,
        end_date=application.end_date,
    )


def attached_kinds(application: Application, rows: dict[str, list] | None = None) -> frozenset[str]:
    """The kinds of document the application has."""
    rows = written(application) if rows is None else rows
    return frozenset(row.name for row in rows["attachment"])


def complete_proposal_problems(application: Application, rows: dict[str, list]) -> dict:
    """The call's rules on the proposal as written, everything a submission needs asked
    for, by field; `rows`: its parts of COMPLETENESS, the call's included."""
    return proposal_problems(
        proposal_of(application, rows), call_rules(application.edition, rows), complete=True
    )


def submission_problems(application: Application) -> list[str]:
    """Everything missing, in Italian; an empty list means the application is complete."""
    problems = []
    if not application.title.strip():
        problems.append("manca il titolo del progetto")
    if not application.summary.strip():
        problems.append("manca la sintesi del progetto")
    rows = written(application, with_call=True)
    rules = complete_proposal_problems(application, rows)
    for field, messages in rules.items():
        label = FIELD_LABELS.get(field.split(".")[0], "piano economico")
        problems.extend(f"{label}: {message}" for message in messages)
    present = attached_kinds(application, rows)
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


@edition_fact("under_check")
def under_check(edition) -> int:
    return db.session.scalar(
        select(func.count(Application.id)).where(
            Application.edition_id == edition.id,
            Application.state.in_(application_machine.UNDER_CHECK),
        )
    )


@edition_fact("applications")
def applications_of_edition(edition) -> int:
    return db.session.scalar(
        select(func.count(Application.id)).where(Application.edition_id == edition.id)
    )
