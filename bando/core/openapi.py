"""The OpenAPI 3.1 document of /api/v1, served at /api/v1/openapi.json: assembled from the
endpoints declared with bando.core.api.endpoint and the pydantic schemas they name."""

from functools import lru_cache

from flask import current_app
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from bando.core.api import OPERATIONS, endpoint
from bando.core.schemas import Conflict, Error

REF = "#/components/schemas/{model}"


def _schemas() -> tuple[dict, dict]:
    """The components, and the $ref of each (schema, mode) the operations use."""
    wanted = {(Error, "serialization"), (Conflict, "serialization")}
    for operation in OPERATIONS:
        if operation.body is not None:
            wanted.add((operation.body, "validation"))
        for _, schema in operation.responses.values():
            if isinstance(schema, type) and issubclass(schema, BaseModel):
                wanted.add((schema, "serialization"))
    ordered = sorted(wanted, key=lambda pair: (pair[0].__name__, pair[1]))
    refs, document = models_json_schema(ordered, ref_template=REF)
    return refs, document.get("$defs", {})


def _content(schema, refs) -> dict | None:
    if schema is None:
        return None
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return {"application/json": {"schema": refs[(schema, "serialization")]}}
    return schema  # a media type map, e.g. {"application/pdf": {}}


def document() -> dict:
    refs, components = _schemas()
    error = {"application/json": {"schema": refs[(Error, "serialization")]}}
    conflict = {"application/json": {"schema": refs[(Conflict, "serialization")]}}
    paths: dict[str, dict] = {}
    for operation in OPERATIONS:
        entry = {
            "summary": operation.summary,
            "operationId": f"{operation.method}_{operation.path}",
            "tags": [operation.tag],
            "responses": {},
        }
        if operation.roles is None:
            entry["security"] = []
        if operation.parameters:
            entry["parameters"] = operation.parameters
        if operation.body is not None:
            entry["requestBody"] = {
                "required": operation.body_required,
                "content": {"application/json": {"schema": refs[(operation.body, "validation")]}},
            }
        elif operation.multipart is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"multipart/form-data": {"schema": operation.multipart}},
            }
        for status, (description, schema) in sorted(operation.responses.items()):
            response = {"description": description}
            content = (
                _content(schema, refs) if status < 400 else (conflict if status == 409 else error)
            )
            if content:
                response["content"] = content
            entry["responses"][str(status)] = response
        paths.setdefault(operation.path, {})[operation.method] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "bando API",
            "version": "1",
            "description": (
                "Grant-call workflow: calls, applications, evaluation, allocation, "
                'reports. Amounts are strings with two decimals ("16000.00"); times carry '
                'the Europe/Rome offset; errors are {"error": "...", "errors": {"field": '
                '["message"]}}, with a "code" naming the refusal on every 409.'
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


@endpoint(
    "GET",
    "/openapi.json",
    summary="This document",
    tag="meta",
    roles=None,
    ok=(200, "the OpenAPI 3.1 document", {"application/json": {}}),
)
def openapi():
    return current_app.response_class(_served(len(OPERATIONS)), mimetype="application/json")


@lru_cache(maxsize=1)
def _served(declared: int) -> str:
    """The document as sent, built once per process (building it costs some 25 ms, and
    anyone may ask for it): the endpoints are declared when the packages are imported, and
    `declared`, their number, gives a new document should one be declared later."""
    return current_app.json.dumps(document())
