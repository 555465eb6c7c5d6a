"""The final report (rendicontazione): the organisation files it with its expenses and
receipts (funded → reported); finance accepts or rejects each expense, then approves it
(reported → closed) with the final contribution of scoring.balance under the call's
rule, which gives the balance to pay or the amount to recover. A report missing past
its deadline is listed by `bando tick` for the officer's revocation.

The actor is passed in; state changes go through lifecycle.fire; flush, never commit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from bando.accounts.models import User
from bando.allocation.operations import write_lock
from bando.applications.attachments import pdf_problem
from bando.applications.lifecycle import fire, integration_deadline
from bando.applications.models import Application
from bando.budget.models import Award
from bando.calls.models import budget_categories
from bando.core import audit
from bando.core.extensions import db
from bando.core.operations import OperationError
from bando.core.tick import tick_job
from bando.core.timeutil import ROME, utcnow
from bando.reports.models import Expense, Report
from bando.reports.schemas import ReportIn
from scoring.balance import Balance, final_balance


def _refused(status: int, field: str, message: str, code=None) -> OperationError:
    return OperationError(status, message, {field: [message]}, code=code)


def report_due_at(application: Application) -> datetime:
    """The last second (Rome) of the call's `report_due_days`-th day after the project's
    end (the proposal's end date, else the call's project window)."""
    ends_on = application.end_date or application.edition.project_ends_on
    noon = datetime.combine(ends_on, time(12), tzinfo=ROME)
    return integration_deadline(noon, application.edition.report_due_days)


def _clean_filename(filename: str) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable())[:200]
    return name or "giustificativo.pdf"


def _put_receipt(expense: Expense, filename: str, data: bytes, max_bytes: int, field: str):
    if problem := pdf_problem(data, max_bytes):
        raise _refused(413 if len(data) > max_bytes else 422, field, problem)
    expense.receipt = data
    expense.receipt_filename = _clean_filename(filename)
    expense.receipt_sha256 = hashlib.sha256(data).hexdigest()


def file_report(
    application: Application,
    actor: User,
    body: ReportIn,
    receipts: dict[int, tuple[str, bytes]] | None = None,
    *,
    max_bytes: int,
    now: datetime | None = None,
) -> Report:
    """Files the report (funded → reported). `receipts`: expense index → (filename, PDF),
    for the page that sends them with the form; the API uploads them one by one after."""
    now = now or utcnow()
    if application.report is not None:
        raise _refused(409, "report", "la rendicontazione è già stata presentata", "already_filed")
    award = application.award
    if application.state == "funded" and (award is None or award.accepted_at is None):
        raise _refused(
            409,
            "report",
            "prima di rendicontare occorre accettare il contributo",
            "award_not_accepted",
        )
    categories = budget_categories(application.edition)
    errors = {}
    for i, line in enumerate(body.expenses):
        if categories and line.category not in categories:
            errors[f"expenses.{i}.category"] = [
                f"categoria non prevista dal bando (ammesse: {', '.join(categories)})"
            ]
    if errors:
        raise OperationError(422, "spese non valide", errors)
    report = Report(
        activities=body.activities,
        people_reached=body.people_reached,
        submitted_at=now,
        expenses=[
            Expense(
                category=line.category,
                description=line.description,
                amount_cents=line.amount,
                document=line.document,
            )
            for line in body.expenses
        ],
    )
    for index, (filename, data) in (receipts or {}).items():
        _put_receipt(report.expenses[index], filename, data, max_bytes, f"expenses.{index}.receipt")
    fire(
        application,
        "file_report",
        actor,
        "rendicontazione presentata",
        {
            "expenses": len(report.expenses),
            "total_cents": sum(e.amount_cents for e in report.expenses),
        },
        now=now,
    )
    report.application = application
    db.session.add(report)
    db.session.flush()
    return report


def expense_of(application: Application, expense_id) -> Expense | None:
    report = application.report
    if report is None:
        return None
    return next((e for e in report.expenses if str(e.id) == str(expense_id)), None)


def store_receipt(
    application: Application, expense: Expense, filename: str, data: bytes, max_bytes: int
) -> Expense:
    """Adds or replaces the receipt of an expense not yet reviewed."""
    if application.state != "reported" or expense.state != "pending":
        raise _refused(
            409,
            "file",
            "il giustificativo si carica o si sostituisce solo finché la spesa non è esaminata",
            "not_attachable",
        )
    _put_receipt(expense, filename, data, max_bytes, "file")
    db.session.flush()
    return expense


def review_expense(
    application: Application,
    expense: Expense,
    actor: User,
    decision: str,
    reason: str = "",
    *,
    now: datetime | None = None,
) -> Expense:
    """Finance accepts an expense (its receipt attached) or rejects it with the reason;
    a decision can be changed until the report is approved."""
    now = now or utcnow()
    reason = (reason or "").strip()
    # Under the call's lock and on a fresh read, as the approval: a decision cannot slip in
    # after the report was approved on the figures without it.
    write_lock(application.edition)
    db.session.refresh(application)
    if application.state != "reported":
        raise _refused(
            409,
            "decision",
            "le spese si esaminano solo a rendicontazione presentata",
            "not_reported",
        )
    if decision == "reject" and not reason:
        raise _refused(422, "reason", "indicare il motivo per cui la spesa non è ammessa")
    if decision == "accept" and not expense.receipt_sha256:
        raise _refused(
            409, "decision", "manca il giustificativo (PDF) della spesa", "receipt_missing"
        )
    if decision not in ("accept", "reject"):
        raise _refused(422, "decision", "decisione non valida: accept o reject")
    expense.state = "accepted" if decision == "accept" else "rejected"
    expense.review_reason = reason
    expense.reviewed_by_id = actor.id
    expense.reviewed_at = now
    db.session.flush()
    audit.append(
        subject="expense",
        trigger=f"{decision}_expense",
        actor=actor,
        application_id=application.id,
        edition_id=application.edition_id,
        reason=reason,
        payload={"expense_id": expense.id, "amount_cents": expense.amount_cents},
        at=now,
    )
    return expense


@dataclass(frozen=True)
class Settlement:
    """The report's figures and, from them, the final contribution (not yet written)."""

    award_cents: int
    planned_cents: int
    declared_cents: int
    accepted_cents: int
    paid_cents: int
    pending: int  # expenses not yet reviewed
    rule: str
    balance: Balance | None  # None when the figures do not allow one (no planned cost)


def settlement(application: Application) -> Settlement:
    award = application.award
    report = application.report
    expenses = report.expenses if report else []
    accepted = sum(e.amount_cents for e in expenses if e.state == "accepted")
    planned = application.total_cost_cents
    award_cents = award.amount_cents if award else 0
    paid = award.paid_cents if award else 0
    rule = application.edition.final_contribution_rule
    try:
        balance = final_balance(award_cents, planned, accepted, paid, rule)
    except ValueError:
        balance = None
    return Settlement(
        award_cents=award_cents,
        planned_cents=planned,
        declared_cents=sum(e.amount_cents for e in expenses),
        accepted_cents=accepted,
        paid_cents=paid,
        pending=sum(1 for e in expenses if e.state == "pending"),
        rule=rule,
        balance=balance,
    )


def approve_report(
    application: Application, actor: User, *, now: datetime | None = None
) -> Settlement:
    """reported → closed with the final contribution, under the edition's lock (the
    award's final amount is what the cap's guard counts from now on)."""
    now = now or utcnow()
    write_lock(application.edition)
    db.session.refresh(application)
    award = application.award
    if application.state != "reported" or application.report is None or award is None:
        raise _refused(409, "report", "non c'è una rendicontazione da approvare", "not_reported")
    db.session.refresh(award)
    result = settlement(application)
    if result.pending:
        raise _refused(
            409,
            "expenses",
            f"restano {result.pending} spese da esaminare prima dell'approvazione",
            "expenses_pending",
        )
    if result.balance is None:
        raise _refused(
            409, "report", "la domanda non ha un costo totale previsto", "no_planned_cost"
        )
    balance = result.balance
    report = application.report
    report.approved_at = now
    report.approved_by_id = actor.id
    report.final_contribution_cents = balance.final_contribution_cents
    report.balance_cents = balance.balance_cents
    report.recovery_cents = balance.recovery_cents
    award.final_amount_cents = balance.final_contribution_cents
    db.session.flush()
    fire(
        application,
        "approve_report",
        actor,
        "rendicontazione approvata",
        {
            "accepted_cents": result.accepted_cents,
            "planned_cents": result.planned_cents,
            "final_contribution_cents": balance.final_contribution_cents,
            "balance_cents": balance.balance_cents,
            "recovery_cents": balance.recovery_cents,
            "rule": result.rule,
        },
        now=now,
    )
    return result


def report_view(application: Application) -> dict:
    report = application.report
    result = settlement(application)
    return {
        "application_id": application.id,
        "state": application.state,
        "activities": report.activities,
        "people_reached": report.people_reached,
        "submitted_at": report.submitted_at,
        "expenses": [
            {
                "id": e.id,
                "category": e.category,
                "description": e.description,
                "amount": e.amount_cents,
                "document": e.document,
                "receipt": bool(e.receipt_sha256),
                "receipt_filename": e.receipt_filename,
                "receipt_sha256": e.receipt_sha256,
                "state": e.state,
                "review_reason": e.review_reason,
                "reviewed_at": e.reviewed_at,
            }
            for e in report.expenses
        ],
        "total": result.declared_cents,
        "accepted": result.accepted_cents,
        "planned_cost": result.planned_cents,
        "award": result.award_cents,
        "paid": result.paid_cents,
        "rule": result.rule,
        "approved_at": report.approved_at,
        "final_contribution": report.final_contribution_cents,
        "balance": report.balance_cents,
        "recovery": report.recovery_cents,
    }


# --- reports missing past their deadline ------------------------------------------------


def overdue_reports(
    now: datetime, edition_id: int | None = None
) -> list[tuple[Application, datetime]]:
    """Funded applications with an active award and no report past their deadline."""
    # No report yet, read in the query; the call and the organisation come with each row
    # (the officer's page lists them): one statement however many proposals.
    query = (
        select(Application)
        .join(Award, Award.application_id == Application.id)
        .outerjoin(Report, Report.application_id == Application.id)
        .where(Application.state == "funded", Award.state == "active", Report.id.is_(None))
        .options(joinedload(Application.edition), joinedload(Application.organisation))
        .order_by(Application.id)
    )
    if edition_id is not None:
        query = query.where(Application.edition_id == edition_id)
    rows = db.session.scalars(query).all()
    late = []
    for application in rows:
        due = report_due_at(application)
        # The deadline's last second is still in time.
        if due <= now - timedelta(seconds=1):
            late.append((application, due))
    return late


@tick_job(40)
def list_overdue_reports(now: datetime) -> list[str]:
    """Lists the reports missing past their deadline: the officer proposes the revocation
    (nothing is revoked without the officer's reason)."""
    return [
        f"application {a.protocol}: final report overdue since {due.astimezone(ROME):%d/%m/%Y}"
        f", propose revocation at /istruttoria/domande/{a.id}/revoca"
        for a, due in overdue_reports(now)
    ]
