"""The API's answers match the OpenAPI document it serves: the test client checks every
answer of the suite (tests/openapi_check.py); here, that the check itself bites."""

import json

import pytest

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
