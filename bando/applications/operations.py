"""Operations on applications: drafts, reading, and the applicant's triggers.

The pages and the API both send the proposal in the API's shape (see DESIGN.md) to
`create_draft` / `update_draft`: one path of checks, one set of messages. State changes go
through bando.applications.lifecycle.fire; nothing here assigns a state.
"""

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from bando.accounts.models import Organisation, User
from bando.applications.facts import submission_problems
from bando.applications.models import Application, BudgetLine, Partner
from bando.calls.models import Edition
from bando.core.extensions import db
from bando.core.timeutil import utcnow
from scoring.money import AmountError, cents_to_str, parse_cents
from workflows.organisation import tax_code_problem
from workflows.proposal import BudgetLine as RuleLine
from workflows.proposal import CallRules, Proposal, proposal_problems

TEXT_FIELDS = {
    "title": 300,
    "summary": 5000,
    "description": 20000,
    "objectives": 10000,
    "places": 5000,
    "timeline": 10000,
}
LIST_LIMIT = 50  # budget lines, partners, guidelines: far above any real proposal
FIELDS = set(TEXT_FIELDS) | {
    "neighbourhood",
    "guidelines",
    "partners",
    "budget",
    "requested_amount",
    "cofinancing_amount",
    "start_date",
    "end_date",
}
EDITABLE_STATES = ("draft",)
# An application that does not count against the per-organisation limit.
INACTIVE_STATES = ("withdrawn",)


class ApplicationError(Exception):
    """Refused: an HTTP-like status, an Italian message and messages by field."""

    def __init__(self, status: int, message: str, errors: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or {}


# --- reading -------------------------------------------------------------------------------


def visible_application(user: User, application_id) -> Application | None:
    """The application if this user may see it: its organisation's members; staff once it
    has left the draft."""
    try:
        application_id = int(application_id)
    except (TypeError, ValueError):
        return None
    if not 0 < application_id < 2**31:  # the id column is a 32-bit integer on PostgreSQL
        return None
    application = db.session.get(Application, application_id)
    if application is None:
        return None
    if user.role == "applicant" and application.organisation_id == user.organisation_id:
        return application
    # A draft is the organisation's own work until it is submitted.
    if user.is_staff and application.state != "draft":
        return application
    return None


def applications_of(organisation_id: int) -> list[Application]:
    return list(
        db.session.scalars(
            select(Application)
            .where(Application.organisation_id == organisation_id)
            .order_by(Application.created_at.desc(), Application.id.desc())
        )
    )


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
            "il bando ammette una sola domanda per ente e il vostro ente ne ha già una: "
            "modificare quella esistente (o ritirarla)"
        )
    return (
        f"il bando ammette al massimo {limit} domande per ente e il vostro ente ne ha già "
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


def application_dict(application: Application) -> dict:
    return {
        "id": application.id,
        "edition": application.edition.code,
        "organisation": {
            "id": application.organisation.id,
            "name": application.organisation.name,
            "tax_code": application.organisation.tax_code,
        },
        "state": application.state,
        "protocol": application.protocol,
        "submitted_at": _iso(application.submitted_at),
        "integration_deadline": _iso(application.integration_deadline),
        "integration_request": application.integration_request or None,
        "neighbourhood": application.neighbourhood.slug if application.neighbourhood else None,
        **{name: getattr(application, name) for name in TEXT_FIELDS},
        "guidelines": [g.code for g in application.guidelines],
        "partners": [
            {"name": p.name, "tax_code": p.tax_code, "role": p.role} for p in application.partners
        ],
        "budget": [
            {
                "category": line.category,
                "description": line.description,
                "amount": cents_to_str(line.amount_cents),
            }
            for line in application.budget_lines
        ],
        "total_cost": cents_to_str(application.total_cost_cents),
        "requested_amount": cents_to_str(application.requested_cents),
        "cofinancing_amount": cents_to_str(application.cofinancing_cents),
        "start_date": application.start_date.isoformat() if application.start_date else None,
        "end_date": application.end_date.isoformat() if application.end_date else None,
        "attachments": [
            {
                "kind": a.kind,
                "filename": a.filename,
                "size": a.size,
                "sha256": a.sha256,
                "uploaded_at": _iso(a.uploaded_at),
            }
            for a in application.attachments
        ],
        "version": application.version_id,
    }


def _iso(value):
    return value.isoformat() if value else None


# --- the rules -------------------------------------------------------------------------------


def budget_category_label(code: str) -> str:
    """How a budget category reads in the form, the pages and the receipt: "Spese generali"."""
    return (code or "").replace("_", " ").capitalize()


def budget_categories(edition: Edition) -> dict[str, str]:
    """code → label of the call's budget categories, in the call's order."""
    return {code: budget_category_label(code) for code in edition.budget_categories or []}


def call_rules(edition: Edition) -> CallRules:
    return CallRules(
        max_grant_cents=edition.max_grant_cents,
        min_cofinancing_bp=edition.min_cofinancing_bp,
        project_starts_on=edition.project_starts_on,
        project_ends_on=edition.project_ends_on,
        categories=tuple(edition.budget_categories or ()),
        guidelines={
            hood.slug: frozenset(g.code for g in hood.guidelines) for hood in edition.neighbourhoods
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


def _text(value, field, errors, limit):
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.setdefault(field, []).append("deve essere un testo")
        return None
    if len(value) > limit:
        errors.setdefault(field, []).append(f"al massimo {limit} caratteri")
        return None
    if "\x00" in value:  # PostgreSQL refuses NUL in text
        errors.setdefault(field, []).append("il testo contiene un carattere non ammesso")
        return None
    return value.strip()


def _amount(value, field, errors):
    if value is None or value == "":
        return 0
    try:
        return parse_cents(value)
    except AmountError as error:
        errors.setdefault(field, []).append(str(error))
    except ArithmeticError:  # e.g. "1e30": more digits than the decimal context holds
        errors.setdefault(field, []).append("importo fuori misura")
    return None


def _date(value, field, errors):
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    errors.setdefault(field, []).append("data non valida: scrivere AAAA-MM-GG, es. 2019-06-01")
    return None


def _list(value, field, errors):
    if value is None:
        return []
    if not isinstance(value, list):
        errors.setdefault(field, []).append("deve essere un elenco")
        return None
    if len(value) > LIST_LIMIT:
        errors.setdefault(field, []).append(f"al massimo {LIST_LIMIT} elementi")
        return None
    return value


def parse_proposal(data: dict) -> tuple[dict, dict]:
    """Typed values of the fields present in `data` (API shape) and the problems found."""
    errors: dict[str, list[str]] = {}
    values: dict = {}
    for key in data:
        if key not in FIELDS:
            errors.setdefault(key, []).append("campo sconosciuto")
    for name, limit in TEXT_FIELDS.items():
        if name in data:
            values[name] = _text(data[name], name, errors, limit)
    if "neighbourhood" in data:
        hood = data["neighbourhood"]
        if isinstance(hood, str):
            hood = hood[:64]
        if hood is not None and not isinstance(hood, str):
            errors.setdefault("neighbourhood", []).append("deve essere il codice del quartiere")
        values["neighbourhood"] = (hood.strip() or None) if isinstance(hood, str) else None
    if "guidelines" in data and (codes := _list(data["guidelines"], "guidelines", errors)):
        if all(isinstance(c, str) for c in codes):
            values["guidelines"] = [c.strip()[:20] for c in codes]
        else:
            errors.setdefault("guidelines", []).append('un elenco di codici, es. ["SS1"]')
    elif "guidelines" in data and "guidelines" not in errors:
        values["guidelines"] = []
    for name in ("requested_amount", "cofinancing_amount"):
        if name in data:
            values[name] = _amount(data[name], name, errors)
    for name in ("start_date", "end_date"):
        if name in data:
            values[name] = _date(data[name], name, errors)
    if "budget" in data and (lines := _list(data["budget"], "budget", errors)) is not None:
        parsed = []
        for i, line in enumerate(lines):
            key = f"budget.{i}"
            if not isinstance(line, dict):
                errors.setdefault(key, []).append("ogni voce è {category, description, amount}")
                continue
            unknown = set(line) - {"category", "description", "amount"}
            if unknown:
                errors.setdefault(key, []).append(f"campo sconosciuto: {', '.join(unknown)}")
            category = line.get("category")
            if not isinstance(category, str) or not category.strip():
                errors.setdefault(f"{key}.category", []).append("indicare la categoria")
            elif len(category) > 40 or "\x00" in category:
                errors.setdefault(f"{key}.category", []).append("categoria non valida")
            description = _text(line.get("description"), f"{key}.description", errors, 500)
            if "amount" not in line or line["amount"] in (None, ""):
                errors.setdefault(f"{key}.amount", []).append("indicare l'importo")
                continue
            amount = _amount(line["amount"], f"{key}.amount", errors)
            if isinstance(category, str) and amount is not None and description is not None:
                parsed.append(RuleLine(category.strip(), amount, description))
        values["budget"] = parsed
    if "partners" in data and (rows := _list(data["partners"], "partners", errors)) is not None:
        parsed = []
        for i, row in enumerate(rows):
            key = f"partners.{i}"
            if not isinstance(row, dict):
                errors.setdefault(key, []).append("ogni partner è {name, tax_code, role}")
                continue
            unknown = set(row) - {"name", "tax_code", "role"}
            if unknown:
                errors.setdefault(key, []).append(f"campo sconosciuto: {', '.join(unknown)}")
            name = _text(row.get("name"), f"{key}.name", errors, 300)
            if name == "":
                errors.setdefault(f"{key}.name", []).append("indicare il nome del partner")
            role = _text(row.get("role"), f"{key}.role", errors, 300)
            tax_code = _text(row.get("tax_code"), f"{key}.tax_code", errors, 20)
            if tax_code and (problem := tax_code_problem(tax_code)):
                errors.setdefault(f"{key}.tax_code", []).append(problem)
            parsed.append({"name": name, "role": role, "tax_code": tax_code or None})
        values["partners"] = parsed
    return values, errors


def _merged(application: Application | None, values: dict) -> Proposal:
    current = proposal_of(application) if application is not None else Proposal()
    return Proposal(
        neighbourhood=values.get("neighbourhood", current.neighbourhood),
        guidelines=tuple(values.get("guidelines", current.guidelines)),
        budget=tuple(values.get("budget", current.budget)),
        requested_cents=values.get("requested_amount", current.requested_cents),
        cofinancing_cents=values.get("cofinancing_amount", current.cofinancing_cents),
        start_date=values.get("start_date", current.start_date),
        end_date=values.get("end_date", current.end_date),
    )


def _check(edition: Edition, application: Application | None, data) -> dict:
    if not isinstance(data, dict):
        raise ApplicationError(400, "il corpo deve essere un oggetto JSON")
    values, errors = parse_proposal(data)
    # The rules run on what could be read, so every problem is reported in one go.
    unreadable = {key.split(".")[0] for key in errors}
    readable = {k: v for k, v in values.items() if k not in unreadable}
    if "budget" in unreadable:
        readable["budget"] = []  # no totals to compare against until the lines are readable
    for key, messages in proposal_problems(
        _merged(application, readable), call_rules(edition)
    ).items():
        if key.split(".")[0] not in unreadable:
            errors.setdefault(key, []).extend(messages)
    if errors:
        raise ApplicationError(422, "la proposta contiene dati non validi", errors)
    return values


def _apply(application: Application, values: dict) -> None:
    edition = application.edition
    for name in TEXT_FIELDS:
        if name in values:
            setattr(application, name, values[name])
    if "neighbourhood" in values:
        slug = values["neighbourhood"]
        application.neighbourhood = next(
            (h for h in edition.neighbourhoods if h.slug == slug), None
        )
    if "guidelines" in values:
        by_code = {g.code: g for g in edition.guidelines}
        application.guidelines = [by_code[c] for c in values["guidelines"]]
    if "requested_amount" in values:
        application.requested_cents = values["requested_amount"]
    if "cofinancing_amount" in values:
        application.cofinancing_cents = values["cofinancing_amount"]
    for name in ("start_date", "end_date"):
        if name in values:
            setattr(application, name, values[name])
    if "budget" in values:
        application.budget_lines = [
            BudgetLine(
                category=line.category,
                description=line.description,
                amount_cents=line.amount_cents,
                position=i,
            )
            for i, line in enumerate(values["budget"])
        ]
    if "partners" in values:
        application.partners = [
            Partner(position=i, **row) for i, row in enumerate(values["partners"])
        ]


# --- writing ---------------------------------------------------------------------------------

CONFLICT = (
    "la domanda è stata modificata da un'altra operazione nello stesso momento: "
    "ricaricare la pagina e riprovare"
)


def commit(message: str = CONFLICT) -> None:
    """Commits the unit of work; a lost race (a unique row, a stale version) becomes a 409
    with nothing written, instead of an internal error."""
    try:
        db.session.commit()
    except (IntegrityError, StaleDataError):
        db.session.rollback()
        raise ApplicationError(409, message) from None


def _edition_for(code) -> Edition:
    if not isinstance(code, str) or not code.strip():
        raise ApplicationError(422, "indicare il bando", {"edition": ["indicare il bando"]})
    edition = db.session.scalar(select(Edition).where(Edition.code == code.strip()))
    if edition is None:
        raise ApplicationError(
            422, "bando inesistente", {"edition": [f"nessun bando con codice «{code}»"]}
        )
    return edition


def create_draft(actor: User, data) -> Application:
    """A new draft of the actor's organisation (added and flushed, not committed)."""
    if actor.role != "applicant" or actor.organisation_id is None:
        raise ApplicationError(403, "solo un ente registrato può presentare domande")
    if not isinstance(data, dict):
        raise ApplicationError(400, "il corpo deve essere un oggetto JSON")
    data = dict(data)
    edition = _edition_for(data.pop("edition", None))
    values = _check(edition, None, data)
    if utcnow() < edition.opens_at:
        raise ApplicationError(409, f"il bando «{edition.title}» non è ancora aperto")
    from bando.calls.lifecycle import open_if_due

    open_if_due(edition)
    if edition.state != "open" or utcnow() >= edition.closes_at:
        raise ApplicationError(409, f"il bando «{edition.title}» non accetta domande")
    # Two drafts started at once must not both slip under the limit: lock the organisation.
    db.session.execute(
        select(Organisation.id).where(Organisation.id == actor.organisation_id).with_for_update()
    )
    existing = applications_at_limit(edition, actor.organisation_id)
    if existing:
        raise ApplicationError(409, limit_reached_message(edition, len(existing)))
    application = Application(
        edition=edition,
        organisation_id=actor.organisation_id,
        created_by=actor,
    )
    db.session.add(application)
    _apply(application, values)
    db.session.flush()
    return application


def update_draft(application: Application, actor: User, data) -> Application:
    """Changes the fields present in `data` (flushed, not committed); only a draft."""
    if application.state not in EDITABLE_STATES:
        raise ApplicationError(409, "la domanda è già stata inviata: non si può più modificare")
    if isinstance(data, dict) and "edition" in data:
        if data["edition"] != application.edition.code:
            raise ApplicationError(
                409, "il bando di una domanda non si cambia: creare una nuova domanda"
            )
        data = {k: v for k, v in data.items() if k != "edition"}
    values = _check(application.edition, application, data)
    _apply(application, values)
    db.session.flush()
    return application


def expire_if_due(application: Application) -> bool:
    """Lazily expires an unanswered request for documents past its deadline (flushes only);
    True when the application changed, so the caller commits."""
    from bando.applications.lifecycle import expire_if_overdue

    return expire_if_overdue(application) is not None


def _fire(application, trigger, actor, reason="", payload=None, now=None):
    from bando.applications.lifecycle import fire
    from bando.core.transitions import TransitionRefused

    try:
        fire(application, trigger, actor, reason, payload, now=now)
    except TransitionRefused as refused:
        errors = {}
        if trigger == "submit" and refused.code == "incomplete":
            # One message per missing part, for a list next to the submit button.
            errors["submission"] = submission_problems(application)
        raise ApplicationError(409, refused.reason, errors) from None


def submit(application: Application, actor: User, *, now=None) -> Application:
    """Sends the application: the lifecycle checks completeness and the deadline."""
    if application.state != "draft":
        raise ApplicationError(409, "la domanda è già stata inviata")
    _fire(application, "submit", actor, "", now=now)
    return application


def withdraw(application: Application, actor: User, reason: str = "", *, now=None):
    _fire(application, "withdraw", actor, reason or "ritirata dall'ente", now=now)
    return application


def integrate(application: Application, actor: User, reason: str = "", *, now=None):
    """Answers a request for documents (after replacing or adding the attachments)."""
    _fire(application, "integrate", actor, reason or "integrazione inviata", now=now)
    return application
