"""The final report through the API: filing with receipts, finance's review, approval with
the final contribution in the five cases of the call's rule, and the refusals."""

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bando.applications.models import Application
from bando.budget.figures import figures
from bando.budget.models import Award
from bando.core import audit
from bando.core.extensions import db
from bando.core.tick import tick
from bando.reports.models import Expense, Report
from bando.reports.operations import report_due_at
from scoring.balance import final_balance
from tests.evaluation_factories import token
from tests.factories import create_user
from tests.finance_factories import PDF, funded_world, report_body

PLANNED = 12_000_00  # the proposal's budget lines (tests/lifecycle_factories.py)


def file(client, application, owner, *amounts, receipts=True):
    headers = token(client, owner)
    response = client.post(
        f"/api/v1/applications/{application.id}/report",
        json=report_body(*amounts),
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    if receipts:
        for expense in body["expenses"]:
            uploaded = client.post(
                f"/api/v1/applications/{application.id}/report/expenses/{expense['id']}/receipt",
                data={"file": (io.BytesIO(PDF), "fattura.pdf")},
                content_type="multipart/form-data",
                headers=headers,
            )
            assert uploaded.status_code == 200, uploaded.get_json()
            assert uploaded.get_json()["receipt"] is True
    return body


def pay(client, application, finance, kind, key=None):
    headers = token(client, finance)
    if key:
        headers["Idempotency-Key"] = key
    return client.post(
        f"/api/v1/applications/{application.id}/payments", json={"kind": kind}, headers=headers
    )


def review_all(client, application, finance, rejected=()):
    headers = token(client, finance)
    report = client.get(f"/api/v1/applications/{application.id}/report", headers=headers)
    for i, expense in enumerate(report.get_json()["expenses"]):
        body = (
            {"decision": "reject", "reason": "Fattura intestata ad altro ente"}
            if i in rejected
            else {"decision": "accept"}
        )
        reviewed = client.post(
            f"/api/v1/applications/{application.id}/report/expenses/{expense['id']}/review",
            json=body,
            headers=headers,
        )
        assert reviewed.status_code == 200, reviewed.get_json()


def approve(client, application, finance):
    response = client.post(
        f"/api/v1/applications/{application.id}/report/approve", headers=token(client, finance)
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def cents(text):
    return round(float(text) * 100) if text is not None else None


@pytest.mark.parametrize(
    ("case", "amounts", "rejected", "advance_paid"),
    [
        ("full spend", (9_000, 3_000), (), True),
        ("under-spend", (6_000, 3_000), (), True),
        ("over-spend, capped at the award", (11_000, 4_000), (), True),
        ("advance above the final contribution: recovery", (2_000, 1_000), (), True),
        ("an expense rejected", (9_000, 3_000), (1,), True),
        ("no advance paid: the whole final contribution is the balance", (6_000,), (), False),
    ],
)
def test_the_final_balance(app, client, case, amounts, rejected, advance_paid):
    application, owner, finance, _ = funded_world(10_000)
    if advance_paid:
        paid = pay(client, application, finance, "advance")
        assert paid.status_code == 201, paid.get_json()
        assert paid.get_json()["amount"] == "5000.00"  # 50 % of € 10.000,00
        assert paid.get_json()["withholding"] == "200.00"  # 4 %
    file(client, application, owner, *amounts)
    review_all(client, application, finance, rejected)
    body = approve(client, application, finance)
    accepted = sum(a for i, a in enumerate(amounts) if i not in rejected) * 100
    expected = final_balance(10_000_00, PLANNED, accepted, 5_000_00 if advance_paid else 0)
    assert cents(body["accepted"]) == accepted
    assert cents(body["final_contribution"]) == expected.final_contribution_cents, case
    assert cents(body["final_contribution"]) <= 10_000_00
    assert cents(body["balance"]) == expected.balance_cents
    assert cents(body["recovery"]) == expected.recovery_cents
    assert body["state"] == "closed"
    db.session.expire_all()
    award = db.session.scalar(select(Award).where(Award.application_id == application.id))
    assert award.final_amount_cents == expected.final_contribution_cents
    # The budget counts the final contribution now, and what was paid.
    money = figures(application.edition)
    assert money["committed"] == expected.final_contribution_cents
    assert money["paid"] == (5_000_00 if advance_paid else 0)
    # What is due next: the balance, or the recovery.
    dues = client.get(
        f"/api/v1/applications/{application.id}/payments", headers=token(client, finance)
    ).get_json()["due"]
    if expected.balance_cents:
        assert [(d["kind"], cents(d["amount"])) for d in dues] == [
            ("balance", expected.balance_cents)
        ]
        assert cents(dues[0]["withholding"]) == round(expected.balance_cents * 4 / 100)
    else:
        assert [(d["kind"], cents(d["amount"])) for d in dues] == [
            ("recovery", expected.recovery_cents)
        ]
        assert dues[0]["withholding"] == "0.00"
    kind = dues[0]["kind"]
    assert pay(client, application, finance, kind).status_code == 201
    money = figures(application.edition)
    assert money["paid"] == expected.final_contribution_cents
    assert audit.verify() is None


def test_the_figures_of_the_five_cases(app):
    """The cases as the call's default rule gives them (award 10 000, planned 12 000,
    advance 5 000), written out once."""
    cases = {
        "full spend": (12_000, 10_000, 5_000, 0),
        "under-spend": (9_000, 7_500, 2_500, 0),
        "over-spend": (15_000, 10_000, 5_000, 0),
        "recovery": (3_000, 2_500, 0, 2_500),
        "rejected 3 000": (9_000, 7_500, 2_500, 0),
    }
    for name, (accepted, final, balance, recovery) in cases.items():
        result = final_balance(10_000_00, PLANNED, accepted * 100, 5_000_00)
        assert (
            result.final_contribution_cents,
            result.balance_cents,
            result.recovery_cents,
        ) == (final * 100, balance * 100, recovery * 100), name


def test_the_call_may_pay_the_whole_award_once_spent(app, client):
    application, owner, finance, _ = funded_world(10_000)
    edition = application.edition
    edition.source = {"rules": {"final_contribution": "full_if_spent"}}
    db.session.commit()
    file(client, application, owner, 10_000)
    review_all(client, application, finance)
    body = approve(client, application, finance)
    assert body["rule"] == "full_if_spent"
    assert body["final_contribution"] == "10000.00"


def test_only_the_owner_files_and_nobody_else_sees_it(app, client):
    application, owner, finance, officer = funded_world(10_000)
    stranger = create_user("applicant")
    db.session.commit()
    body = report_body(1_000)
    refused = client.post(
        f"/api/v1/applications/{application.id}/report", json=body, headers=token(client, stranger)
    )
    assert refused.status_code == 404
    file(client, application, owner, 1_000, receipts=False)
    for user, status in ((stranger, 404), (owner, 200), (finance, 200), (officer, 200)):
        seen = client.get(
            f"/api/v1/applications/{application.id}/report", headers=token(client, user)
        )
        assert seen.status_code == status, user.role
    # The stranger cannot read the payments either.
    assert (
        client.get(
            f"/api/v1/applications/{application.id}/payments", headers=token(client, stranger)
        ).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b["expenses"][0].update(amount="-5.00"), "expenses.0.amount"),
        (lambda b: b["expenses"][0].update(amount=100), "expenses.0.amount"),
        # The table refuses an expense of nothing: it was a 500.
        (lambda b: b["expenses"][0].update(amount="0.00"), "expenses.0.amount"),
        (lambda b: b["expenses"][0].update(category="viaggi"), "expenses.0.category"),
        (lambda b: b["expenses"][0].update(description="riga\nspezzata"), "expenses.0.description"),
        (lambda b: b["expenses"][0].update(document=""), "expenses.0.document"),
        (lambda b: b.update(expenses=[]), "expenses"),
        (lambda b: b.update(people_reached=-1), "people_reached"),
        (lambda b: b.update(activities=""), "activities"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(app, client, change, field):
    application, owner, _, _ = funded_world(10_000)
    body = report_body(1_000)
    change(body)
    response = client.post(
        f"/api/v1/applications/{application.id}/report", json=body, headers=token(client, owner)
    )
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    db.session.expire_all()
    assert db.session.get(Application, application.id).state == "funded"
    assert db.session.scalar(select(func.count()).select_from(Report)) == 0


def test_a_receipt_must_be_a_pdf_and_the_review_needs_it(app, client):
    application, owner, finance, _ = funded_world(10_000)
    body = file(client, application, owner, 1_000, receipts=False)
    expense_id = body["expenses"][0]["id"]
    url = f"/api/v1/applications/{application.id}/report/expenses/{expense_id}"
    bad = client.post(
        f"{url}/receipt",
        data={"file": (io.BytesIO(b"MZ\x90\x00 not a pdf"), "fattura.pdf")},
        content_type="multipart/form-data",
        headers=token(client, owner),
    )
    assert bad.status_code == 422 and "file" in bad.get_json()["errors"]
    headers = token(client, finance)
    accept = client.post(f"{url}/review", json={"decision": "accept"}, headers=headers)
    assert accept.status_code == 409
    reject = client.post(f"{url}/review", json={"decision": "reject"}, headers=headers)
    assert reject.status_code == 422 and "reason" in reject.get_json()["errors"]
    # Approval waits for every expense to be reviewed.
    early = client.post(f"/api/v1/applications/{application.id}/report/approve", headers=headers)
    assert early.status_code == 409
    assert db.session.get(Expense, expense_id).state == "pending"
    # The organisation cannot review; finance downloads the receipt once uploaded.
    assert (
        client.post(
            f"{url}/review", json={"decision": "accept"}, headers=token(client, owner)
        ).status_code
        == 403
    )
    client.post(
        f"{url}/receipt",
        data={"file": (io.BytesIO(PDF), "fattura.pdf")},
        content_type="multipart/form-data",
        headers=token(client, owner),
    )
    download = client.get(f"{url}/receipt", headers=headers)
    assert download.status_code == 200 and download.data == PDF


def test_a_report_needs_the_award_accepted_and_is_filed_once(app, client):
    application, owner, _, _ = funded_world(10_000, accept=False)
    headers = token(client, owner)
    url = f"/api/v1/applications/{application.id}/report"
    first = client.post(url, json=report_body(1_000), headers=headers)
    assert first.status_code == 409 and first.get_json()["code"] == "award_not_accepted"
    client.post(f"/api/v1/applications/{application.id}/accept", headers=headers)
    assert client.post(url, json=report_body(1_000), headers=headers).status_code == 201
    again = client.post(url, json=report_body(1_000), headers=headers)
    assert again.status_code == 409


def test_the_api_lists_the_reports_overdue_as_the_officer_page_does(app, client):
    application, owner, finance, officer = funded_world(10_000)
    url = f"/api/v1/editions/{application.edition.code}/reports/overdue"
    headers = token(client, officer)
    assert client.get(url, headers=headers).get_json()["overdue"] == []
    # The project ended long ago: the report's days (60 by default) have passed.
    application.start_date = application.edition.project_starts_on - timedelta(days=500)
    application.end_date = application.edition.project_starts_on - timedelta(days=400)
    db.session.commit()
    listed = client.get(url, headers=headers)
    assert listed.status_code == 200, listed.get_json()
    (row,) = listed.get_json()["overdue"]
    assert (row["application_id"], row["protocol"]) == (application.id, application.protocol)
    assert row["organisation"] == application.organisation.name
    assert row["due_at"].endswith(("+01:00", "+02:00"))
    assert client.get(url, headers=token(client, finance)).get_json()["overdue"] == [row]
    assert client.get(url, headers=token(client, owner)).status_code == 403
    assert client.get(url).status_code == 401
    missing = "/api/v1/editions/nessuno/reports/overdue"
    assert client.get(missing, headers=headers).status_code == 404
    # Filed, even late, it is no longer listed.
    file(client, application, owner, 1_000, receipts=False)
    assert client.get(url, headers=headers).get_json()["overdue"] == []


def test_the_tick_lists_reports_overdue(app, client):
    application, owner, _, officer = funded_world(10_000)
    due = report_due_at(application)
    assert not any("overdue" in line for line in tick(now=due))
    late = tick(now=due + timedelta(seconds=1))
    lines = [line for line in late if "overdue" in line]
    assert lines and application.protocol in lines[0]
    assert f"/istruttoria/domande/{application.id}/revoca" in lines[0]
    # Filed, it is no longer listed.
    file(client, application, owner, 1_000, receipts=False)
    assert not any("overdue" in line for line in tick(now=due + timedelta(days=1)))
