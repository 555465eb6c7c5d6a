"""Every answer the API gives in the test suite is checked against the OpenAPI document it
serves: the status must be documented for that operation, and a JSON body must validate
against the documented schema (JSON Schema 2020-12, as OpenAPI 3.1 uses)."""

import json
import re

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

PREFIX = "/api/v1"
DOCUMENT_URI = "urn:bando:openapi"


class ResponseMismatch(AssertionError):
    """An API answer the document does not describe."""


class DocumentChecker:
    def __init__(self, document: dict):
        self.document = document
        self.registry = Registry().with_resource(
            DOCUMENT_URI, Resource.from_contents(document, default_specification=DRAFT202012)
        )
        self.operations = []
        for path, methods in document["paths"].items():
            pattern = re.compile(
                "^"
                + re.sub(
                    r"\{\w+\}", r"[^/]+", re.escape(path).replace(r"\{", "{").replace(r"\}", "}")
                )
                + "$"
            )
            for method, operation in methods.items():
                self.operations.append((method.upper(), pattern, path, operation))
        self.checked = 0

    def operation(self, method: str, path: str):
        for known_method, pattern, template, operation in self.operations:
            if known_method == method and pattern.match(path):
                return template, operation
        return None, None

    def check(self, method: str, url_path: str, status: int, mimetype: str, data: bytes) -> None:
        if not url_path.startswith(PREFIX + "/"):
            return
        template, operation = self.operation(method, url_path[len(PREFIX) :])
        if operation is None:
            return  # not an endpoint of the document (an unknown path: its 404 is generic)
        where = f"{method} {template} → {status}"
        response = operation["responses"].get(str(status))
        if response is None:
            raise ResponseMismatch(f"{where}: status not documented")
        content = response.get("content") or {}
        if mimetype == "application/json":
            if "application/json" not in content:
                raise ResponseMismatch(f"{where}: JSON answered, the document says {list(content)}")
            schema = content["application/json"].get("schema")
            if schema:
                validator = Draft202012Validator(
                    _absolute(schema), registry=self.registry, format_checker=None
                )
                errors = sorted(validator.iter_errors(json.loads(data)), key=lambda e: e.path)
                if errors:
                    details = "; ".join(
                        f"{'/'.join(map(str, e.path)) or '(body)'}: {e.message}" for e in errors[:5]
                    )
                    raise ResponseMismatch(f"{where}: {details}")
        elif content and mimetype not in content:
            raise ResponseMismatch(
                f"{where}: {mimetype} answered, the document says {list(content)}"
            )
        self.checked += 1


def _absolute(schema):
    """The document's local references, resolvable from outside it."""
    if isinstance(schema, dict):
        return {
            key: (
                DOCUMENT_URI + value
                if key == "$ref" and value.startswith("#")
                else _absolute(value)
            )
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_absolute(item) for item in schema]
    return schema
