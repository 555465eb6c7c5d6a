"""GET /api/v1/editions, /api/v1/editions/{code} and the OpenAPI document."""

import re

import pytest

from bando.applications.models import Application
from bando.budget.models import Award, Payment
from bando.calls.loading import load_shipped_calls
from bando.core.extensions import db
from bando.core.timeutil import utcnow
from tests.factories import create_organisation, create_user


@pytest.fixture
def shipped(app):
    load_shipped_calls()
    db.session.commit()


def fund(edition, amount_cents, number, *, state="active", paid_cents=0):
    """An award as an allocation run leaves it (the lifecycle is not under test here)."""
    applicant = create_user("applicant", organisation=create_organisation())
    application = Application(
        edition=edition,
        organisation=applicant.organisation,
        created_by=applicant,
        state="funded" if state == "active" else state,
        protocol=f"{edition.protocol_prefix}-{number:04d}",
        protocol_number=number,
        submitted_at=utcnow(),
        requested_cents=amount_cents,
    )
    award = Award(application=application, edition_id=edition.id, amount_cents=amount_cents)
    award.state = state
    db.session.add_all([application, award])
    if paid_cents:
        db.session.add(Payment(award=award, kind="advance", amount_cents=paid_cents))
    db.session.flush()


def test_list_editions(client, shipped):
    response = client.get("/api/v1/editions")
    assert response.status_code == 200
    editions = response.get_json()["editions"]
    assert [e["code"] for e in editions] == ["cdq-2019", "cdq-2017-2018"]  # newest first
    latest, first = editions
    assert (first["budget_cap"], first["committed"], first["available"]) == (
        "94000.00",
        "0.00",
        "94000.00",
    )
    assert latest["budget_cap"] == "80000.00"
    assert latest["opens_at"] == "2019-03-01T09:00:00+01:00"
    assert latest["closes_at"] == "2019-04-15T12:00:00+02:00"
    assert latest["state"] == "closed" and latest["accepting_applications"] is False
    assert latest["url"] == "/api/v1/editions/cdq-2019"
    assert first["project_ends_on"] == "2018-12-31"


def test_edition_detail(client, shipped):
    response = client.get("/api/v1/editions/cdq-2019")
    assert response.status_code == 200
    data = response.get_json()
    assert data["code"] == "cdq-2019"
    assert data["title"] == "Bando contributi ambiti CdQ — annualità 2019"
    assert data["legal_basis"] == "Delibera G.C. n. 1397 del 04/08/2017"
    assert data["office"].endswith("Unità Contratti di Quartiere e Rigenerazione Urbana")
    assert (data["project_starts_on"], data["project_ends_on"]) == ("2019-06-01", "2019-12-31")
    rules = data["rules"]
    assert rules["max_grant"] == "16000.00"
    assert rules["min_cofinancing_share"] == 0.1
    assert rules["advance_share"] == 0.5
    assert rules["threshold"] == 60
    assert rules["aggregation"] == "mean"
    assert rules["tie_break"] == ["criterion:coherence", "cofinancing_share", "protocol"]
    assert "statuto" in rules["required_attachments"]
    assert "personale" in rules["budget_categories"]
    assert data["allocation"] == {
        "mode": "area_quotas_then_pool",
        "on_insufficient": "partial",
        "min_partial_share": 0.5,
    }
    assert data["attachment_labels"]["statuto"] == "Statuto e atto costitutivo dell'ente"
    assert [c["max_points"] for c in data["criteria"]] == [30, 25, 20, 15, 10]
    hoods = data["neighbourhoods"]
    assert [h["name"] for h in hoods] == [
        "San Siro",
        "Molise-Calvairate",
        "Gratosoglio",
        "Ponte Lambro",
        "Mazzini",
    ]
    san_siro = hoods[0]
    assert san_siro == {
        "slug": "san-siro",
        "name": "San Siro",
        "inhabitants": 6647,
        "households": 6580,
        "erp_units": 4647,
        "intervention_units": 1261,
        "quota": "12000.00",
        "lab_address": "Piazzale Selinunte 4",
        "guidelines": san_siro["guidelines"],
    }
    assert [g["code"] for g in san_siro["guidelines"]] == ["SS1", "SS2"]
    assert all(h["guidelines"] for h in hoods)
    assert [g["code"] for g in data["general_guidelines"]][:3] == ["G1", "G2", "G3"]
    # The general aims are not repeated among a neighbourhood's guidelines.
    local = {g["code"] for h in hoods for g in h["guidelines"]}
    assert local.isdisjoint(g["code"] for g in data["general_guidelines"])


def test_committed_and_available_follow_the_awards(client, shipped):
    from sqlalchemy import select

    from bando.calls.models import Edition

    edition = db.session.scalar(select(Edition).where(Edition.code == "cdq-2019"))
    fund(edition, 16_000_00, 1)
    fund(edition, 12_500_50, 2)
    # A revoked award keeps counting only for what was already paid out.
    fund(edition, 10_000_00, 3, state="revoked", paid_cents=5_000_00)
    db.session.commit()
    data = client.get("/api/v1/editions/cdq-2019").get_json()
    assert data["committed"] == "33500.50"
    assert data["available"] == "46499.50"
    other = client.get("/api/v1/editions/cdq-2017-2018").get_json()
    assert (other["committed"], other["available"]) == ("0.00", "94000.00")


def test_unknown_edition_is_a_json_404(client, shipped):
    response = client.get("/api/v1/editions/cdq-1999")
    assert response.status_code == 404
    assert response.is_json
    assert response.get_json() == {"error": "no edition with code 'cdq-1999'"}


def test_no_editions_yet(client):
    assert client.get("/api/v1/editions").get_json() == {"editions": []}


def test_editions_are_public_and_read_only(client, shipped):
    # The path exists, read-only: 405 saying which methods it takes.
    response = client.delete("/api/v1/editions/cdq-2019")
    assert response.status_code == 405 and "error" in response.get_json()
    assert response.headers["Allow"] == "GET"
    # Loading a call is the administrator's (tests/bando/admin): anyone else signs in first.
    assert client.post("/api/v1/editions", json={"toml": "x"}).status_code == 401
    assert client.get("/api/v1/editions/cdq-2019").status_code == 200
    assert client.delete("/api/v1/nessuna/via").status_code == 404


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_openapi_document_describes_real_endpoints(app, client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"] == "3.1.0"
    assert doc["servers"] == [{"url": "/api/v1"}]
    for path in ("/tokens", "/editions", "/editions/{code}", "/openapi.json"):
        assert path in doc["paths"]
    assert doc["paths"]["/editions/{code}"]["get"]["responses"]["404"]
    rules = {}
    for rule in app.url_map.iter_rules():  # one path may be served by several rules
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        rules.setdefault(path, set()).update(rule.methods)
    for path, operations in doc["paths"].items():
        url = "/api/v1" + path
        assert url in rules, f"{url} is documented but not served"
        for method in operations:
            if method in ("get", "post", "put", "patch", "delete"):
                assert method.upper() in rules[url], f"{method.upper()} {url} not served"
    for url, methods in rules.items():  # and every endpoint served is documented
        if url.startswith("/api/v1/") and "{anything}" not in url:
            operations = doc["paths"].get(url[len("/api/v1") :], {})
            for method in methods - {"HEAD", "OPTIONS"}:
                assert method.lower() in operations, f"{method} {url} is served, not documented"
    schemas = doc["components"]["schemas"]
    for ref in _refs(doc):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas
