"""The API's answers match the OpenAPI document it serves: the test client checks every
answer of the suite (tests/openapi_check.py); here, that the check itself bites."""

import json
import re

import pytest

from bando.core.openapi import document
from tests.conftest import document_checker
from tests.openapi_check import ResponseMismatch


def test_every_api_answer_of_the_suite_is_checked(app, client):
    checker = document_checker(app)
    before = checker.checked
    assert client.get("/api/v1/editions").status_code == 200
    assert client.get("/api/v1/editions/nessuno").status_code == 404
    assert checker.checked == before + 2


def test_a_body_the_document_does_not_describe_is_caught(app):
    checker = document_checker(app)
    wrong = json.dumps({"editions": [{"code": 7}]}).encode()
    with pytest.raises(ResponseMismatch, match="editions/0"):
        checker.check("GET", "/api/v1/editions", 200, "application/json", wrong)


def test_a_status_the_document_does_not_list_is_caught(app):
    checker = document_checker(app)
    with pytest.raises(ResponseMismatch, match="status not documented"):
        checker.check("GET", "/api/v1/editions", 409, "application/json", b'{"error": "x"}')


def test_a_value_outside_its_enumeration_is_caught(app):
    checker = document_checker(app)
    body = {"token": "t", "role": "astronaut"}
    with pytest.raises(ResponseMismatch, match="role"):
        checker.check("POST", "/api/v1/tokens", 201, "application/json", json.dumps(body).encode())


def test_a_conflict_without_its_code_is_caught(app):
    checker = document_checker(app)
    with pytest.raises(ResponseMismatch, match="code"):
        checker.check("POST", "/api/v1/applications", 409, "application/json", b'{"error": "x"}')
    named = b'{"error": "x", "code": "limit_reached"}'
    checker.check("POST", "/api/v1/applications", 409, "application/json", named)


def test_every_endpoint_under_a_shared_limit_documents_its_429(app):
    from bando.core.openapi import document

    with app.test_request_context():
        paths = document()["paths"]
    limited = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if not rule.endpoint.startswith("api.") or not getattr(view, "limited_by", None):
            continue
        path = "/" + rule.rule.removeprefix("/api/v1/")
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            responses = paths[path][method.lower()]["responses"]
            assert "429" in responses, (method, path)
            limited.append((method, path))
    # Sign-in, registration, confirmation links, documents and receipts at least.
    assert len(limited) >= 5, limited
    assert (
        "POST",
        "/applications/{application_id}/report/expenses/{expense_id}/receipt",
    ) in limited


def test_the_served_document_is_the_one_the_endpoints_declare(client):
    """Served from what was built at the first request (building costs), it is still
    exactly the document of the declared endpoints, the same on every request."""
    first = client.get("/api/v1/openapi.json")
    again = client.get("/api/v1/openapi.json")
    assert first.status_code == again.status_code == 200
    assert first.mimetype == "application/json"
    assert first.get_json() == document()
    assert again.data == first.data
