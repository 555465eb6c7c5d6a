"""Operations on applications: drafts, reading, and the applicant's moves.

The pages and the API both send the proposal in the API's shape (see DESIGN.md), checked by
the one schema (bando.applications.schemas) and then by the call's rules
(workflows.proposal): one path of checks, one set of messages. State changes go through
bando.applications.lifecycle.fire; nothing here assigns a state.
"""

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from bando.accounts.models import Organisation, User
from bando.applications import rules
from bando.applications.facts import call_rules, proposal_of
from bando.applications.lifecycle import expire_if_overdue, fire, integration_overdue
from bando.applications.models import Application, BudgetLine, Partner
from bando.applications.schemas import NewProposal, ProposalChange, ProposalFields
from bando.calls.lifecycle import open_if_due
from bando.calls.models import Edition, Neighbourhood
from bando.core.extensions import db
from bando.core.operations import OperationError, commit
from bando.core.schemas import field_errors, one_line
from bando.core.timeutil import utcnow
from workflows.organisation import tax_code_problem
from workflows.proposal import BudgetLine as RuleLine
from workflows.proposal import Proposal, proposal_problems

EDITABLE_STATES = ("draft",)
# An application that does not count against the per-organisation limit.
INACTIVE_STATES = ("withdrawn",)
TEXT_FIELDS = ("title", "summary", "description", "objectives", "places", "timeline")


# --- reading -------------------------------------------------------------------------------


def applications_of(organisation_id: int) -> list[Application]:
    return list(
        db.session.scalars(
            select(Application)
            .where(Application.organisation_id == organisation_id)
            .order_by(Application.created_at.desc(), Application.id.desc())
        )
    )


def listing(
    user: User, *, edition=None, state=None, neighbourhood=None, limit=50, offset=0
) -> tuple[int, list[Application]]:
    """The applications this user may list (rules.listed), filtered by call code, state and
    neighbourhood slug: how many in all, and one page of them, newest first, loaded with
    what application_view reads — the same statements whatever the number of rows."""
    where = rules.listed(user)
    if edition:
        where.append(Application.edition.has(Edition.code == edition))
    if state:
        where.append(Application.state == state)
    if neighbourhood:
        where.append(Application.neighbourhood.has(Neighbourhood.slug == neighbourhood))
    total = db.session.scalar(select(func.count(Application.id)).where(*where))
    page = db.session.scalars(
        select(Application)
        .where(*where)
        .options(
            joinedload(Application.edition),
            joinedload(Application.organisation),
            joinedload(Application.neighbourhood),
            selectinload(Application.guidelines),
            selectinload(Application.partners),
            selectinload(Application.budget_lines),
            selectinload(Application.attachments),
        )
        .order_by(Application.created_at.desc(), Application.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return total, list(page)


def applications_at_limit(edition: Edition, organisation_id: int) -> list[Application]:
    """The organisation's applications to this call when they already reach the call's
    limit per organisation (withdrawn ones do not count); empty while it may apply."""
    counted = list(
        db.session.scalars(
            select(Application)
            .where(
                Application.edition_id == edition.id,
                Application.organisation_id == organisation_id,
                Application.state.not_in(INACTIVE_STATES),
            )
            .order_by(Application.id)
        )
    )
    return counted if len(counted) >= edition.max_applications_per_organisation else []


def limit_reached_message(edition: Edition, count: int) -> str:
    limit = edition.max_applications_per_organisation
    if limit == 1:
        return (
            "il bando ammette una sola domanda per ente e l'ente ne ha già una: "
            "modificare quella esistente (o ritirarla)"
        )
    return (
        f"il bando ammette al massimo {limit} domande per ente e l'ente ne ha già "
        f"{count}: modificare quelle esistenti (o ritirarne una)"
    )


def open_editions(now=None) -> list[Edition]:
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(Edition)
            .where(Edition.state == "open", Edition.closes_at > now)
            .order_by(Edition.closes_at)
        )
    )


def application_view(application: Application) -> dict:
    """The application as ApplicationOut reads it."""
    return {
        "id": application.id,
        "edition": application.edition.code,
        "organisation": application.organisation,
        "state": application.state,
        "protocol": application.protocol,
        "submitted_at": application.submitted_at,
        "integration_deadline": application.integration_deadline,
        "integration_request": application.integration_request or None,
        "notice_deadline": application.notice_deadline,
        "notice_reasons": application.notice_reasons or None,
        "notice_answer": application.notice_answer or None,
        "notice_answered_at": application.notice_answered_at,
        "neighbourhood": application.neighbourhood.slug if application.neighbourhood else None,
        **{name: getattr(application, name) for name in TEXT_FIELDS},
        "guidelines": [g.code for g in application.guidelines],
        "partners": application.partners,
        "budget": [
            {
                "category": line.category,
                "description": line.description,
                "amount": line.amount_cents,
            }
            for line in application.budget_lines
        ],
        "total_cost": application.total_cost_cents,
        "requested_amount": application.requested_cents,
        "cofinancing_amount": application.cofinancing_cents,
        "start_date": application.start_date,
        "end_date": application.end_date,
        "attachments": application.attachments,
        "version": application.version_id,
    }


# --- the proposal: the schema, then the call's rules ---------------------------------------


def read_proposal(
    schema: type[ProposalFields], data, edition: Edition | None, application=None
) -> ProposalFields:
    """The proposal in the API's shape checked by its schema and then by the call's rules,
    with every problem of both reported in one go (a field the schema refuses is left out
    of the rules, which run on what could be read)."""
    try:
        given = schema.model_validate(data, strict=False)
    except ValidationError as error:
        errors = field_errors(error)
        if edition is not None and isinstance(data, dict):
            unreadable = {key.split(".")[0] for key in errors}
            rest = {k: v for k, v in data.items() if k not in unreadable and k != "edition"}
            if "budget" in unreadable:
                rest["budget"] = []  # no totals to compare until the lines are readable
            try:
                readable = ProposalChange.model_validate(rest, strict=False)
            except ValidationError:
                readable = None
            if readable is not None:
                for key, messages in rule_problems(edition, application, readable).items():
                    if key.split(".")[0] not in unreadable:
                        errors.setdefault(key, []).extend(messages)
        raise OperationError(422, "la proposta contiene dati non validi", errors) from None
    if edition is not None and (problems := rule_problems(edition, application, given)):
        raise OperationError(422, "la proposta contiene dati non validi", problems)
    return given


def _merged(application: Application | None, given: ProposalFields) -> Proposal:
    current = proposal_of(application) if application is not None else Proposal()
    sent = given.model_fields_set

    def pick(name, value, default):
        return value if name in sent else default

    return Proposal(
        neighbourhood=pick("neighbourhood", given.neighbourhood, current.neighbourhood),
        guidelines=tuple(pick("guidelines", given.guidelines, current.guidelines)),
        budget=tuple(
            pick(
                "budget",
                [RuleLine(b.category, b.amount, b.description) for b in given.budget],
                current.budget,
            )
        ),
        requested_cents=pick("requested_amount", given.requested_amount, current.requested_cents),
        cofinancing_cents=pick(
            "cofinancing_amount", given.cofinancing_amount, current.cofinancing_cents
        ),
        start_date=pick("start_date", given.start_date, current.start_date),
        end_date=pick("end_date", given.end_date, current.end_date),
    )


def rule_problems(
    edition: Edition, application: Application | None, given: ProposalFields
) -> dict[str, list[str]]:
    """The call's rules on the proposal as it would be after the change."""
    errors = proposal_problems(_merged(application, given), call_rules(edition))
    for i, partner in enumerate(given.partners if "partners" in given.model_fields_set else ()):
        if partner.tax_code and (problem := tax_code_problem(partner.tax_code)):
            errors.setdefault(f"partners.{i}.tax_code", []).append(problem)
    return errors


def _apply(application: Application, given: ProposalFields) -> None:
    edition = application.edition
    sent = given.model_fields_set
    for name in TEXT_FIELDS:
        if name in sent:
            setattr(application, name, getattr(given, name))
    if "neighbourhood" in sent:
        slug = given.neighbourhood
        application.neighbourhood = next(
            (h for h in edition.neighbourhoods if h.slug == slug), None
        )
    if "guidelines" in sent:
        by_code = {g.code: g for g in edition.guidelines}
        application.guidelines = [by_code[c] for c in given.guidelines]
    if "requested_amount" in sent:
        application.requested_cents = given.requested_amount
    if "cofinancing_amount" in sent:
        application.cofinancing_cents = given.cofinancing_amount
    for name in ("start_date", "end_date"):
        if name in sent:
            setattr(application, name, getattr(given, name))
    if "budget" in sent:
        application.budget_lines = [
            BudgetLine(
                category=line.category,
                description=line.description,
                amount_cents=line.amount,
                position=i,
            )
            for i, line in enumerate(given.budget)
        ]
    if "partners" in sent:
        application.partners = [
            Partner(position=i, name=p.name, tax_code=p.tax_code or None, role=p.role)
            for i, p in enumerate(given.partners)
        ]


# --- writing ---------------------------------------------------------------------------------


def _edition_for(code: str) -> Edition:
    try:
        code = one_line(code)
    except ValueError:  # a NUL would not even reach PostgreSQL: no code has one
        edition = None
    else:
        edition = db.session.scalar(select(Edition).where(Edition.code == code))
    if edition is None:
        raise OperationError(
            422, "bando inesistente", {"edition": [f"nessun bando con codice «{code}»"]}
        )
    return edition


def create_draft(actor: User, data) -> Application:
    """A new draft of the actor's organisation (added and flushed, not committed)."""
    if actor.role != "applicant" or actor.organisation_id is None:
        raise OperationError(403, "solo un ente registrato può presentare domande")
    code = data.get("edition") if isinstance(data, dict) else None
    edition = _edition_for(code) if isinstance(code, str) and code.strip() else None
    given = read_proposal(NewProposal, data, edition)
    if edition is None:  # a code of blanks passes the schema's length check
        raise OperationError(422, "bando inesistente", {"edition": ["indicare il bando"]})
    if utcnow() < edition.opens_at:
        raise OperationError(
            409, f"il bando «{edition.title}» non è ancora aperto", code="edition_not_open"
        )
    open_if_due(edition)
    if edition.state != "open" or utcnow() >= edition.closes_at:
        raise OperationError(
            409, f"il bando «{edition.title}» non accetta domande", code="edition_not_open"
        )
    # Two drafts started at once must not both slip under the limit: lock the organisation.
    db.session.execute(
        select(Organisation.id).where(Organisation.id == actor.organisation_id).with_for_update()
    )
    existing = applications_at_limit(edition, actor.organisation_id)
    if existing:
        raise OperationError(
            409, limit_reached_message(edition, len(existing)), code="limit_reached"
        )
    application = Application(
        edition=edition, organisation_id=actor.organisation_id, created_by=actor
    )
    db.session.add(application)
    _apply(application, given)
    db.session.flush()
    return application


def update_draft(application: Application, actor: User, data) -> Application:
    """Changes the fields sent (flushed, not committed); only a draft."""
    if application.state not in EDITABLE_STATES:
        raise OperationError(
            409, "la domanda è già stata inviata: non si può più modificare", code="not_a_draft"
        )
    if isinstance(data, dict) and data.get("edition", application.edition.code) != (
        application.edition.code
    ):
        raise OperationError(
            409,
            "il bando di una domanda non si cambia: creare una nuova domanda",
            code="edition_unchangeable",
        )
    given = read_proposal(ProposalChange, data, application.edition, application)
    _apply(application, given)
    db.session.flush()
    return application


def expire_if_due(application: Application) -> bool:
    """Lazily expires an unanswered request for documents past its deadline (flushes only);
    True when the application changed, so the caller commits."""
    return expire_if_overdue(application) is not None


def expire_due_among(*where) -> None:
    """Lazy expiry among the applications `where` selects, committed, before they are
    counted or listed: one query finds those past their deadline (none, nearly always),
    each then moves through the lifecycle."""
    overdue = db.session.scalars(
        select(Application).where(integration_overdue(utcnow()), *where).order_by(Application.id)
    ).all()
    if any([expire_if_due(a) for a in overdue]):  # every one, not just the first
        commit()


def expire_due_in(edition: Edition) -> None:
    """Lazy expiry for one call: before a page or a batch reads its proposals' states (the
    officer's list, the letters each one is due)."""
    expire_due_among(Application.edition_id == edition.id)


def submit(application: Application, actor: User, *, now=None, declarations=None) -> Application:
    """Sends the application: the lifecycle checks completeness and the deadline. The
    declarations accepted on the review page, when given, are kept in the audit event."""
    payload = {"declarations": declarations} if declarations else None
    fire(application, "submit", actor, "", payload, now=now)
    return application


def withdraw(application: Application, actor: User, reason: str = "", *, now=None):
    fire(application, "withdraw", actor, reason or "ritirata dall'ente", now=now)
    return application


def integrate(application: Application, actor: User, reason: str = "", *, now=None):
    """Answers a request for documents (after replacing or adding the attachments)."""
    fire(application, "integrate", actor, reason or "integrazione inviata", now=now)
    return application
