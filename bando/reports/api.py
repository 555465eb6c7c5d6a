"""The final report's API: the organisation files it and uploads the receipts; finance
reviews each expense and approves it with the final contribution."""

from flask import current_app, request

from bando.applications import rules
from bando.calls.api import edition_or_404
from bando.core.api import ApiError, endpoint
from bando.core.downloads import download
from bando.core.operations import commit
from bando.core.ratelimit import limited
from bando.core.timeutil import utcnow
from bando.reports import operations
from bando.reports.schemas import ExpenseOut, OverdueReports, ReportIn, ReportOut, ReviewIn

PDF = {"application/pdf": {}}
RECEIPT_UPLOAD = {
    "type": "object",
    "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary", "description": "PDF"}},
}
# Who reads a report besides its organisation.
READERS = ("finance", "officer", "admin")


def _visible(user, application_id):
    application = rules.visible_application(user, application_id)
    if application is None:
        raise ApiError(404, "application not found")
    if not (rules.is_member(user, application) or user.role in READERS):
        raise ApiError(404, "application not found")
    return application


def _owned(user, application_id):
    application = rules.visible_application(user, application_id)
    if application is None or not rules.can_act_as_owner(user, application):
        raise ApiError(404, "application not found")
    return application


def _report_of(application):
    if application.report is None:
        raise ApiError(404, "no final report for this application")
    return application.report


def _expense(application, expense_id):
    _report_of(application)
    expense = operations.expense_of(application, expense_id)
    if expense is None:
        raise ApiError(404, "expense not found")
    return expense


@endpoint(
    "POST",
    "/applications/<int:application_id>/report",
    summary="File the final report (funded → reported): activities, people reached and the "
    "expenses by the call's budget categories; receipts are uploaded after, one per expense",
    tag="reports",
    roles=("applicant",),
    body=ReportIn,
    ok=(201, "filed", ReportOut),
    errors={409: "not funded, award not accepted, or already filed"},
)
def file_report(user, application_id, body: ReportIn):
    application = _owned(user, application_id)
    operations.file_report(
        application, user, body, max_bytes=current_app.config["MAX_ATTACHMENT_BYTES"]
    )
    commit()
    return ReportOut.of(operations.report_view(application))


@endpoint(
    "GET",
    "/applications/<int:application_id>/report",
    summary="The final report with its expenses, their review and the final contribution",
    tag="reports",
    ok=(200, "the report", ReportOut),
)
def get_report(user, application_id):
    application = _visible(user, application_id)
    _report_of(application)
    return ReportOut.of(operations.report_view(application))


@endpoint(
    "POST",
    "/applications/<int:application_id>/report/expenses/<int:expense_id>/receipt",
    summary="Upload (or replace) the receipt of an expense not yet reviewed: PDF only",
    tag="reports",
    roles=("applicant",),
    multipart=RECEIPT_UPLOAD,
    ok=(200, "stored", ExpenseOut),
    errors={
        409: "the expense was already reviewed",
        413: "larger than MAX_ATTACHMENT_BYTES",
        422: "not an acceptable PDF",
    },
)
@limited("uploads")
def upload_receipt(user, application_id, expense_id):
    application = _owned(user, application_id)
    expense = _expense(application, expense_id)
    upload = request.files.get("file")
    if upload is None:
        raise ApiError(
            422, "file is required", {"file": ["allegare un file (multipart/form-data, «file»)"]}
        )
    limit = current_app.config["MAX_ATTACHMENT_BYTES"]
    operations.store_receipt(
        application, expense, upload.filename or "", upload.read(limit + 1), limit
    )
    commit()
    return ExpenseOut.of(_expense_view(expense))


def _expense_view(expense) -> dict:
    return {
        "id": expense.id,
        "category": expense.category,
        "description": expense.description,
        "amount": expense.amount_cents,
        "document": expense.document,
        "receipt": bool(expense.receipt_sha256),
        "receipt_filename": expense.receipt_filename,
        "receipt_sha256": expense.receipt_sha256,
        "state": expense.state,
        "review_reason": expense.review_reason,
        "reviewed_at": expense.reviewed_at,
    }


@endpoint(
    "GET",
    "/applications/<int:application_id>/report/expenses/<int:expense_id>/receipt",
    summary="Download the receipt of an expense (the organisation, finance)",
    tag="reports",
    ok=(200, "the PDF", PDF),
)
def download_receipt(user, application_id, expense_id):
    application = _visible(user, application_id)
    if not (rules.is_member(user, application) or user.role == "finance"):
        raise ApiError(404, "application not found")
    expense = _expense(application, expense_id)
    if not expense.receipt_sha256:
        raise ApiError(404, "no receipt for this expense")
    return download(expense.receipt, "application/pdf", f"giustificativo-{expense.id}.pdf")


@endpoint(
    "POST",
    "/applications/<int:application_id>/report/expenses/<int:expense_id>/review",
    summary="Accept an expense (its receipt attached) or reject it with the reason",
    tag="reports",
    roles=("finance",),
    body=ReviewIn,
    ok=(200, "reviewed", ExpenseOut),
    errors={409: "the report is not awaiting review, or the receipt is missing"},
)
def review_expense(user, application_id, expense_id, body: ReviewIn):
    application = _visible(user, application_id)
    expense = _expense(application, expense_id)
    operations.review_expense(application, expense, user, body.decision, body.reason)
    commit()
    return ExpenseOut.of(_expense_view(expense))


@endpoint(
    "POST",
    "/applications/<int:application_id>/report/approve",
    summary="Approve the report (reported → closed): the final contribution by the call's "
    "rule, and the balance to pay or the amount to recover",
    tag="reports",
    roles=("finance",),
    ok=(200, "approved", ReportOut),
    errors={409: "not reported, or expenses still to review"},
)
def approve_report(user, application_id):
    application = _visible(user, application_id)
    _report_of(application)
    operations.approve_report(application, user)
    commit()
    return ReportOut.of(operations.report_view(application))


@endpoint(
    "GET",
    "/editions/<code>/reports/overdue",
    summary="The final reports missing past their deadline (what `bando tick` lists and the "
    "officer's page shows)",
    tag="reports",
    roles=READERS,
    ok=(200, "the overdue reports of the call", OverdueReports),
)
def overdue_reports(user, code):
    edition = edition_or_404(code)
    return OverdueReports.of(
        {
            "edition": edition.code,
            "overdue": [
                {
                    "application_id": application.id,
                    "protocol": application.protocol,
                    "organisation": application.organisation.name,
                    "due_at": due,
                }
                for application, due in operations.overdue_reports(utcnow(), edition.id)
            ],
        }
    )
