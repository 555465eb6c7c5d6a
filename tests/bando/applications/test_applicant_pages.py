"""The applicant's pages, without JavaScript: register, write, attach, submit, receipt."""

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from bando.accounts.models import Organisation, User
from bando.applications.models import Application
from bando.core.extensions import db
from bando.core.timeutil import to_rome
from tests.bando.applications.data import pdf_bytes, token_for
from tests.factories import PASSWORD, create_edition, create_user, entity_tax_code


@pytest.fixture
def edition(app):
    edition = create_edition("cdq-pagine")
    db.session.commit()
    return edition


def sign_in(client, email, password=PASSWORD):
    client.post("/esci")
    response = client.post("/accedi", data={"email": email, "password": password})
    assert response.status_code == 302


def registration_form(n=41, **fields):
    return {
        "name": "Associazione Gratosoglio Insieme",
        "tax_code": entity_tax_code(n),
        "vat_number": "",
        "legal_form": "odv",
        "pec": "gratosoglio@pec.example.it",
        "address": "via Saponaro 10, 20142 Milano",
        "legal_representative": "Anna Verdi",
        "runts_number": "",
        "withholding_reason": "",
        "full_name": "Anna Verdi",
        "email": "anna@example.it",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        **fields,
    }


def proposal_form(edition, **fields):
    hood = edition.neighbourhoods[0]
    data = {
        "neighbourhood": hood.slug,
        "guidelines": [hood.guidelines[0].code],
        "title": "Merende in cortile",
        "summary": "Pomeriggi per bambini e anziani nei cortili.",
        "description": "",
        "objectives": "",
        "places": "",
        "timeline": "",
        "start_date": edition.project_starts_on.isoformat(),
        "end_date": edition.project_ends_on.isoformat(),
        "budget-0-category": "personale",
        "budget-0-description": "Animatori",
        "budget-0-amount": "10.000,00",
        "budget-1-category": "materiali",
        "budget-1-description": "Giochi",
        "budget-1-amount": "2500",
        "budget-2-category": "",
        "budget-2-description": "",
        "budget-2-amount": "",
        "partners-0-name": "Parrocchia San Barnaba",
        "partners-0-tax_code": "",
        "partners-0-role": "spazi",
        "requested_amount": "10000",
        "cofinancing_amount": "",  # computed: € 2.500,00
        "save": "Salva bozza",
        **fields,
    }
    return data


def test_register_write_attach_submit_and_download_the_receipt(client, edition):
    page = client.get("/registrazione")
    assert page.status_code == 200
    assert "Registra il tuo ente" in page.text
    response = client.post("/registrazione", data=registration_form())
    assert response.status_code == 302, response.text
    org = db.session.scalar(select(Organisation))
    assert org.legal_form == "odv" and org.users[0].email == "anna@example.it"

    dashboard = client.get("/domande")
    assert dashboard.status_code == 200
    assert "Nessuna domanda" in dashboard.text

    response = client.post("/domande/nuova", data={"edition": edition.code})
    assert response.status_code == 302
    application = db.session.scalar(select(Application))
    url = f"/domande/{application.id}"
    form = client.get(url)
    assert form.status_code == 200
    assert 'name="budget-2-amount"' in form.text  # blank rows to fill, no script needed

    response = client.post(url, data=proposal_form(edition))
    assert response.status_code == 302, response.text
    db.session.refresh(application)
    assert application.requested_cents == 10_000_00
    assert application.cofinancing_cents == 2_500_00
    assert [line.amount_cents for line in application.budget_lines] == [10_000_00, 2_500_00]
    assert application.partners[0].name == "Parrocchia San Barnaba"

    # "Aggiungi riga" offers one more blank row without losing what was typed.
    response = client.post(url, data={**proposal_form(edition), "add_budget_row": "1"})
    assert 'name="budget-3-amount"' in response.text
    assert "Merende in cortile" in response.text

    for kind in edition.required_attachments:
        response = client.post(
            f"{url}/allegati",
            data={"kind": kind, "file": (io.BytesIO(pdf_bytes(kind)), f"{kind}.pdf")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 302
    confirm = client.get(f"{url}/invia")
    assert "La domanda è completa" in confirm.text
    response = client.post(f"{url}/invia", data={"confirm": "1"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{url}/ricevuta")
    db.session.refresh(application)
    assert application.state == "submitted"

    receipt = client.get(f"{url}/ricevuta")
    assert application.protocol in receipt.text
    assert "€ 12.500,00" in receipt.text
    pdf = client.get(f"{url}/ricevuta.pdf")
    assert pdf.mimetype == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert application.protocol in text
    assert "€ 10.000,00" in text and "€ 2.500,00" in text and "€ 12.500,00" in text

    # The dashboard tells the state in plain Italian; the form is now read-only.
    dashboard = client.get("/domande")
    assert "Presentata" in dashboard.text
    assert application.protocol in dashboard.text
    assert 'data-trigger="submit"' in dashboard.text  # the timeline of events
    view = client.get(url)
    assert 'name="budget-0-amount"' not in view.text


def test_a_refused_save_shows_the_message_next_to_the_field(client, edition):
    client.post("/registrazione", data=registration_form())
    client.post("/domande/nuova", data={"edition": edition.code})
    application = db.session.scalar(select(Application))
    response = client.post(
        f"/domande/{application.id}",
        data=proposal_form(edition, **{"requested_amount": "50000", "budget-1-amount": "-5"}),
    )
    assert response.status_code == 422
    assert re.search(r'data-error-for="budget-1-amount">[^<]*negativ', response.text)
    # Every problem at once: the unreadable amount and the rule broken by another field.
    assert re.search(r'data-error-for="requested_amount">[^<]*supera il massimo', response.text)
    assert "Bozza NON salvata" in response.text
    db.session.refresh(application)
    assert application.requested_cents == 0 and application.budget_lines == []


def test_the_budget_must_add_up_shown_by_the_budget_table(client, edition):
    client.post("/registrazione", data=registration_form())
    client.post("/domande/nuova", data={"edition": edition.code})
    application = db.session.scalar(select(Application))
    response = client.post(
        f"/domande/{application.id}",
        data=proposal_form(edition, cofinancing_amount="1000"),
    )
    assert response.status_code == 422
    assert "devono coincidere" in response.text
    db.session.refresh(application)
    assert application.title == ""


def test_answer_a_request_for_documents_and_the_deadline_is_shown(client, edition):
    from bando.applications.lifecycle import fire

    client.post("/registrazione", data=registration_form())
    client.post("/domande/nuova", data={"edition": edition.code})
    application = db.session.scalar(select(Application))
    url = f"/domande/{application.id}"
    client.post(url, data=proposal_form(edition))
    for kind in edition.required_attachments:
        client.post(
            f"{url}/allegati",
            data={"kind": kind, "file": (io.BytesIO(pdf_bytes()), "a.pdf")},
            content_type="multipart/form-data",
        )
    client.post(f"{url}/invia", data={"confirm": "1"})
    officer = create_user("officer")
    fire(application, "request_integration", officer, "Manca la firma sullo statuto")
    db.session.commit()

    dashboard = client.get("/domande")
    deadline = to_rome(application.integration_deadline).strftime("%d/%m/%Y")
    assert f"Integrazione richiesta: rispondere entro il {deadline}" in dashboard.text
    assert "Manca la firma sullo statuto" in dashboard.text

    page = client.get(f"{url}/integrazione")
    assert page.status_code == 200
    response = client.post(
        f"{url}/allegati",
        data={"kind": "statuto", "file": (io.BytesIO(pdf_bytes("firmato")), "s.pdf")},
        content_type="multipart/form-data",
    )
    assert response.headers["Location"].endswith(f"{url}/integrazione")
    response = client.post(f"{url}/integrazione", data={"reason": "allegato lo statuto firmato"})
    assert response.status_code == 302
    db.session.refresh(application)
    assert application.state == "submitted"


def test_withdraw_asks_for_confirmation(client, edition):
    client.post("/registrazione", data=registration_form())
    client.post("/domande/nuova", data={"edition": edition.code})
    application = db.session.scalar(select(Application))
    page = client.get(f"/domande/{application.id}/ritira")
    assert "Ritirare la domanda?" in page.text
    db.session.refresh(application)
    assert application.state == "draft"  # a GET changes nothing
    response = client.post(f"/domande/{application.id}/ritira", data={"confirm": "1"})
    assert response.status_code == 302
    db.session.refresh(application)
    assert application.state == "withdrawn"
    assert "Ritirata" in client.get("/domande").text


def test_another_organisations_application_is_not_found(client, edition):
    client.post("/registrazione", data=registration_form())
    client.post("/domande/nuova", data={"edition": edition.code})
    application = db.session.scalar(select(Application))
    other = create_user("applicant")
    db.session.commit()
    sign_in(client, other.email)
    for path in ("", "/invia", "/ricevuta", "/ricevuta.pdf", "/ritira", "/integrazione"):
        assert client.get(f"/domande/{application.id}{path}").status_code == 404, path
    response = client.post(f"/domande/{application.id}", data=proposal_form(edition))
    assert response.status_code == 404
    db.session.refresh(application)
    assert application.title == ""


def test_staff_and_anonymous_have_no_applicant_pages(client, edition):
    assert client.get("/domande").status_code == 302  # to the sign-in page
    officer = create_user("officer")
    db.session.commit()
    sign_in(client, officer.email)
    assert client.get("/domande").status_code == 403


def test_a_for_profit_company_is_told_why(client):
    response = client.post("/registrazione", data=registration_form(legal_form="srl"))
    assert response.status_code == 200
    assert "scopo di lucro" in response.text
    assert db.session.scalar(select(func.count(Organisation.id))) == 0
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_an_expired_request_for_documents_shows_as_ineligible(client, edition):
    from datetime import timedelta

    from bando.applications.lifecycle import fire
    from bando.core.timeutil import utcnow
    from tests.bando.applications.data import submitted_application

    client.post("/registrazione", data=registration_form())
    user = db.session.scalar(select(User).where(User.email == "anna@example.it"))
    application = submitted_application(edition, user)
    officer = create_user("officer")
    # Asked 30 days ago with 10 days to answer: the deadline has passed.
    fire(application, "request_integration", officer, "Statuto", now=utcnow() - timedelta(days=30))
    db.session.commit()
    dashboard = client.get("/domande")
    assert "Non ammissibile" in dashboard.text
    db.session.refresh(application)
    assert application.state == "ineligible"


def test_the_documents_carry_the_labels_of_the_call(client, edition):
    edition.source = {"attachment_labels": {"statuto": "Statuto registrato dell'ente"}}
    db.session.commit()
    client.post("/registrazione", data=registration_form())
    client.post("/domande/nuova", data={"edition": edition.code})
    application = db.session.scalar(select(Application))
    page = client.get(f"/domande/{application.id}")
    assert "Statuto registrato dell&#39;ente" in page.text
    assert "manca l&#39;allegato obbligatorio «Statuto registrato dell&#39;ente»" in page.text


def test_the_next_step_reads_the_deadline_in_rome(app):
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from bando.applications.pages.applicant import next_step

    # 22:59:59 UTC on 25 March 2019 is 23:59:59 in Rome: still the 25th.
    asked = SimpleNamespace(
        state="integration_requested",
        integration_deadline=datetime(2019, 3, 25, 22, 59, 59, tzinfo=UTC),
    )
    with app.test_request_context():
        assert next_step(asked) == "Integrazione richiesta: rispondere entro il 25/03/2019"


def started_draft(client, edition):
    client.post("/registrazione", data=registration_form())
    client.post("/domande/nuova", data={"edition": edition.code})
    return db.session.scalar(select(Application))


def test_buttons_are_buttons_and_no_id_is_used_twice(app, client, edition):
    application = started_draft(client, edition)
    app.config["WTF_CSRF_ENABLED"] = True  # as in production: every form renders its token
    pages = [
        app.test_client().get("/registrazione").text,
        client.get("/domande").text,
        client.get(f"/domande/{application.id}").text,
    ]
    for html in pages:
        # An <input type=submit> inside .form-group gets the kit's dark field text.
        assert 'type="submit"' in html and not re.search(r'<input[^>]*type="submit"', html)
        ids = re.findall(r'\sid="([^"]+)"', html)
        assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    # The main form, the upload form and the sign-out form each carry the token.
    assert pages[-1].count('name="csrf_token"') == 3


def test_the_dashboard_does_not_offer_a_call_already_applied_for(client, edition):
    application = started_draft(client, edition)
    dashboard = client.get("/domande").text
    assert "Inizia la domanda" not in dashboard
    assert f'<option value="{edition.code}"' not in dashboard
    assert "il vostro ente ha già la sua domanda" in dashboard
    assert f'href="/domande/{application.id}"' in dashboard
    # Asked anyway, the refusal reads in plain Italian.
    refused = client.post("/domande/nuova", data={"edition": edition.code}, follow_redirects=True)
    assert "il bando ammette una sola domanda per ente e il vostro ente ne ha già una" in (
        refused.text.replace("&#39;", "'")
    )
    assert "domanda/e" not in refused.text
    assert db.session.scalar(select(func.count(Application.id))) == 1


def test_a_call_allowing_two_applications_is_offered_until_the_second(client):
    edition = create_edition("cdq-due", max_applications_per_organisation=2)
    db.session.commit()
    started_draft(client, edition)
    assert "Inizia la domanda" in client.get("/domande").text
    client.post("/domande/nuova", data={"edition": edition.code})
    dashboard = client.get("/domande").text
    assert "Inizia la domanda" not in dashboard
    assert "il vostro ente ha già tutte le 2 domande ammesse" in dashboard
    refused = client.post("/domande/nuova", data={"edition": edition.code}, follow_redirects=True)
    assert "al massimo 2 domande per ente e il vostro ente ne ha già 2" in refused.text


def test_saved_amounts_come_back_written_the_italian_way(client, edition):
    application = started_draft(client, edition)
    url = f"/domande/{application.id}"
    fields = {"budget-0-amount": "6.000", "budget-1-amount": "6500,5", "requested_amount": "10000"}
    assert client.post(url, data=proposal_form(edition, **fields)).status_code == 302
    page = client.get(url).text
    assert 'value="6.000,00"' in page and 'value="6.500,50"' in page
    assert 'value="10.000,00"' in page and 'value="2.500,50"' in page  # co-financing
    assert "6000.00" not in page
    # Sent back as shown, nothing changes; the API keeps its own form.
    shown = {
        "budget-0-amount": "6.000,00",
        "budget-1-amount": "6.500,50",
        "requested_amount": "10.000,00",
        "cofinancing_amount": "2.500,50",
    }
    assert client.post(url, data=proposal_form(edition, **shown)).status_code == 302
    db.session.refresh(application)
    assert [line.amount_cents for line in application.budget_lines] == [6_000_00, 6_500_50]
    assert (application.requested_cents, application.cofinancing_cents) == (10_000_00, 2_500_50)
    api = client.get(
        f"/api/v1/applications/{application.id}", headers=token_for(client, "anna@example.it")
    ).get_json()
    assert (api["requested_amount"], api["budget"][0]["amount"]) == ("10000.00", "6000.00")


def test_the_upload_form_offers_the_next_missing_document(client, edition):
    application = started_draft(client, edition)
    url = f"/domande/{application.id}"
    selected = re.compile(r'<option selected value="(\w+)">|<option value="(\w+)" selected>')

    def offered():
        page = client.get(url).text
        upload = page[page.index('name="kind"') :]
        found = selected.search(upload[: upload.index("</select>")])
        return found and (found.group(1) or found.group(2))

    assert offered() == "statuto"
    for kind, following in (("statuto", "documento_identita"), ("piano_economico", None)):
        client.post(
            f"{url}/allegati",
            data={"kind": kind, "file": (io.BytesIO(pdf_bytes(kind)), f"{kind}.pdf")},
            content_type="multipart/form-data",
        )
        if following:
            assert offered() == following
    assert offered() == "documento_identita"


def test_the_receipt_says_the_protocol_once_and_the_budget_under_its_heading(client, edition):
    application = started_draft(client, edition)
    url = f"/domande/{application.id}"
    client.post(url, data=proposal_form(edition))
    for kind in edition.required_attachments:
        client.post(
            f"{url}/allegati",
            data={"kind": kind, "file": (io.BytesIO(pdf_bytes(kind)), f"{kind}.pdf")},
            content_type="multipart/form-data",
        )
    receipt = client.post(f"{url}/invia", data={"confirm": "1"}, follow_redirects=True).text
    db.session.refresh(application)
    alerts = re.findall(r'<div class="alert[^>]*>(.*?)</div>', receipt, re.S)
    assert sum(application.protocol in alert for alert in alerts) == 1
    # "Piano economico" is a heading above the table, not a caption under it.
    assert "<caption>" not in receipt
    heading = receipt.index(">Piano economico</h3>")
    assert heading < receipt.index("<table", heading)
    assert "<td>Personale</td>" in receipt and "<td>Materiali</td>" in receipt

    pdf = client.get(f"{url}/ricevuta.pdf")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert text.index("Piano economico") < text.index("Categoria") < text.index("Personale")
    assert "Materiali" in text and "\npersonale" not in text
