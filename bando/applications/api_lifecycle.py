"""Lifecycle endpoints: an application's audit trail, eligibility decisions, closing a call.

A refused transition is a 409 with the machine's reason and code (bando.core.errors).
"""

from flask import jsonify, request
from sqlalchemy import select

from bando.applications.lifecycle import expire_if_overdue, fire
from bando.applications.models import Application
from bando.calls.lifecycle import fire_edition
from bando.calls.models import Edition
from bando.core.api import ApiError, bp, json_body, token_required
from bando.core.audit import events_of_application
from bando.core.extensions import db
from bando.core.models import AuditEvent
from bando.core.openapi import APPLICATION_ID, EDITION_CODE, MOMENT, PATHS, SCHEMAS, error_response
from bando.core.openapi import json_content as _json
from bando.core.openapi import ref as _ref
from bando.core.timeutil import to_rome

DECISIONS = {
    "eligible": "declare_eligible",
    "ineligible": "declare_ineligible",
    "request_integration": "request_integration",
}


def event_json(event: AuditEvent) -> dict:
    return {
        "id": event.id,
        "at": to_rome(event.at).isoformat(),
        "actor": event.actor_label,
        "actor_role": event.actor.role if event.actor else "system",
        "trigger": event.trigger,
        "from": event.from_state,
        "to": event.to_state,
        "reason": event.reason,
        "payload": event.payload,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def _may_read(user, application: Application) -> bool:
    return user.is_staff or (
        user.role == "applicant" and user.organisation_id == application.organisation_id
    )


def _application_for(user, application_id: int) -> Application:
    """The application, or 404 — the same for an unknown id and someone else's."""
    # Beyond the column's range it cannot exist (PostgreSQL would refuse the query).
    application = db.session.get(Application, application_id) if application_id < 2**31 else None
    if application is None or not _may_read(user, application):
        raise ApiError(404, "application not found")
    if expire_if_overdue(application) is not None:
        db.session.commit()
    return application


@bp.get("/applications/<int:application_id>/events")
@token_required()
def application_events(user, application_id):
    application = _application_for(user, application_id)
    return jsonify(
        application_id=application.id,
        state=application.state,
        events=[event_json(e) for e in events_of_application(application.id)],
    )


@bp.post("/applications/<int:application_id>/eligibility")
@token_required("officer")
def application_eligibility(user, application_id):
    data = json_body()
    decision, reason = data.get("decision"), data.get("reason", "")
    errors = {}
    if decision not in DECISIONS:
        errors["decision"] = [f"one of: {', '.join(DECISIONS)}"]
    if not isinstance(reason, str):
        errors["reason"] = ["must be a string"]
    elif decision in ("ineligible", "request_integration") and not reason.strip():
        errors["reason"] = ["a reason is required for this decision"]
    if errors:
        raise ApiError(422, "invalid eligibility decision", errors)
    application = _application_for(user, application_id)
    event = fire(application, DECISIONS[decision], user, reason)
    db.session.commit()
    body = {"id": application.id, "state": application.state, "event": event_json(event)}
    if application.integration_deadline and application.state == "integration_requested":
        body["integration_deadline"] = to_rome(application.integration_deadline).isoformat()
    return jsonify(body)


@bp.post("/editions/<code>/close")
@token_required("officer")
def edition_close(user, code):
    data = request.get_json(silent=True) if request.data else {}
    if not isinstance(data, dict):
        raise ApiError(400, "the body, when given, must be a JSON object")
    reason = data.get("reason", "")
    if not isinstance(reason, str):
        raise ApiError(422, "invalid request", {"reason": ["must be a string"]})
    edition = db.session.scalar(select(Edition).where(Edition.code == code))
    if edition is None:
        raise ApiError(404, "edition not found")
    event = fire_edition(edition, "close", user, reason or "chiusura anticipata")
    db.session.commit()
    return jsonify(code=edition.code, state=edition.state, event=event_json(event))


SCHEMAS.update(
    {
        "AuditEvent": {
            "type": "object",
            "description": "one link of the audit hash chain",
            "properties": {
                "id": {"type": "integer"},
                "at": MOMENT,
                "actor": {"type": "string", "description": "email, or «sistema»"},
                "actor_role": {"type": "string"},
                "trigger": {"type": "string"},
                "from": {"type": ["string", "null"]},
                "to": {"type": ["string", "null"]},
                "reason": {"type": "string"},
                "payload": {"type": "object"},
                "prev_hash": {"type": "string"},
                "hash": {"type": "string", "description": "sha256 of the canonical event"},
            },
        },
        "EligibilityDecision": {
            "type": "object",
            "required": ["decision"],
            "properties": {
                "decision": {"enum": list(DECISIONS)},
                "reason": {
                    "type": "string",
                    "description": "required for ineligible and request_integration",
                },
            },
        },
        "Refused": {
            "type": "object",
            "required": ["error", "code"],
            "properties": {
                "error": {"type": "string", "description": "the reason, in Italian"},
                "code": {"type": "string", "examples": ["invalid_state", "concurrent_update"]},
            },
        },
    }
)

_REFUSED = {"description": "refused by the state machine", "content": _json(_ref("Refused"))}
_DONE = {
    "type": "object",
    "properties": {"state": {"type": "string"}, "event": _ref("AuditEvent")},
}

PATHS.update(
    {
        "/applications/{application_id}/events": {
            "get": {
                "summary": "The audit trail of an application (owner's organisation, staff)",
                "tags": ["applications"],
                "parameters": [APPLICATION_ID],
                "responses": {
                    "200": {
                        "description": "events, oldest first",
                        "content": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "state": {"type": "string"},
                                    "events": {"type": "array", "items": _ref("AuditEvent")},
                                },
                            }
                        ),
                    },
                    "401": error_response("no valid token"),
                    "404": error_response("no such application for this user"),
                },
            }
        },
        "/applications/{application_id}/eligibility": {
            "post": {
                "summary": "Admissibility: eligible, ineligible or request for documents",
                "tags": ["applications"],
                "parameters": [APPLICATION_ID],
                "requestBody": {"required": True, "content": _json(_ref("EligibilityDecision"))},
                "responses": {
                    "200": {"description": "decided", "content": _json(_DONE)},
                    "401": error_response("no valid token"),
                    "403": error_response("officers only"),
                    "404": error_response("no such application"),
                    "409": _REFUSED,
                    "422": error_response("unknown decision, or reason missing"),
                },
            }
        },
        "/editions/{code}/close": {
            "post": {
                "summary": "Close submissions early",
                "tags": ["editions"],
                "parameters": [EDITION_CODE],
                "requestBody": {"required": False, "content": _json(_ref("Reason"))},
                "responses": {
                    "200": {"description": "closed", "content": _json(_DONE)},
                    "401": error_response("no valid token"),
                    "403": error_response("officers only"),
                    "404": error_response("no such edition"),
                    "409": _REFUSED,
                },
            }
        },
    }
)
