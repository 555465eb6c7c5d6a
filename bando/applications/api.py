"""The applicant's side of the API: drafts, attachments, submit, integrate, withdraw, receipt."""

from flask import Response, current_app, jsonify, request

from bando.applications.attachments import AttachmentError, store_attachment
from bando.applications.operations import (
    ApplicationError,
    application_dict,
    applications_of,
    commit,
    create_draft,
    expire_if_due,
    integrate,
    submit,
    update_draft,
    visible_application,
    withdraw,
)
from bando.applications.receipts import receipt_filename, receipt_pdf
from bando.core.api import ApiError, bp, json_body, token_required
from bando.core.extensions import db


def _visible(user, application_id):
    application = visible_application(user, application_id)
    if application is None:
        raise ApiError(404, f"no application {application_id}")
    if expire_if_due(application):
        _commit()
    return application


def _own(user, application_id):
    """The application of the user's own organisation; staff read but do not act for it."""
    application = _visible(user, application_id)
    if user.role != "applicant":
        raise ApiError(403, "only the organisation that owns the application can do this")
    return application


def _commit():
    try:
        commit()
    except ApplicationError as error:
        raise ApiError(error.status, error.message) from None


def _refused(error: ApplicationError):
    db.session.rollback()
    return ApiError(error.status, error.message, error.errors)


def _optional_body() -> dict:
    """A JSON object, or nothing at all (an empty body is fine for the triggers)."""
    if not request.get_data():
        return {}
    return json_body()


def _reason(body: dict) -> str:
    reason = body.get("reason", "")
    if not isinstance(reason, str) or len(reason) > 2000:
        raise ApiError(422, "invalid reason", {"reason": ["un testo di al massimo 2000 caratteri"]})
    return reason.strip()


@bp.get("/applications")
@token_required("applicant")
def list_applications(user):
    applications = applications_of(user.organisation_id)
    if any([expire_if_due(a) for a in applications]):  # every one, not just the first
        _commit()
    return jsonify(applications=[application_dict(a) for a in applications])


@bp.post("/applications")
@token_required("applicant")
def create_application(user):
    data = json_body()
    try:
        application = create_draft(user, data)
    except ApplicationError as error:
        raise _refused(error) from None
    _commit()
    return jsonify(application_dict(application)), 201


@bp.get("/applications/<int:application_id>")
@token_required()
def get_application(user, application_id):
    return jsonify(application_dict(_visible(user, application_id)))


@bp.patch("/applications/<int:application_id>")
@token_required()
def patch_application(user, application_id):
    application = _own(user, application_id)
    data = json_body()
    try:
        update_draft(application, user, data)
    except ApplicationError as error:
        raise _refused(error) from None
    _commit()
    return jsonify(application_dict(application))


@bp.get("/applications/<int:application_id>/attachments")
@token_required()
def list_attachments(user, application_id):
    return jsonify(attachments=application_dict(_visible(user, application_id))["attachments"])


@bp.post("/applications/<int:application_id>/attachments")
@token_required()
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
    data = upload.read(current_app.config["MAX_ATTACHMENT_BYTES"] + 1)
    try:
        row = store_attachment(
            application,
            kind,
            upload.filename or "",
            data,
            user,
            current_app.config["MAX_ATTACHMENT_BYTES"],
        )
    except AttachmentError as error:
        db.session.rollback()
        raise ApiError(error.status, error.message, {error.field: [error.message]}) from None
    _commit()
    return (
        jsonify(kind=row.kind, filename=row.filename, size=row.size, sha256=row.sha256),
        201,
    )


@bp.get("/applications/<int:application_id>/attachments/<kind>")
@token_required()
def download_attachment(user, application_id, kind):
    application = _visible(user, application_id)
    row = next((a for a in application.attachments if a.kind == kind), None)
    if row is None:
        raise ApiError(404, f"no attachment {kind}")
    return Response(
        row.data,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{row.kind}.pdf"'},
    )


def _trigger(user, application_id, operation):
    application = _own(user, application_id)
    body = _optional_body()
    try:
        operation(application, user, body)
    except ApplicationError as error:
        raise _refused(error) from None
    _commit()
    return application


@bp.post("/applications/<int:application_id>/submit")
@token_required()
def submit_application(user, application_id):
    application = _trigger(user, application_id, lambda a, u, body: submit(a, u))
    return jsonify(
        state=application.state,
        protocol=application.protocol,
        submitted_at=application.submitted_at.isoformat(),
    )


@bp.post("/applications/<int:application_id>/integrate")
@token_required()
def integrate_application(user, application_id):
    application = _trigger(user, application_id, lambda a, u, body: integrate(a, u, _reason(body)))
    return jsonify(state=application.state)


@bp.post("/applications/<int:application_id>/withdraw")
@token_required()
def withdraw_application(user, application_id):
    application = _trigger(user, application_id, lambda a, u, body: withdraw(a, u, _reason(body)))
    return jsonify(state=application.state)


@bp.get("/applications/<int:application_id>/receipt.pdf")
@token_required()
def application_receipt(user, application_id):
    application = _visible(user, application_id)
    if application.protocol is None:
        raise ApiError(409, "la domanda non è stata ancora inviata: nessuna ricevuta")
    return Response(
        receipt_pdf(application),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{receipt_filename(application)}"'},
    )
