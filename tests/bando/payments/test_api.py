"""Payments through the API: what is due, the withholding or its exemption, a retried
request recorded once, the register (JSON and CSV, with cells neutralised), refusals."""

import csv
import io
from datetime import datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from bando.budget.figures import figures
from bando.budget.models import Payment
from bando.core.extensions import db
from bando.core.models import AuditEvent
from bando.core.timeutil import to_rome, utcnow
from tests.evaluation_factories import token
from tests.factories import create_user
from tests.finance_factories import funded_world


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def post(client, application, user, body, key=None):
    headers = token(client, user)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(
        f"/api/v1/applications/{application.id}/payments", json=body, headers=headers
    )


def test_the_advance_is_due_on_acceptance_with_the_withholding(app, client):
    application, owner, finance, _ = funded_world(10_000, accept=False)
    url = f"/api/v1/applications/{application.id}/payments"
    assert client.get(url, headers=token(client, finance)).get_json()["due"] == []
    refused = post(client, application, finance, {"kind": "advance"})
    assert refused.status_code == 409 and refused.get_json()["code"] == "payment_not_due"
    client.post(f"/api/v1/applications/{application.id}/accept", headers=token(client, owner))
    due = client.get(url, headers=token(client, owner)).get_json()["due"]
    assert due == [
        {"kind": "advance", "amount": "5000.00", "withholding": "200.00", "net": "4800.00"}
    ]
    paid = post(client, application, finance, {"kind": "advance", "reference": "Mandato 123"})
    assert paid.status_code == 201
    assert paid.get_json()["net"] == "4800.00"
    assert figures(application.edition)["paid"] == 5_000_00
    # Recorded once: a second advance is refused.
    assert post(client, application, finance, {"kind": "advance"}).status_code == 409
    assert count(Payment) == 1
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.trigger == "pay_advance"))
    assert event.payload["amount_cents"] == 5_000_00 and event.actor_id == finance.id


def test_an_exempt_organisation_has_no_withholding(app, client):
    application, _, finance, _ = funded_world(10_000, exempt=True)
    paid = post(client, application, finance, {"kind": "advance"})
    assert paid.status_code == 201
    assert (paid.get_json()["withholding"], paid.get_json()["net"]) == ("0.00", "5000.00")


def test_a_retried_request_with_its_key_records_nothing_new(app, client):
    application, _, finance, _ = funded_world(10_000)
    first = post(client, application, finance, {"kind": "advance"}, key="mandato-2020-001")
    assert first.status_code == 201
    events = count(AuditEvent)
    again = post(client, application, finance, {"kind": "advance"}, key="mandato-2020-001")
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert first.get_json()["idempotency_key"] == "mandato-2020-001"
    assert count(Payment) == 1 and count(AuditEvent) == events
    # The same key for another kind is a client's mistake, said so.
    other = post(client, application, finance, {"kind": "balance"}, key="mandato-2020-001")
    assert other.status_code == 422 and "Idempotency-Key" in other.get_json()["errors"]
    bad = post(client, application, finance, {"kind": "advance"}, key="con spazi e à")
    assert bad.status_code == 400 and "Idempotency-Key" in bad.get_json()["errors"]
    # So is the same key with another reference: it would be dropped without a word.
    changed = post(
        client, application, finance, {"kind": "advance", "reference": "altro"}, "mandato-2020-001"
    )
    assert changed.status_code == 422 and "Idempotency-Key" in changed.get_json()["errors"]
    # Keys belong to who sent them: another officer's "mandato-2020-001" is a new request,
    # refused here because the advance is paid, not the first officer's payment replayed.
    colleague = create_user("finance")
    db.session.commit()
    theirs = post(client, application, colleague, {"kind": "advance"}, key="mandato-2020-001")
    assert theirs.status_code == 409 and theirs.get_json()["code"] == "payment_not_due"
    assert count(Payment) == 1


def test_only_finance_pays_and_bad_input_changes_nothing(app, client):
    application, owner, finance, officer = funded_world(10_000)
    assert post(client, application, owner, {"kind": "advance"}).status_code == 403
    assert post(client, application, officer, {"kind": "advance"}).status_code == 403
    for body in ({"kind": "regalo"}, {"kind": "advance", "amount": "1.00"}, {}, {"kind": 1}):
        response = post(client, application, finance, body)
        assert response.status_code == 422, body
        assert response.is_json
    missing = client.post(
        "/api/v1/applications/999999/payments",
        json={"kind": "advance"},
        headers=token(client, finance),
    )
    assert missing.status_code == 404
    assert count(Payment) == 0


def test_the_register_of_the_call_as_json_and_csv(app, client):
    application, _, finance, _ = funded_world(10_000)
    application.organisation.name = '=HYPERLINK("http://x")'
    db.session.commit()
    post(client, application, finance, {"kind": "advance", "reference": "@SUM(A1)"})
    code = application.edition.code
    register = client.get(f"/api/v1/editions/{code}/payments", headers=token(client, finance))
    assert register.status_code == 200
    body = register.get_json()
    assert (body["paid"], body["withholding"]) == ("5000.00", "200.00")
    assert [p["kind"] for p in body["payments"]] == ["advance"]
    exported = client.get(f"/api/v1/editions/{code}/payments.csv", headers=token(client, finance))
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert rows[0][0] == "data" and len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["beneficiario"] == '\'=HYPERLINK("http://x")'
    assert row["riferimento"] == "'@SUM(A1)"
    assert (row["importo_lordo"], row["ritenuta"], row["importo_netto"]) == (
        "5000.00",
        "200.00",
        "4800.00",
    )
    sheet = xlsx_rows(client, code, finance)
    assert sheet[0][0] == "data" and len(sheet) == 3
    paid_on = sheet[1][0]
    assert isinstance(paid_on, datetime) and paid_on.date() == to_rome(utcnow()).date()
    assert sheet[1][2] == '=HYPERLINK("http://x")'  # text, not a formula
    assert sheet[1][5:8] == (Decimal("5000"), Decimal("200"), Decimal("4800"))
    assert sheet[2][5:8] == (Decimal("5000"), Decimal("200"), Decimal("4800"))  # the totals
    assert body["net"] == "4800.00"
    applicant = create_user("applicant")
    db.session.commit()
    for tail in ("", ".csv", ".xlsx"):
        url = f"/api/v1/editions/{code}/payments{tail}"
        assert client.get(url, headers=token(client, applicant)).status_code == 403


def xlsx_rows(client, code, finance) -> list[tuple]:
    """The register's XLSX read back with openpyxl: rows of values (amounts as Decimal)."""
    exported = client.get(f"/api/v1/editions/{code}/payments.xlsx", headers=token(client, finance))
    assert exported.status_code == 200 and exported.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(exported.data)).active
    assert sheet.title == "Pagamenti" and sheet["A2"].number_format == "DD/MM/YYYY"
    assert sheet["F2"].number_format == "#,##0.00"
    assert sheet["B1"].font.bold and sheet.freeze_panes == "A2"
    return [
        tuple(Decimal(str(v)) if isinstance(v, float | int) else v for v in row)
        for row in sheet.iter_rows(values_only=True)
    ]


@pytest.mark.parametrize("ended_by", ["revoke", "renounce"])
def test_a_grant_ended_gives_back_what_was_paid(app, client, ended_by):
    # Revoked by the officer, or renounced by the organisation after its advance.
    application, owner, finance, officer = funded_world(10_000)
    assert post(client, application, finance, {"kind": "advance"}).status_code == 201
    ended = client.post(
        f"/api/v1/applications/{application.id}/{ended_by}",
        json={"reason": "Progetto non avviato"},
        headers=token(client, officer if ended_by == "revoke" else owner),
    )
    assert ended.status_code == 200, ended.get_json()
    url = f"/api/v1/applications/{application.id}/payments"
    due = client.get(url, headers=token(client, finance)).get_json()["due"]
    assert due == [
        {"kind": "recovery", "amount": "5000.00", "withholding": "0.00", "net": "5000.00"}
    ]
    # What was paid counts in the budget until it comes back.
    assert figures(application.edition)["committed"] == 5_000_00
    assert post(client, application, finance, {"kind": "recovery"}).status_code == 201
    money = figures(application.edition)
    assert (money["committed"], money["paid"]) == (0, 0)
    # In the register the recovery is negative: its column adds up to what was paid.
    exported = client.get(
        f"/api/v1/editions/{application.edition.code}/payments.csv",
        headers=token(client, finance),
    )
    rows = list(csv.DictReader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert [row["importo_lordo"] for row in rows] == ["5000.00", "-5000.00"]
    assert rows[1]["importo_netto"] == "-5000.00"
    # The spreadsheet: real amounts and dates, and the totals: nothing paid in the end;
    # the organisation gave back the whole advance, of which it had received 4 800 (the
    # 200 withheld went to the tax office on its behalf).
    sheet = xlsx_rows(client, application.edition.code, finance)
    assert [row[5] for row in sheet[1:]] == [Decimal("5000.00"), Decimal("-5000.00"), 0]
    assert sheet[-1][:1] == ("Totale",) and sheet[-1][7] == Decimal("-200")
    body = client.get(
        f"/api/v1/editions/{application.edition.code}/payments", headers=token(client, finance)
    ).get_json()
    assert (body["paid"], body["net"]) == ("0.00", "-200.00")
    assert client.get(url, headers=token(client, finance)).get_json()["due"] == []
