"""The report's pages: the organisation's form (rows, a row more, receipts), its messages
in Italian with nothing written, the report read back; finance's review of each expense
and the approval after the confirmation with the final contribution."""

import html as html_module
import io
from datetime import timedelta

from sqlalchemy import func, select

from bando.applications.models import Application
from bando.core.extensions import db
from bando.reports.models import Expense, Report
from tests.factories import PASSWORD, create_user
from tests.finance_factories import PDF, funded_world


def login(client, user):
    client.post("/esci")
    response = client.post("/accedi", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302


def text(response) -> str:
    return html_module.unescape(response.get_data(as_text=True))


def form(**rows):
    data = {
        "activities": "Laboratori con le famiglie del quartiere.",
        "people_reached": "40",
        "send": "1",
    }
    for index, (category, description, amount, document) in rows.items():
        i = index.removeprefix("r")
        data.update(
            {
                f"expenses-{i}-category": category,
                f"expenses-{i}-description": description,
                f"expenses-{i}-amount": amount,
                f"expenses-{i}-document": document,
            }
        )
    return data


BLANK = ("", "", "", "")


def test_the_organisation_files_its_report_with_receipts(app, client):
    application, owner, finance, _ = funded_world(10_000)
    login(client, owner)
    view = client.get(f"/domande/{application.id}")
    assert f"/domande/{application.id}/rendicontazione" in text(view)
    page = client.get(f"/domande/{application.id}/rendicontazione")
    assert page.status_code == 200
    assert text(page).count("<tr data-expense-row>") == 3
    more = client.post(
        f"/domande/{application.id}/rendicontazione",
        data={**form(r0=BLANK, r1=BLANK, r2=BLANK), "add_row": "1", "send": ""},
    )
    assert more.status_code == 200 and text(more).count("<tr data-expense-row>") == 4
    data = form(
        r0=("personale", "Educatori", "6.000,00", "Fattura 1/2020"),
        r2=("materiali", "Sementi", "1.500", "Ricevuta 7"),
    )
    data["expenses-0-receipt"] = (io.BytesIO(PDF), "fattura-1.pdf")
    filed = client.post(
        f"/domande/{application.id}/rendicontazione",
        data=data,
        content_type="multipart/form-data",
    )
    assert filed.status_code == 302, text(filed)[:3000]
    db.session.expire_all()
    report = db.session.scalar(select(Report))
    assert db.session.get(Application, application.id).state == "reported"
    assert [(e.category, e.amount_cents, bool(e.receipt_sha256)) for e in report.expenses] == [
        ("personale", 6_000_00, True),
        ("materiali", 1_500_00, False),
    ]
    shown = text(client.get(f"/domande/{application.id}/rendicontazione"))
    assert "€ 7.500,00" in shown and "mancante" in shown
    # The missing receipt is uploaded afterwards.
    second = report.expenses[1]
    uploaded = client.post(
        f"/domande/{application.id}/rendicontazione/spese/{second.id}/giustificativo",
        data={"receipt": (io.BytesIO(PDF), "ricevuta.pdf")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302
    db.session.expire_all()
    assert db.session.get(Expense, second.id).receipt_filename == "ricevuta.pdf"
    download = client.get(
        f"/domande/{application.id}/rendicontazione/spese/{second.id}/giustificativo"
    )
    assert download.status_code == 200 and download.data == PDF


def test_bad_rows_are_refused_in_italian_and_nothing_is_written(app, client):
    application, owner, _, _ = funded_world(10_000)
    login(client, owner)
    data = form(
        r0=("personale", "Educatori", "-5", "Fattura 1"),
        r1=("materiali", "", "100,00", ""),
        r2=("materiali", "Nulla", "0", "Fattura 2"),
    )
    data["people_reached"] = "molte"
    refused = client.post(f"/domande/{application.id}/rendicontazione", data=data)
    assert refused.status_code == 422
    page = text(refused)
    assert "l'importo non può essere negativo" in page
    assert "l'importo deve essere maggiore di zero" in page
    assert "non può essere vuoto" in page
    assert "Scrivere un numero intero" in page
    # What was typed stays in the form.
    assert 'value="Educatori"' in page
    bad_pdf = form(r0=("personale", "Educatori", "100", "Fattura 1"))
    bad_pdf["expenses-0-receipt"] = (io.BytesIO(b"MZ not a pdf"), "virus.pdf")
    refused = client.post(
        f"/domande/{application.id}/rendicontazione",
        data=bad_pdf,
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and "PDF" in text(refused)
    db.session.expire_all()
    assert db.session.get(Application, application.id).state == "funded"
    assert db.session.scalar(select(func.count()).select_from(Report)) == 0


def test_someone_else_gets_404(app, client):
    application, _, finance, _ = funded_world(10_000)
    stranger = create_user("applicant")
    db.session.commit()
    login(client, stranger)
    assert client.get(f"/domande/{application.id}/rendicontazione").status_code == 404
    login(client, finance)
    # No report yet: nothing to review.
    assert client.get(f"/contabilita/domande/{application.id}/rendicontazione").status_code == 404


def test_finance_reviews_each_expense_and_approves_with_the_figures(app, client):
    application, owner, finance, _ = funded_world(10_000)
    login(client, owner)
    data = form(
        r0=("personale", "Educatori", "6.000,00", "Fattura 1"),
        r1=("materiali", "Sementi", "3.000,00", "Fattura 2"),
    )
    data["expenses-0-receipt"] = (io.BytesIO(PDF), "f1.pdf")
    data["expenses-1-receipt"] = (io.BytesIO(PDF), "f2.pdf")
    client.post(
        f"/domande/{application.id}/rendicontazione",
        data=data,
        content_type="multipart/form-data",
    )
    first, second = db.session.scalar(select(Report)).expenses
    login(client, finance)
    url = f"/contabilita/domande/{application.id}/rendicontazione"
    page = client.get(url)
    assert page.status_code == 200 and "Sementi" in text(page)
    # A rejection without its reason is refused, on the page, in Italian.
    no_reason = client.post(f"{url}/spese/{second.id}", data={"decision": "reject"})
    assert no_reason.status_code == 422
    assert "indicare il motivo" in text(no_reason)
    assert db.session.get(Expense, second.id).state == "pending"
    # A control character in the reason is refused the same way.
    control = client.post(
        f"{url}/spese/{second.id}", data={"decision": "reject", "reason": "a\x00b"}
    )
    assert control.status_code == 422 and "U+0000" in text(control)
    assert db.session.get(Expense, second.id).state == "pending"
    # Approval waits for every expense.
    blocked = client.get(f"{url}/approva")
    assert "restano 2 spese da esaminare" in text(blocked)
    assert client.post(f"{url}/spese/{first.id}", data={"decision": "accept"}).status_code == 302
    rejected = client.post(
        f"{url}/spese/{second.id}",
        data={"decision": "reject", "reason": "Fattura intestata ad altro ente"},
    )
    assert rejected.status_code == 302
    confirm = text(client.get(f"{url}/approva"))
    # Accepted 6 000 of 12 000 planned: 10 000 × 6/12 = 5 000, nothing paid yet.
    assert "Contributo finale: € 5.000,00" in confirm
    assert "Saldo da pagare: € 5.000,00" in confirm
    assert db.session.get(Application, application.id).state == "reported"
    done = client.post(f"{url}/approva", data={"confirm": "1"})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Application, application.id).state == "closed"
    assert db.session.scalar(select(Report)).final_contribution_cents == 5_000_00
    client.post(f"/contabilita/domande/{application.id}/pagamenti/balance", data={"key": "k1"})
    login(client, owner)
    shown = text(client.get(f"/domande/{application.id}/rendicontazione"))
    assert "Saldo: € 5.000,00 (ritenuta € 200,00, netto € 4.800,00)" in shown
    assert "Contributo finale: € 5.000,00" in shown
    assert "Fattura intestata ad altro ente" in shown


def test_the_officer_sees_the_reports_overdue_with_the_way_to_revoke(app, client):
    application, _, _, officer = funded_world(10_000)
    url = f"/istruttoria/bandi/{application.edition.code}/assegnazione"
    login(client, officer)
    assert "data-overdue-reports" not in text(client.get(url))
    # The project ended long ago: the report's days (60 by default) have passed.
    application.start_date = application.edition.project_starts_on - timedelta(days=500)
    application.end_date = application.edition.project_starts_on - timedelta(days=400)
    db.session.commit()
    page = text(client.get(url))
    assert "data-overdue-reports" in page
    assert f"/istruttoria/domande/{application.id}/revoca" in page


def test_a_number_of_people_that_is_no_number_is_refused(app, client):
    application, owner, _, _ = funded_world(10_000)
    login(client, owner)
    for people in ("²", "9" * 5000, "-3"):
        data = {
            **form(r0=("personale", "Educatori", "6.000,00", "Fattura 1")),
            "people_reached": people,
        }
        response = client.post(f"/domande/{application.id}/rendicontazione", data=data)
        assert response.status_code == 422, people
        assert "Scrivere un numero intero" in text(response)
    assert db.session.scalar(select(func.count(Report.id))) == 0


def test_a_receipt_after_a_gap_in_the_rows_is_kept(app, client):
    application, owner, _, _ = funded_world(10_000)
    login(client, owner)
    data = form(
        r0=("personale", "Educatori", "6.000,00", "Fattura 1"),
        r2=("materiali", "Sementi", "1.500", "Ricevuta 7"),
    )
    data["expenses-2-receipt"] = (io.BytesIO(PDF), "ricevuta-7.pdf")
    filed = client.post(
        f"/domande/{application.id}/rendicontazione",
        data=data,
        content_type="multipart/form-data",
    )
    assert filed.status_code == 302
    db.session.expire_all()
    expenses = db.session.scalar(select(Report)).expenses
    assert [(e.document, e.receipt_filename) for e in expenses] == [
        ("Fattura 1", ""),
        ("Ricevuta 7", "ricevuta-7.pdf"),
    ]
