"""The applications API: the organisation's drafts, documents, moves and receipt; the
audit trail; the officer's admissibility decisions. Visibility is asked of rules."""

from flask import current_app, request
from sqlalchemy.orm import joinedload

from bando.applications import admissibility, rules
from bando.applications.attachments import store_attachment
from bando.applications.lifecycle import fire
from bando.applications.models import Application
from bando.applications.operations import (
    application_view,
    create_draft,
    expire_due_among,
    expire_if_due,
    integrate,
    listing,
    submit,
    update_draft,
    withdraw,
)
from bando.applications.receipts import receipt_filename, receipt_pdf
from bando.applications.schemas import (
    UPLOAD,
    ApplicationList,
    ApplicationOut,
    ApplicationQuery,
    AttachmentInfo,
    AttachmentList,
    Checklist,
    Decided,
    EligibilityDecision,
    Events,
    NewProposal,
    Observations,
    ProposalChange,
    StateOut,
    Submitted,
    TickIn,
)
from bando.core import idempotency
from bando.core.api import ApiError, endpoint
from bando.core.audit import event_view, events_of_application
from bando.core.downloads import download
from bando.core.operations import commit
from bando.core.ratelimit import limited
from bando.core.schemas import Reason
from workflows.admissibility import outstanding

PDF = {"application/pdf": {}}
DECISIONS = {
    "eligible": "declare_eligible",
    "ineligible": "declare_ineligible",
    "request_integration": "request_integration",
    "notify_rejection": "notify_rejection",
}


def _visible(user, application_id, options=()):
    application = rules.visible_application(user, application_id, options)
    if application is None:
        raise ApiError(404, "application not found")
    if expire_if_due(application):
        commit()
    return application


def _own(user, application_id, options=()):
    """The application of the user's own organisation; staff read but do not act for it."""
    application = _visible(user, application_id, options)
    if not rules.can_act_as_owner(user, application):
        raise ApiError(403, "only the organisation that owns the application can do this")
    return application


def _out(application) -> ApplicationOut:
    return ApplicationOut.of(application_view(application))


@endpoint(
    "GET",
    "/applications",
    summary="The applications this user may see, newest first, a page at a time: the "
    "organisation's own (drafts included); the staff's list never shows a draft (officer "
    "and administrator: every submitted proposal; evaluator: those of the calls where they "
    "signed the declaration, neither linked nor recused; finance: from the allocation on)",
    tag="applications",
    query=ApplicationQuery,
    ok=(200, "one page of the applications, and how many match in all", ApplicationList),
)
def list_applications(user, query: ApplicationQuery):
    # Expired before counting, so a row's state agrees with the filter that found it.
    expire_due_among(*rules.listed(user))
    total, applications = listing(
        user,
        edition=query.edition,
        state=query.state,
        neighbourhood=query.neighbourhood,
        limit=query.limit,
        offset=query.offset,
    )
    return ApplicationList.of(
        {
            "applications": [application_view(a) for a in applications],
            "total": total,
            "limit": query.limit,
            "offset": query.offset,
        }
    )


@endpoint(
    "POST",
    "/applications",
    summary="Start a draft (edition required, everything else optional)",
    tag="applications",
    roles=("applicant",),
    body=NewProposal,
    validate=False,  # the operation reports the schema's problems with the rules'
    ok=(201, "the draft", ApplicationOut),
    errors={409: "call not open, or the organisation's limit reached"},
)
def create_application(user, body: dict):
    application = create_draft(user, body)
    commit()
    return _out(application)


@endpoint(
    "GET",
    "/applications/<int:application_id>",
    summary="One application (its organisation's users; staff once submitted)",
    tag="applications",
    ok=(200, "the application", ApplicationOut),
)
def get_application(user, application_id):
    return _out(_visible(user, application_id))


@endpoint(
    "PATCH",
    "/applications/<int:application_id>",
    summary="Edit a draft (only the fields sent change)",
    tag="applications",
    body=ProposalChange,
    validate=False,
    ok=(200, "the draft", ApplicationOut),
    errors={403: "only the owning organisation", 409: "no longer a draft"},
)
def patch_application(user, application_id, body: dict):
    application = _own(user, application_id)
    update_draft(application, user, body)
    commit()
    return _out(application)


@endpoint(
    "GET",
    "/applications/<int:application_id>/attachments",
    summary="The documents attached",
    tag="applications",
    ok=(200, "the documents", AttachmentList),
)
def list_attachments(user, application_id):
    return AttachmentList.of({"attachments": _visible(user, application_id).attachments})


@endpoint(
    "POST",
    "/applications/<int:application_id>/attachments",
    summary="Add or replace a document: PDF only, judged by content, size-limited",
    tag="applications",
    multipart=UPLOAD,
    ok=(201, "stored", AttachmentInfo),
    errors={
        403: "only the owning organisation",
        409: "neither a draft nor awaiting documents",
        413: "larger than MAX_ATTACHMENT_BYTES",
        422: "not a readable PDF, or an unknown kind",
        429: "too many uploads by this user: wait as Retry-After says",
    },
)
@limited("uploads")
def upload_attachment(user, application_id):
    application = _own(user, application_id)
    upload = request.files.get("file")
    kind = request.form.get("kind")
    errors = {}
    if not kind:
        errors["kind"] = ["indicare il tipo di documento"]
    if upload is None:
        errors["file"] = ["allegare un file (multipart/form-data, campo «file»)"]
    if errors:
        raise ApiError(422, "kind and file are required", errors)
    limit = current_app.config["MAX_ATTACHMENT_BYTES"]
    row = store_attachment(
        application, kind, upload.filename or "", upload.read(limit + 1), user, limit
    )
    commit()
    return AttachmentInfo.of(row)


@endpoint(
    "GET",
    "/applications/<int:application_id>/attachments/<kind>",
    summary="Download one document",
    tag="applications",
    ok=(200, "the PDF", PDF),
)
def download_attachment(user, application_id, kind):
    application = _visible(user, application_id)
    row = next((a for a in application.attachments if a.kind == kind), None)
    if row is None:
        raise ApiError(404, f"no attachment {kind}")
    return download(row.data, "application/pdf", f"{row.kind}.pdf")


_MOVE_ERRORS = {403: "only the owning organisation", 409: "refused by the state machine"}


@endpoint(
    "POST",
    "/applications/<int:application_id>/submit",
    summary="Submit: completeness and deadline checked; gives the protocol number",
    tag="applications",
    body=Reason,
    body_required=False,
    ok=(200, "submitted", Submitted),
    errors={
        403: "only the owning organisation",
        409: "incomplete (errors.submission lists every missing part), deadline passed, "
        "or not a draft",
        422: "the Idempotency-Key was used for a different request",
    },
    headers=(idempotency.PARAMETER,),
)
def submit_application(user, application_id, body: Reason):
    def work():
        # With its call, which the checks read (one query fewer).
        application = _own(user, application_id, (joinedload(Application.edition),))
        submit(application, user)
        return Submitted.of(
            {
                "state": "submitted",
                "protocol": application.protocol,
                "submitted_at": application.submitted_at,
            }
        )

    # A client that lost the answer retries with the same key and gets the same protocol.
    return idempotency.once(user, work)


@endpoint(
    "POST",
    "/applications/<int:application_id>/integrate",
    summary="Answer a request for documents (after replacing the attachments)",
    tag="applications",
    body=Reason,
    body_required=False,
    ok=(200, "answered", StateOut),
    errors=_MOVE_ERRORS,
)
def integrate_application(user, application_id, body: Reason):
    application = _own(user, application_id)
    integrate(application, user, body.reason)
    commit()
    return StateOut(state=application.state)


@endpoint(
    "POST",
    "/applications/<int:application_id>/withdraw",
    summary="Withdraw the application",
    tag="applications",
    body=Reason,
    body_required=False,
    ok=(200, "withdrawn", StateOut),
    errors=_MOVE_ERRORS,
)
def withdraw_application(user, application_id, body: Reason):
    application = _own(user, application_id)
    withdraw(application, user, body.reason)
    commit()
    return StateOut(state=application.state)


@endpoint(
    "GET",
    "/applications/<int:application_id>/receipt.pdf",
    summary="The submission receipt (protocol, date, organisation, budget)",
    tag="applications",
    ok=(200, "the receipt", PDF),
    errors={409: "not submitted yet"},
)
def application_receipt(user, application_id):
    application = _visible(user, application_id)
    if application.protocol is None:
        raise ApiError(
            409, "la domanda non è stata ancora inviata: nessuna ricevuta", refusal="not_submitted"
        )
    return download(receipt_pdf(application), "application/pdf", receipt_filename(application))


@endpoint(
    "GET",
    "/applications/<int:application_id>/events",
    summary="The audit trail of an application (its organisation; staff once submitted)",
    tag="applications",
    ok=(200, "events, oldest first", Events),
)
def application_events(user, application_id):
    application = _visible(user, application_id)
    return Events.of(
        {
            "application_id": application.id,
            "state": application.state,
            "events": [
                event_view(e, rules.actor_shown_to(user, e))
                for e in rules.events_shown_to(user, events_of_application(application.id))
            ],
        }
    )


@endpoint(
    "POST",
    "/applications/<int:application_id>/eligibility",
    summary="Admissibility: eligible, ineligible or request for documents",
    tag="applications",
    roles=("officer",),
    body=EligibilityDecision,
    ok=(200, "decided", Decided),
    errors={409: "refused by the state machine"},
)
def application_eligibility(user, application_id, body: EligibilityDecision):
    if body.decision != "eligible" and not body.reason.strip():
        raise ApiError(
            422,
            "invalid eligibility decision",
            {"reason": ["a reason is required for this decision"]},
        )
    application = _visible(user, application_id)
    if not rules.can_decide_admissibility(user, application):
        raise ApiError(404, "application not found")
    event = fire(application, DECISIONS[body.decision], user, body.reason)
    commit()
    return Decided.of(
        {
            "id": application.id,
            "state": application.state,
            "event": event_view(event),
            "integration_deadline": application.integration_deadline
            if application.state == "integration_requested"
            else None,
            "notice_deadline": application.notice_deadline
            if application.state == "rejection_notified"
            else None,
        }
    )


@endpoint(
    "POST",
    "/applications/<int:application_id>/observations",
    summary="Answer the notice before rejection with observations (documents: attachments)",
    tag="applications",
    body=Observations,
    ok=(200, "received", StateOut),
    errors=_MOVE_ERRORS,
)
def answer_notice(user, application_id, body: Observations):
    application = _own(user, application_id)
    fire(application, "answer_notice", user, body.observations)
    commit()
    return StateOut(state=application.state)


def _checklist(application) -> Checklist:
    checks = admissibility.checks_of(application)
    return Checklist.of(
        {
            "application_id": application.id,
            "state": application.state,
            "checks": [check.__dict__ for check in checks],
            "admissible": not outstanding(checks),
        }
    )


@endpoint(
    "GET",
    "/applications/<int:application_id>/checklist",
    summary="The admissibility checklist: each rule of the call, passed or why not",
    tag="applications",
    roles=("officer",),
    ok=(200, "the checks", Checklist),
)
def get_checklist(user, application_id):
    application = _visible(user, application_id)
    return _checklist(application)


@endpoint(
    "POST",
    "/applications/<int:application_id>/checklist",
    summary="Tick a manual check of admissibility the call lists",
    tag="applications",
    roles=("officer",),
    body=TickIn,
    ok=(200, "the checks", Checklist),
    errors={409: "admissibility already decided"},
)
def tick_check(user, application_id, body: TickIn):
    application = _visible(user, application_id)
    admissibility.tick(application, user, body.code, body.passed, body.note)
    commit()
    return _checklist(application)
