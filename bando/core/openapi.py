"""The OpenAPI 3.1 document of /api/v1, served at /api/v1/openapi.json.

Assembled by hand: each endpoint adds its entry to PATHS (and any schema it needs to
SCHEMAS) next to the others here. Errors share one schema and one set of responses.
"""

from flask import jsonify

from bando.core.api import bp

AMOUNT = {"type": "string", "pattern": r"^\d+\.\d{2}$", "examples": ["16000.00"]}
MOMENT = {"type": "string", "format": "date-time", "description": "ISO 8601, Europe/Rome offset"}
DAY = {"type": "string", "format": "date"}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def error_response(description: str) -> dict:
    return {"description": description, "content": json_content(ref("Error"))}


SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string"},
            "errors": {
                "type": "object",
                "description": "messages by field",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            },
        },
    },
    "Amount": AMOUNT,
    "TokenRequest": {
        "type": "object",
        "required": ["email", "password"],
        "properties": {"email": {"type": "string"}, "password": {"type": "string"}},
    },
    "Token": {
        "type": "object",
        "required": ["token", "role"],
        "properties": {
            "token": {"type": "string", "description": "use as Authorization: Bearer <token>"},
            "role": {
                "type": "string",
                "enum": ["applicant", "officer", "evaluator", "finance", "admin"],
            },
        },
    },
    "Guideline": {
        "type": "object",
        "required": ["code", "text"],
        "properties": {"code": {"type": "string"}, "text": {"type": "string"}},
    },
    "Criterion": {
        "type": "object",
        "required": ["code", "label", "max_points"],
        "properties": {
            "code": {"type": "string"},
            "label": {"type": "string"},
            "max_points": {"type": "integer"},
        },
    },
    "Neighbourhood": {
        "type": "object",
        "properties": {
            "slug": {"type": "string"},
            "name": {"type": "string"},
            "inhabitants": {"type": ["integer", "null"]},
            "households": {"type": ["integer", "null"]},
            "erp_units": {"type": ["integer", "null"]},
            "intervention_units": {"type": ["integer", "null"]},
            "quota": {"oneOf": [AMOUNT, {"type": "null"}]},
            "lab_address": {"type": "string"},
            "guidelines": {"type": "array", "items": ref("Guideline")},
        },
    },
    "EditionSummary": {
        "type": "object",
        "properties": {
            "code": {"type": "string"},
            "title": {"type": "string"},
            "state": {
                "type": "string",
                "enum": ["draft", "open", "closed", "ranked", "allocated", "archived"],
            },
            "accepting_applications": {"type": "boolean"},
            "budget_cap": AMOUNT,
            "committed": AMOUNT,
            "available": AMOUNT,
            "opens_at": MOMENT,
            "closes_at": MOMENT,
            "project_starts_on": DAY,
            "project_ends_on": DAY,
            "legal_basis": {"type": "string"},
            "office": {"type": "string"},
            "url": {"type": "string"},
        },
    },
    "Edition": {
        "allOf": [
            ref("EditionSummary"),
            {
                "type": "object",
                "properties": {
                    "description": {"type": "string"},
                    "protocol_prefix": {"type": "string"},
                    "ranking_published_at": {"oneOf": [MOMENT, {"type": "null"}]},
                    "rules": {
                        "type": "object",
                        "properties": {
                            "max_grant": AMOUNT,
                            "min_cofinancing_share": {"type": "number"},
                            "integration_days": {"type": "integer"},
                            "reviews_required": {"type": "integer"},
                            "aggregation": {"type": "string", "enum": ["mean", "median"]},
                            "threshold": {"type": "integer"},
                            "advance_share": {"type": "number"},
                            "tie_break": {"type": "array", "items": {"type": "string"}},
                            "required_attachments": {
                                "type": "array",
                                "items": {"type": "string"},
                            },
                            "budget_categories": {"type": "array", "items": {"type": "string"}},
                            "max_applications_per_organisation": {"type": "integer"},
                        },
                    },
                    "allocation": {
                        "type": "object",
                        "properties": {
                            "mode": {
                                "type": "string",
                                "enum": ["area_quotas_then_pool", "single_ranking"],
                            },
                            "on_insufficient": {
                                "type": "string",
                                "enum": ["stop", "skip", "partial"],
                            },
                            "min_partial_share": {"type": "number"},
                        },
                    },
                    "attachment_labels": {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                    },
                    "criteria": {"type": "array", "items": ref("Criterion")},
                    "neighbourhoods": {"type": "array", "items": ref("Neighbourhood")},
                    "general_guidelines": {"type": "array", "items": ref("Guideline")},
                },
            },
        ]
    },
}

# The applicant's side: registration, applications, attachments, triggers, receipt.

# The fields of a proposal, as written (ApplicationInput) and as read back (Application).
PROPOSAL_FIELDS = {
    "title": {"type": "string", "maxLength": 300},
    "summary": {"type": "string"},
    "description": {"type": "string"},
    "objectives": {"type": "string"},
    "places": {"type": "string"},
    "timeline": {"type": "string"},
    "guidelines": {"type": "array", "items": {"type": "string"}},
    "partners": {"type": "array", "items": ref("Partner")},
    "budget": {"type": "array", "items": ref("BudgetLine")},
    "requested_amount": AMOUNT,
    "cofinancing_amount": AMOUNT,
    "start_date": {"oneOf": [DAY, {"type": "null"}]},
    "end_date": {"oneOf": [DAY, {"type": "null"}]},
}

SCHEMAS.update(
    {
        "OrganisationInput": {
            "type": "object",
            "required": [
                "name",
                "tax_code",
                "legal_form",
                "pec",
                "address",
                "legal_representative",
            ],
            "properties": {
                "name": {"type": "string", "maxLength": 300},
                "tax_code": {
                    "type": "string",
                    "description": "codice fiscale: 11 digits (entity) or 16 characters (person)",
                },
                "vat_number": {"type": ["string", "null"], "description": "partita IVA, optional"},
                "legal_form": {
                    "type": "string",
                    "enum": [
                        "associazione",
                        "aps",
                        "odv",
                        "ets",
                        "cooperativa_sociale",
                        "impresa_sociale",
                        "fondazione",
                        "comitato",
                    ],
                    "description": "non-profit forms only; for-profit forms are refused",
                },
                "pec": {"type": "string", "format": "email"},
                "address": {"type": "string"},
                "legal_representative": {"type": "string"},
                "runts_number": {"type": ["string", "null"]},
                "withholding_exempt": {
                    "type": "boolean",
                    "description": "declares the organisation not subject to the 4 % withholding",
                },
                "withholding_reason": {"type": "string", "description": "needed when exempt"},
            },
        },
        "AccountRequest": {
            "type": "object",
            "required": ["email", "password", "organisation"],
            "properties": {
                "email": {"type": "string", "format": "email"},
                "password": {"type": "string", "minLength": 10},
                "full_name": {"type": "string"},
                "organisation": ref("OrganisationInput"),
            },
        },
        "Account": {
            "type": "object",
            "properties": {
                "user": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "email": {"type": "string"},
                        "role": {"type": "string"},
                    },
                },
                "organisation": {
                    "allOf": [
                        ref("OrganisationInput"),
                        {"type": "object", "properties": {"id": {"type": "integer"}}},
                    ]
                },
            },
        },
        "BudgetLine": {
            "type": "object",
            "required": ["category", "amount"],
            "properties": {
                "category": {"type": "string", "description": "one of the call's categories"},
                "description": {"type": "string"},
                "amount": AMOUNT,
            },
        },
        "Partner": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string"},
                "tax_code": {"type": ["string", "null"]},
                "role": {"type": "string"},
            },
        },
        "ApplicationInput": {
            "type": "object",
            "description": (
                "A draft may lack parts; what it says must follow the call's rules "
                "(requested ≤ max_grant, co-financing ≥ its share of the total, budget lines "
                "= requested + co-financing, dates in the project window, guidelines of the "
                "neighbourhood). PATCH changes only the fields present."
            ),
            "properties": {
                "edition": {"type": "string", "description": "edition code (POST only)"},
                "neighbourhood": {"type": ["string", "null"], "description": "slug"},
                **PROPOSAL_FIELDS,
            },
            "additionalProperties": False,
        },
        "AttachmentInfo": {
            "type": "object",
            "properties": {
                "kind": {"type": "string"},
                "filename": {"type": "string"},
                "size": {"type": "integer"},
                "sha256": {"type": "string"},
                "uploaded_at": MOMENT,
            },
        },
        "Application": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "edition": {"type": "string"},
                "organisation": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "name": {"type": "string"},
                        "tax_code": {"type": "string"},
                    },
                },
                "state": {"type": "string"},
                "protocol": {"type": ["string", "null"]},
                "submitted_at": {"oneOf": [MOMENT, {"type": "null"}]},
                "integration_deadline": {"oneOf": [MOMENT, {"type": "null"}]},
                "integration_request": {"type": ["string", "null"]},
                "neighbourhood": {"type": ["string", "null"]},
                **PROPOSAL_FIELDS,
                "total_cost": AMOUNT,
                "attachments": {"type": "array", "items": ref("AttachmentInfo")},
                "version": {"type": "integer"},
            },
        },
        "Reason": {
            "type": "object",
            "properties": {"reason": {"type": "string", "maxLength": 2000}},
        },
    }
)

APPLICATION_ID = {
    "name": "application_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}


EDITION_CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}

# One entry per path; add yours here (with its schemas in SCHEMAS above).
PATHS = {
    "/tokens": {
        "post": {
            "summary": "Exchange email and password for a bearer token",
            "tags": ["auth"],
            "security": [],
            "requestBody": {"required": True, "content": json_content(ref("TokenRequest"))},
            "responses": {
                "201": {"description": "a new token", "content": json_content(ref("Token"))},
                "400": error_response("the body is not a JSON object"),
                "401": error_response("wrong email or password"),
                "422": error_response("email or password missing"),
            },
        }
    },
    "/editions": {
        "get": {
            "summary": "The calls, newest first, with cap, committed and available money",
            "tags": ["editions"],
            "security": [],
            "responses": {
                "200": {
                    "description": "every edition",
                    "content": json_content(
                        {
                            "type": "object",
                            "properties": {
                                "editions": {"type": "array", "items": ref("EditionSummary")}
                            },
                        }
                    ),
                }
            },
        }
    },
    "/editions/{code}": {
        "get": {
            "summary": "One call: rules, neighbourhoods with their guidelines, criteria",
            "tags": ["editions"],
            "security": [],
            "parameters": [EDITION_CODE],
            "responses": {
                "200": {"description": "the edition", "content": json_content(ref("Edition"))},
                "404": error_response("no edition with this code"),
            },
        }
    },
    "/openapi.json": {
        "get": {
            "summary": "This document",
            "tags": ["meta"],
            "security": [],
            "responses": {"200": {"description": "the OpenAPI 3.1 document"}},
        }
    },
}


def _applicant_trigger(summary: str, result: dict, refused: str) -> dict:
    return {
        "post": {
            "summary": summary,
            "tags": ["applications"],
            "parameters": [APPLICATION_ID],
            "requestBody": {"required": False, "content": json_content(ref("Reason"))},
            "responses": {
                "200": {"description": "done", "content": json_content(result)},
                "401": error_response("no valid token"),
                "403": error_response("only the owning organisation"),
                "404": error_response("no such application for this user"),
                "409": error_response(refused),
            },
        }
    }


_STATE = {"type": "object", "properties": {"state": {"type": "string"}}}

PATHS.update(
    {
        "/accounts": {
            "post": {
                "summary": "Register a non-profit organisation and its first applicant user",
                "tags": ["accounts"],
                "security": [],
                "requestBody": {"required": True, "content": json_content(ref("AccountRequest"))},
                "responses": {
                    "201": {"description": "registered", "content": json_content(ref("Account"))},
                    "400": error_response("the body is not a JSON object"),
                    "409": error_response("tax code or email already registered"),
                    "422": error_response("invalid data, messages by field"),
                },
            }
        },
        "/applications": {
            "get": {
                "summary": "The applications of the user's organisation",
                "tags": ["applications"],
                "responses": {
                    "200": {
                        "description": "every application of the organisation",
                        "content": json_content(
                            {
                                "type": "object",
                                "properties": {
                                    "applications": {
                                        "type": "array",
                                        "items": ref("Application"),
                                    }
                                },
                            }
                        ),
                    },
                    "401": error_response("no valid token"),
                    "403": error_response("applicants only"),
                },
            },
            "post": {
                "summary": "Start a draft (edition required, everything else optional)",
                "tags": ["applications"],
                "requestBody": {"required": True, "content": json_content(ref("ApplicationInput"))},
                "responses": {
                    "201": {
                        "description": "the draft",
                        "content": json_content(ref("Application")),
                    },
                    "400": error_response("the body is not a JSON object"),
                    "401": error_response("no valid token"),
                    "403": error_response("applicants only"),
                    "409": error_response("call not open, or the organisation's limit reached"),
                    "422": error_response("invalid data or rules broken, messages by field"),
                },
            },
        },
        "/applications/{application_id}": {
            "get": {
                "summary": "One application (its organisation's users and staff)",
                "tags": ["applications"],
                "parameters": [APPLICATION_ID],
                "responses": {
                    "200": {
                        "description": "the application",
                        "content": json_content(ref("Application")),
                    },
                    "401": error_response("no valid token"),
                    "404": error_response("no such application for this user"),
                },
            },
            "patch": {
                "summary": "Edit a draft (only the fields sent change)",
                "tags": ["applications"],
                "parameters": [APPLICATION_ID],
                "requestBody": {"required": True, "content": json_content(ref("ApplicationInput"))},
                "responses": {
                    "200": {
                        "description": "the draft",
                        "content": json_content(ref("Application")),
                    },
                    "400": error_response("the body is not a JSON object"),
                    "401": error_response("no valid token"),
                    "403": error_response("only the owning organisation"),
                    "404": error_response("no such application for this user"),
                    "409": error_response("no longer a draft"),
                    "422": error_response("invalid data or rules broken, messages by field"),
                },
            },
        },
        "/applications/{application_id}/attachments": {
            "get": {
                "summary": "The documents attached",
                "tags": ["applications"],
                "parameters": [APPLICATION_ID],
                "responses": {
                    "200": {
                        "description": "the documents",
                        "content": json_content(
                            {
                                "type": "object",
                                "properties": {
                                    "attachments": {"type": "array", "items": ref("AttachmentInfo")}
                                },
                            }
                        ),
                    },
                    "404": error_response("no such application for this user"),
                },
            },
            "post": {
                "summary": "Add or replace a document: PDF only, judged by content, size-limited",
                "tags": ["applications"],
                "parameters": [APPLICATION_ID],
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["kind", "file"],
                                "properties": {
                                    "kind": {
                                        "type": "string",
                                        "description": "one of the call's required_attachments",
                                    },
                                    "file": {"type": "string", "format": "binary"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "201": {
                        "description": "stored",
                        "content": json_content(ref("AttachmentInfo")),
                    },
                    "404": error_response("no such application for this user"),
                    "409": error_response("neither a draft nor awaiting documents"),
                    "413": error_response("larger than MAX_ATTACHMENT_BYTES"),
                    "422": error_response("not a readable PDF, or an unknown kind"),
                },
            },
        },
        "/applications/{application_id}/attachments/{kind}": {
            "get": {
                "summary": "Download one document",
                "tags": ["applications"],
                "parameters": [
                    APPLICATION_ID,
                    {"name": "kind", "in": "path", "required": True, "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": {"description": "the PDF", "content": {"application/pdf": {}}},
                    "404": error_response("no such application or document"),
                },
            }
        },
        "/applications/{application_id}/submit": _applicant_trigger(
            "Submit: completeness and deadline checked; gives the protocol number",
            {
                "type": "object",
                "properties": {
                    "state": {"type": "string", "const": "submitted"},
                    "protocol": {"type": "string"},
                    "submitted_at": MOMENT,
                },
            },
            "incomplete (errors.submission lists every missing part), deadline passed, "
            "or not a draft",
        ),
        "/applications/{application_id}/integrate": _applicant_trigger(
            "Answer a request for documents (after replacing the attachments)",
            _STATE,
            "no request for documents pending, or its deadline passed",
        ),
        "/applications/{application_id}/withdraw": _applicant_trigger(
            "Withdraw the application", _STATE, "cannot be withdrawn in its state"
        ),
        "/applications/{application_id}/receipt.pdf": {
            "get": {
                "summary": "The submission receipt (protocol, date, organisation, budget)",
                "tags": ["applications"],
                "parameters": [APPLICATION_ID],
                "responses": {
                    "200": {"description": "the receipt", "content": {"application/pdf": {}}},
                    "404": error_response("no such application for this user"),
                    "409": error_response("not submitted yet"),
                },
            }
        },
    }
)


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "bando API",
            "version": "1",
            "description": (
                "Grant-call workflow: calls, applications, evaluation, allocation, "
                'reports. Amounts are strings with two decimals ("16000.00"); errors are '
                '{"error": "...", "errors": {"field": ["message"]}}.'
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())
