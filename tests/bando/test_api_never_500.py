"""Whatever a client sends to any API endpoint, the answer is JSON and never a 500.

Every route of the blueprint is called, as every role and anonymously, with bodies of
the wrong shape: each must be refused (or served) with a 2xx/4xx JSON answer.
"""

import io

import pytest
from sqlalchemy import func, select

from bando.core.extensions import db
from bando.core.models import AuditEvent
from bando.core.xlsxfile import MIMETYPE as XLSX
from tests.bando.applications.data import registration, submitted_application, token_for
from tests.factories import PASSWORD, create_edition, create_user


def bodies():
    """Fresh each time: the test client closes an uploaded file after sending it."""
    return [
        {"data": "not json", "content_type": "application/json"},
        {"data": "[1, 2, 3]", "content_type": "application/json"},
        {"json": {}},
        {"json": {"email": ["a"], "password": {"x": 1}, "decision": 12, "reason": None}},
        {"json": {"scores": "tutti", "budget": "molto", "requested_amount": 10**30}},
        {"json": {"organisation": [], "edition": {"code": 1}, "guidelines": [None, 3]}},
        {
            "data": {"kind": "statuto", "file": (io.BytesIO(b"MZ\x90\x00"), "x.pdf")},
            "content_type": "multipart/form-data",
        },
    ]


@pytest.fixture
def world(app, client):
    edition = create_edition("cdq-robusto")
    application = submitted_application(edition)
    db.session.commit()
    headers = {None: {}}
    for role in ("officer", "evaluator", "finance", "admin"):
        user = create_user(role)
        db.session.commit()
        headers[role] = token_for(client, user.email, PASSWORD)
    body = registration()
    client.post("/api/v1/accounts", json=body)
    headers["applicant"] = token_for(client, body["email"])
    headers["bad token"] = {"Authorization": "Bearer non-un-token"}
    return {"application_id": str(application.id), "code": edition.code, "headers": headers}


def _urls(app, world):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or "<path:" in rule.rule:
            continue
        if rule.rule == "/api/v1/tokens/current":
            continue  # revoking would end the tokens of the world (tests/bando/accounts)
        url = rule.rule
        for name, value in (
            ("application_id", world["application_id"]),
            ("code", world["code"]),
            ("kind", "statuto"),
        ):
            url = url.replace(f"<int:{name}>", value).replace(f"<{name}>", value)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, url


# What a successful download answers instead of JSON.
FILES = ("application/pdf", "text/csv", "application/zip", XLSX)


def test_no_endpoint_answers_500_to_bad_input(app, client, world):
    calls = 0
    for method, url in _urls(app, world):
        for who, headers in world["headers"].items():
            for body in bodies() if method != "GET" else [{}]:
                response = client.open(url, method=method, headers=headers, **body)
                calls += 1
                assert response.status_code < 500, (method, url, who, body, response.data)
                if response.status_code >= 400 or response.mimetype not in FILES:
                    assert response.is_json, (method, url, who, response.data[:200])
    assert calls > 300


def test_unknown_ids_and_codes_are_404_json(client, world):
    headers = world["headers"]["officer"]
    for url in (
        "/api/v1/applications/999999",
        "/api/v1/applications/99999999999999999999",
        "/api/v1/editions/nessuno",
        "/api/v1/non-esiste",
    ):
        response = client.get(url, headers=headers)
        assert response.status_code == 404, url
        assert "error" in response.get_json()


def test_bad_input_leaves_no_trace(client, world):
    before = db.session.scalar(select(func.count(AuditEvent.id)))
    url = f"/api/v1/applications/{world['application_id']}/eligibility"
    for body in bodies():
        client.post(url, headers=world["headers"]["officer"], **body)
    assert db.session.scalar(select(func.count(AuditEvent.id))) == before
