"""The transparency exports through the public API: the art. 27 CSV and JSON list exactly
the active awards, the 360Giving package passes the standard's rules, spreadsheets
never run a cell, a natural person's tax code stays private, a revoked award leaves."""

import csv
import io
import json

from sqlalchemy import select

from bando.allocation import operations as allocation
from bando.budget.models import Award
from bando.core.extensions import db
from tests.allocation_factories import ranked_world
from tests.bando.transparency.giving_schema import giving_validator
from tests.bando.transparency.world import (
    ADVANCE,
    FINAL,
    FORMULA_NAME,
    PERSON_TAX_CODE,
    allocated_world,
)

ACTIVE = ("active_funded", "reported", "closed")


def csv_rows(client, code):
    response = client.get(f"/api/v1/editions/{code}/transparency.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_the_art27_csv_lists_exactly_the_active_awards(app, client):
    edition, _, world = allocated_world()
    rows = csv_rows(client, edition.code)
    assert sorted(row["protocollo"] for row in rows) == sorted(
        world[name].protocol for name in ACTIVE
    )
    # …and each with the amount of its award as the ledger holds it: the final
    # contribution once the report is approved.
    awards = {a.application_id: a.amount_cents for a in db.session.scalars(select(Award)).all()}
    awards[world["closed"].id] = FINAL
    for row in rows:
        application = next(world[n] for n in ACTIVE if world[n].protocol == row["protocollo"])
        assert (
            row["importo"] == f"{awards[application.id] // 100}.{awards[application.id] % 100:02d}"
        )
        paid = ADVANCE if application is world["reported"] else 0
        assert row["importo_erogato"] == f"{paid // 100}.{paid % 100:02d}"
        assert row["norma_titolo_attribuzione"] and row["ufficio"]
        assert row["responsabile_procedimento"] == app.config["TRANSPARENCY_RESPONSIBLE"]
        assert row["modalita_individuazione"] == app.config["TRANSPARENCY_SELECTION_METHOD"]
        assert row["link_progetto"].startswith("http")
        assert row["link_progetto"].endswith(f"/progetti/{application.id}")
    # The JSON says the same, with the total.
    body = client.get(f"/api/v1/editions/{edition.code}/transparency.json").get_json()
    assert [g["protocollo"] for g in body["grants"]] == [row["protocollo"] for row in rows]
    total = sum(awards[world[name].id] for name in ACTIVE)
    assert body["count"] == 3 and body["total"] == f"{total // 100}.{total % 100:02d}"


def test_the_link_of_each_grant_opens_the_project_page(app, client):
    edition, _, world = allocated_world()
    for row in csv_rows(client, edition.code):
        page = client.get(row["link_progetto"])
        assert page.status_code == 200
        assert row["progetto"].lstrip("'") in page.get_data(as_text=True)


def test_a_revoked_award_leaves_the_exports(app, client):
    edition, officer, rows = ranked_world([300, 200], on_insufficient="skip")
    allocation.run(edition, officer)
    db.session.commit()
    first, second = rows[0][0], rows[1][0]
    before = [row["protocollo"] for row in csv_rows(client, edition.code)]
    assert before == [first.protocol, second.protocol]
    page = f"/contributi-concessi/{edition.code}/progetti/{second.id}"
    assert client.get(page).status_code == 200
    allocation.revoke(second, officer, "attività non svolte")
    db.session.commit()
    assert [row["protocollo"] for row in csv_rows(client, edition.code)] == [first.protocol]
    package = client.get(f"/api/v1/editions/{edition.code}/360giving.json").get_json()
    assert [g["amountAwarded"] for g in package["grants"]] == [300]
    assert client.get(page).status_code == 404


def test_the_360giving_package_passes_the_standards_schema(app, client):
    edition, _, world = allocated_world()
    response = client.get(f"/api/v1/editions/{edition.code}/360giving.json")
    assert response.status_code == 200, response.get_json()
    package = response.get_json()
    errors = sorted(giving_validator().iter_errors(package), key=lambda e: e.path)
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    grants = {g["url"].rsplit("/", 1)[1]: g for g in package["grants"]}
    assert sorted(grants) == sorted(str(world[name].id) for name in ACTIVE)
    for name in ACTIVE:
        application = world[name]
        grant = grants[str(application.id)]
        assert grant["currency"] == "EUR"
        assert grant["amountAwarded"] * 100 == application.award.committed_cents
        assert grant["fundingOrganization"] == [
            {"id": "IT-CF-01199250158", "name": "Comune di Milano"}
        ]
        assert grant["id"].startswith(app.config["TRANSPARENCY_360_PREFIX"] + "-")
    # An organisation by its codice fiscale; the natural person by our own identifier.
    closed = grants[str(world["closed"].id)]["recipientOrganization"][0]
    assert closed["id"] == f"IT-CF-{world['closed'].organisation.tax_code}"
    person = grants[str(world["active_funded"].id)]["recipientOrganization"][0]
    assert PERSON_TAX_CODE not in json.dumps(package)
    assert not person["id"].startswith("IT-CF-")


def test_the_validator_would_catch_a_broken_package(app, client):
    """The check above is not vacuous: a grant without its funder, or with the amount as
    text, is refused by the standard's rules."""
    edition, _, _ = allocated_world()
    package = client.get(f"/api/v1/editions/{edition.code}/360giving.json").get_json()
    validator = giving_validator()
    del package["grants"][0]["fundingOrganization"]
    package["grants"][1]["amountAwarded"] = "200.00"
    package["grants"][2]["awardDate"] = "28/11/2026"
    paths = {tuple(e.path)[:2] for e in validator.iter_errors(package)}
    assert {("grants", 0), ("grants", 1), ("grants", 2)} <= paths


def test_cells_that_would_be_formulas_are_neutralised(app, client):
    edition, _, world = allocated_world()
    raw = client.get(f"/api/v1/editions/{edition.code}/transparency.csv").get_data(as_text=True)
    rows = {row["protocollo"]: row for row in csv.DictReader(io.StringIO(raw))}
    row = rows[world["reported"].protocol]
    assert row["beneficiario"] == "'" + FORMULA_NAME
    assert row["progetto"].startswith("'+SUM")
    for row in rows.values():
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@")), value
    # The JSON is data, not a spreadsheet: the name as it is.
    body = client.get(f"/api/v1/editions/{edition.code}/transparency.json").get_json()
    assert FORMULA_NAME in [g["beneficiario"] for g in body["grants"]]


def test_a_natural_persons_tax_code_is_never_published(app, client):
    edition, _, world = allocated_world()
    person = world["active_funded"]
    rows = {row["protocollo"]: row for row in csv_rows(client, edition.code)}
    assert rows[person.protocol]["codice_fiscale"] == ""
    assert rows[world["closed"].protocol]["codice_fiscale"] == world["closed"].organisation.tax_code
    for url in (
        f"/api/v1/editions/{edition.code}/transparency.csv",
        f"/api/v1/editions/{edition.code}/transparency.json",
        f"/api/v1/editions/{edition.code}/360giving.json",
        f"/contributi-concessi/{edition.code}",
        f"/contributi-concessi/{edition.code}/progetti/{person.id}",
    ):
        assert PERSON_TAX_CODE not in client.get(url).get_data(as_text=True), url
    body = client.get(f"/api/v1/editions/{edition.code}/transparency.json").get_json()
    by_protocol = {g["protocollo"]: g for g in body["grants"]}
    assert by_protocol[person.protocol]["codice_fiscale"] is None


def test_unknown_edition_is_404_json_and_an_empty_call_has_no_package(app, client):
    for tail in ("transparency.csv", "transparency.json", "360giving.json"):
        response = client.get(f"/api/v1/editions/nessuno/{tail}")
        assert response.status_code == 404 and response.get_json()["error"]
    edition, _, _ = ranked_world([100])  # ranked, nothing allocated yet
    assert csv_rows(client, edition.code) == []
    body = client.get(f"/api/v1/editions/{edition.code}/transparency.json").get_json()
    assert body["count"] == 0 and body["total"] == "0.00" and body["grants"] == []
    # A 360Giving package holds at least one grant: none yet is a 404, not an invalid file.
    assert client.get(f"/api/v1/editions/{edition.code}/360giving.json").status_code == 404


def test_the_exports_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for tail in ("transparency.csv", "transparency.json", "360giving.json"):
        operation = paths[f"/editions/{{code}}/{tail}"]["get"]
        assert operation["security"] == []  # public
