"""The applicant's pages, without JavaScript: register, write, attach, submit, receipt."""

import io
import re
from html import unescape

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from bando.accounts.models import Organisation, User
from bando.applications.models import Application
from bando.calls.models import Guideline
from bando.core.extensions import db
from bando.core.timeutil import to_rome
from tests.bando.accounts.helpers import confirm_address
from tests.bando.applications.data import pdf_bytes, token_for
from tests.factories import PASSWORD, create_edition, create_user, entity_tax_code
from workflows.timezone import on


@pytest.fixture
def edition(app):
    edition = create_edition("cdq-pagine")
    db.session.commit()
    return edition


def sign_in(client, email, password=PASSWORD):
    client.post("/esci")
    response = client.post("/accedi", data={"email": email, "password": password})
    assert response.status_code == 302


def register(client, **fields):
    """Registers through the page, confirms the address by the mailed link, signs in."""
    form = registration_form(**fields)
    response = client.post("/registrazione", data=form)
    assert response.status_code == 302, response.text
    confirm_address(client, form["email"])
    sign_in(client, form["email"], form["password"])


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


# The review page's send: the declarations and the privacy notice ticked.
SEND = {"confirm": "1", "declarations": "y", "privacy": "y"}


def test_register_write_attach_submit_and_download_the_receipt(client, edition):
    page = client.get("/registrazione")
    assert page.status_code == 200
    assert "Registrazione dell'ente" in page.text
    register(client)
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
    assert "Che cosa sarà inviato" in confirm.text
    response = client.post(f"{url}/invia", data=SEND)
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
    register(client)
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
    register(client)
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

    register(client)
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
    client.post(f"{url}/invia", data=SEND)
    officer = create_user("officer")
    fire(application, "request_integration", officer, "Manca la firma sullo statuto")
    db.session.commit()

    dashboard = client.get("/domande")
    deadline = on("entro il", to_rome(application.integration_deadline))
    assert f"Integrazione richiesta: rispondere {deadline}" in dashboard.text.replace("&#39;", "'")
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
    register(client)
    client.post("/domande/nuova", data={"edition": edition.code})
    application = db.session.scalar(select(Application))
    page = client.get(f"/domande/{application.id}/ritira")
    assert "Ritirare la domanda?" in page.text
    db.session.refresh(application)
    assert application.state == "draft"  # a GET changes nothing
    # A note the API would refuse (a control character, too long): said, nothing done.
    for note, message in (("ritiro\x0c", "U+000C"), ("x" * 2001, "Al massimo 2000 caratteri.")):
        refused = client.post(
            f"/domande/{application.id}/ritira", data={"confirm": "1", "reason": note}
        )
        assert refused.status_code == 422 and message in refused.text
        db.session.refresh(application)
        assert application.state == "draft"
    response = client.post(f"/domande/{application.id}/ritira", data={"confirm": "1"})
    assert response.status_code == 302
    db.session.refresh(application)
    assert application.state == "withdrawn"
    assert "Ritirata" in client.get("/domande").text
    # Withdrawn, it cannot be withdrawn again: said up front, with no button to press.
    again = client.get(f"/domande/{application.id}/ritira")
    assert "data-barred" in again.text and 'name="confirm"' not in again.text


def test_another_organisations_application_is_not_found(client, edition):
    register(client)
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
    assert response.status_code == 422
    assert "scopo di lucro" in response.text
    # Two passwords that differ do not hide the rest: every problem at once.
    form = registration_form(legal_form="srl", tax_code="123", password_confirm="altra-cosa")
    response = client.post("/registrazione", data=form)
    assert response.status_code == 422
    for message in ("Le due password non coincidono", "scopo di lucro", "11 cifre"):
        assert message in unescape(response.text), message
    assert db.session.scalar(select(func.count(Organisation.id))) == 0
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_an_expired_request_for_documents_shows_as_ineligible(client, edition):
    from datetime import timedelta

    from bando.applications.lifecycle import fire
    from bando.core.timeutil import utcnow
    from tests.bando.applications.data import submitted_application

    register(client)
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
    register(client)
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
    register(client)
    client.post("/domande/nuova", data={"edition": edition.code})
    return db.session.scalar(select(Application))


def test_fifty_budget_lines_are_the_limit_not_an_error(client, edition):
    application = started_draft(client, edition)
    url = f"/domande/{application.id}"
    lines = {}
    for i in range(50):
        lines |= {
            f"budget-{i}-category": "materiali",
            f"budget-{i}-description": f"Voce {i}",
            f"budget-{i}-amount": "250,00",
        }
    form = {**proposal_form(edition), **lines}
    # Saved, and the page shown again with all fifty: no blank row beyond the limit.
    assert client.post(url, data=form).status_code == 302
    db.session.refresh(application)
    assert len(application.budget_lines) == 50
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="budget-49-amount"' in page.text and 'name="budget-50-amount"' not in page.text
    assert 'name="add_budget_row"' not in page.text
    assert 'name="add_partner_row"' in page.text
    # A request for a 51st row says so, and keeps what was typed.
    response = client.post(url, data={**form, "title": "Merende al parco", "add_budget_row": "1"})
    assert response.status_code == 200
    assert "Al massimo 50 righe" in response.text and "Merende al parco" in response.text


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
    # The proposal's form (its documents included) and the sign-out form carry the token.
    assert pages[-1].count('name="csrf_token"') == 2


def test_the_dashboard_does_not_offer_a_call_already_applied_for(client, edition):
    application = started_draft(client, edition)
    dashboard = client.get("/domande").text.replace("&#39;", "'")
    assert "Inizia la domanda" not in dashboard
    assert f'<option value="{edition.code}"' not in dashboard
    assert "l'ente ha già la sua domanda" in dashboard
    assert f'href="/domande/{application.id}"' in dashboard
    # Asked anyway, the refusal reads in plain Italian.
    refused = client.post("/domande/nuova", data={"edition": edition.code}, follow_redirects=True)
    assert "il bando ammette una sola domanda per ente e l'ente ne ha già una" in (
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
    dashboard = client.get("/domande").text.replace("&#39;", "'")
    assert "Inizia la domanda" not in dashboard
    assert "l'ente ha già tutte le 2 domande ammesse" in dashboard
    refused = client.post("/domande/nuova", data={"edition": edition.code}, follow_redirects=True)
    assert "al massimo 2 domande per ente e l'ente ne ha già 2" in refused.text.replace(
        "&#39;", "'"
    )


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
    receipt = client.post(f"{url}/invia", data=SEND, follow_redirects=True).text
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


# --- the form: progress, guidelines, errors, documents with the text ------------------------


def progress_of(html):
    done = re.search(r'data-progress="(\d+)/(\d+)"', html)
    sections = dict(re.findall(r'data-section="(\w+)" data-complete="(yes|no)"', html))
    return (int(done.group(1)), int(done.group(2))), sections


def attach_all(client, url, edition):
    for kind in edition.required_attachments:
        client.post(
            f"{url}/allegati",
            data={"kind": kind, "file": (io.BytesIO(pdf_bytes(kind)), f"{kind}.pdf")},
            content_type="multipart/form-data",
        )


def test_the_progress_counts_the_complete_sections_of_the_saved_draft(client, edition):
    application = started_draft(client, edition)
    url = f"/domande/{application.id}"
    counted, sections = progress_of(client.get(url).text)
    assert counted == (0, 6)
    assert set(sections.values()) == {"no"}
    assert "0 di 6 sezioni complete" in client.get(url).text

    # Typed but not saved (refused): the count is the saved draft's, still nothing.
    client.post(url, data=proposal_form(edition, requested_amount="50000"))
    assert progress_of(client.get(url).text)[0] == (0, 6)

    client.post(url, data=proposal_form(edition))
    counted, sections = progress_of(client.get(url).text)
    assert counted == (5, 6)
    assert sections == {
        "quartiere": "yes",
        "progetto": "yes",
        "tempi": "yes",
        "partner": "yes",
        "piano": "yes",
        "documenti": "no",
    }
    attach_all(client, url, edition)
    page = client.get(url).text
    assert progress_of(page)[0] == (6, 6)
    assert "6 di 6 sezioni complete" in page

    # The partners are optional: without them the section says so, and the call can be sent.
    fields = {"partners-0-name": "", "partners-0-role": ""}
    client.post(url, data=proposal_form(edition, **fields))
    page = client.get(url).text
    counted, sections = progress_of(page)
    assert counted == (5, 6) and sections["partner"] == "no"
    assert re.search(r'data-section="partner".*?facoltativa', page, re.S)
    assert "la domanda si può inviare" in page


def guideline_groups(html):
    """data-neighbourhood of each group → shown (True) or hidden and disabled (False)."""
    return {
        slug: not hidden
        for slug, hidden in re.findall(
            r'class="bando-guideline-group" data-neighbourhood="([^"]+)"( hidden disabled)?>',
            html,
        )
    }


def test_a_new_draft_asks_for_the_neighbourhood_before_its_guidelines(client, edition):
    application = started_draft(client, edition)
    page = client.get(f"/domande/{application.id}").text
    groups = guideline_groups(page)
    assert groups and not any(groups.values())  # every neighbourhood's guidelines hidden
    assert re.search(r"<p class=\"bando-prompt\" data-guidelines-prompt>Scegliere prima", page)


def test_only_the_chosen_neighbourhoods_guidelines_are_shown_after_saving(client, edition):
    first, second = edition.neighbourhoods[0], edition.neighbourhoods[1]
    edition.guidelines.append(Guideline(edition=edition, code="GEN1", text="Obiettivo generale"))
    db.session.commit()
    application = started_draft(client, edition)
    url = f"/domande/{application.id}"
    client.post(url, data=proposal_form(edition))
    page = client.get(url).text
    assert guideline_groups(page) == {first.slug: True, second.slug: False, "*": True}
    assert "data-guidelines-prompt hidden" in page
    code = first.guidelines[0].code
    assert f'value="{code}" id="guideline-{code}" checked' in page

    # Another neighbourhood chosen without JavaScript: the ticks of the first one no longer
    # apply and are dropped (not refused); its own guidelines are shown next.
    response = client.post(
        url, data=proposal_form(edition, neighbourhood=second.slug), follow_redirects=True
    )
    assert "Quartiere cambiato: scegliere ora le linee di indirizzo" in response.text
    db.session.refresh(application)
    assert application.neighbourhood.slug == second.slug and application.guidelines == []
    assert guideline_groups(response.text) == {first.slug: False, second.slug: True, "*": True}


def summary_links(html):
    start = html.index('id="error-summary"')
    block = html[html.rindex("<div", 0, start) : html.index("</div>", start)]
    return block, re.findall(r'<a href="#([\w-]+)" data-target="\1">([^<]*)</a>', block)


def test_the_error_summary_links_each_problem_to_its_field(client, edition):
    application = started_draft(client, edition)
    url = f"/domande/{application.id}"
    # Rules broken: over the maximum, too little co-financing, lines not adding up.
    data = proposal_form(edition, requested_amount="50000", cofinancing_amount="10")
    response = client.post(url, data=data)
    assert response.status_code == 422
    html = response.text
    block, links = summary_links(html)
    assert 'role="alert"' in block and 'tabindex="-1"' in block
    targets = [target for target, _text in links]
    assert targets == ["requested_amount", "cofinancing_amount", "sezione-piano"]
    # Every link leads to an element of the page.
    for target in targets:
        assert f'id="{target}"' in html, target
    texts = dict(links)
    assert texts["requested_amount"].startswith("Contributo richiesto al Comune (€): ")
    assert texts["sezione-piano"].startswith("Piano economico: le voci di spesa sommano")
    # The same messages are next to their fields, the field pointing at them.
    assert 'aria-describedby="requested_amount-error"' in html
    assert re.search(r'data-error-for="requested_amount">[^<]*supera il massimo', html)

    # An unreadable amount in a row: the link names the row.
    response = client.post(url, data=proposal_form(edition, **{"budget-1-amount": "x"}))
    block, links = summary_links(response.text)
    assert links[0][0] == "budget-1-amount"
    assert links[0][1].startswith("Piano economico, riga 2: Importo (€) — ")


def test_two_messages_of_one_field_are_on_two_lines(client, edition):
    application = started_draft(client, edition)
    hood = edition.neighbourhoods[0]
    foreign = edition.neighbourhoods[1].guidelines[0].code
    # Two problems on the guidelines: a code of another neighbourhood, and one given twice.
    data = proposal_form(edition, guidelines=[hood.guidelines[0].code, foreign, foreign])
    data["neighbourhood"] = hood.slug
    application.neighbourhood = hood
    db.session.commit()
    response = client.post(f"/domande/{application.id}", data=data)
    assert response.status_code == 422
    block = re.search(r'data-error-for="guidelines">(.*?)</div>', response.text, re.S).group(1)
    assert block.count("<br>") == 1
    assert "non del quartiere scelto" in block and "indicata due volte" in block


def test_upload_saves_the_typed_text_first(client, edition):
    application = started_draft(client, edition)
    url = f"/domande/{application.id}"
    data = {
        **proposal_form(edition, title="Scritto e non salvato"),
        "kind": "statuto",
        "upload": "1",
        "file": (io.BytesIO(pdf_bytes("statuto")), "statuto.pdf"),
    }
    del data["save"]
    response = client.post(url, data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("#sezione-documenti")
    db.session.refresh(application)
    assert application.title == "Scritto e non salvato"
    assert [a.kind for a in application.attachments] == ["statuto"]
    page = client.get(url).text
    assert "Bozza salvata." in page and "Documento caricato." in page
    # The next document still missing is offered.
    assert re.search(r'<option selected value="documento_identita">', page)


def test_upload_with_invalid_fields_keeps_them_and_still_stores_the_file(client, edition):
    application = started_draft(client, edition)
    url = f"/domande/{application.id}"
    data = {
        **proposal_form(edition, title="Testo da non perdere", requested_amount="50000"),
        "kind": "statuto",
        "upload": "1",
        "file": (io.BytesIO(pdf_bytes("statuto")), "statuto.pdf"),
    }
    del data["save"]
    response = client.post(url, data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert 'value="Testo da non perdere"' in response.text  # kept on the page
    assert "Bozza NON salvata" in response.text
    assert "Documento caricato." in response.text
    assert re.search(r'data-error-for="requested_amount">[^<]*supera il massimo', response.text)
    db.session.refresh(application)
    assert application.title == ""  # the fields were refused…
    assert [a.kind for a in application.attachments] == ["statuto"]  # …the file was stored


def test_a_refused_file_says_why_next_to_the_file_input_and_the_text_is_saved(client, edition):
    application = started_draft(client, edition)
    url = f"/domande/{application.id}"
    data = {
        **proposal_form(edition, title="Salvato comunque"),
        "kind": "statuto",
        "upload": "1",
        "file": (io.BytesIO(b"not a pdf at all"), "statuto.pdf"),
    }
    del data["save"]
    response = client.post(url, data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert re.search(
        r'data-error-for="file">Documento non caricato: il file non è un PDF', response.text
    )
    assert '<a href="#file" data-target="file">' in response.text
    assert "Bozza salvata." in response.text
    db.session.refresh(application)
    assert application.title == "Salvato comunque" and application.attachments == []

    # "Carica il PDF" with no file: the text is saved, the missing file is said.
    data = {**proposal_form(edition, title="Ancora salvato"), "upload": "1"}
    del data["save"]
    response = client.post(url, data=data)
    assert response.status_code == 422
    assert "Scegliere un file PDF da caricare." in response.text
    db.session.refresh(application)
    assert application.title == "Ancora salvato"


def test_text_limits_come_from_the_schema(client, edition):
    from bando.applications.schemas import TEXT_LIMITS

    application = started_draft(client, edition)
    page = client.get(f"/domande/{application.id}").text
    for name, limit in TEXT_LIMITS.items():
        assert re.search(
            rf'id="{name}"[^>]*data-limit="{limit}"|data-limit="{limit}"[^>]*id="{name}"', page
        ), name
    # A line break typed in the browser (CR LF) counts as one character, as on the page.
    text = "a\r\n" * (TEXT_LIMITS["summary"] // 2)
    response = client.post(f"/domande/{application.id}", data=proposal_form(edition, summary=text))
    assert response.status_code == 302


# --- review page, declarations, receipt -------------------------------------------------------


def complete_draft(client, edition):
    application = started_draft(client, edition)
    url = f"/domande/{application.id}"
    client.post(url, data=proposal_form(edition))
    attach_all(client, url, edition)
    return application, url


def test_the_review_page_shows_what_is_sent_the_declarations_and_the_notice(client, edition):
    edition.office = "Unità Contratti di Quartiere e Rigenerazione Urbana"
    db.session.commit()
    application, url = complete_draft(client, edition)
    page = client.get(f"{url}/invia").text.replace("&#39;", "'")
    for expected in (
        "Merende in cortile",
        "Pomeriggi per bambini e anziani nei cortili.",
        "€ 12.500,00",
        "artt. 46 e 47 del DPR 445/2000",
        "non ha scopo di lucro",
        "non è in liquidazione",
        "rapporti contrattuali con la pubblica amministrazione",
        "Anna Verdi, legale rappresentante di Associazione Gratosoglio Insieme",
        "Titolare del trattamento",
        "Il trattamento è curato da: Unità Contratti di Quartiere e Rigenerazione Urbana",
        "dpo@comune.milano.it",
        "Garante per la protezione dei dati personali",
    ):
        assert expected in page, expected
    assert 'name="declarations"' in page and 'name="privacy"' in page
    db.session.refresh(application)
    assert application.state == "draft"  # reading the page sends nothing


def test_sending_without_the_declarations_is_refused_next_to_the_boxes(client, edition):
    application, url = complete_draft(client, edition)
    for data, missing in (
        ({"confirm": "1"}, {"declarations", "privacy"}),
        ({"confirm": "1", "declarations": "y"}, {"privacy"}),
        ({"confirm": "1", "privacy": "y"}, {"declarations"}),
    ):
        response = client.post(f"{url}/invia", data=data)
        assert response.status_code == 422
        html = response.text
        refused = set(re.findall(r'data-error-for="(declarations|privacy)"', html))
        assert refused == missing
        for name in missing:
            assert f'<a href="#{name}" data-target="{name}">' in html  # in the summary too
            assert f'aria-describedby="{name}-error"' in html
        db.session.refresh(application)
        assert application.state == "draft" and application.protocol is None


def test_the_declarations_are_recorded_in_the_submission_event(client, edition):
    from bando.applications.pages.applicant import DECLARATIONS_VERSION
    from bando.core.models import AuditEvent

    application, url = complete_draft(client, edition)
    response = client.post(f"{url}/invia", data=SEND)
    assert response.status_code == 302
    event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.application_id == application.id, AuditEvent.trigger == "submit"
        )
    )
    declarations = event.payload["declarations"]
    assert declarations == {
        "version": DECLARATIONS_VERSION,
        "dpr_445_2000": True,
        "privacy_notice": True,
        "legal_representative": "Anna Verdi",
        "accepted_by": "anna@example.it",
    }
    assert event.payload["protocol"] == application.protocol  # the rest of the event stays


def test_the_receipt_says_what_happens_next_and_how_the_applicant_is_told(client, edition):
    application, url = complete_draft(client, edition)
    client.post(f"{url}/invia", data=SEND)
    page = client.get(f"{url}/ricevuta").text.replace("&#39;", "'")
    assert "Che cosa succede ora" in page
    assert "soccorso istruttorio" in page and f"ci sono {edition.integration_days} giorni" in page
    assert "gratosoglio@pec.example.it" in page  # the PEC
    assert "per e-mail all'indirizzo confermato" in page and "«Le mie domande»" in page
    pdf = client.get(f"{url}/ricevuta.pdf")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Che cosa succede ora" in text
    assert "gratosoglio@pec.example.it" in text


def test_the_deadline_reads_with_the_elided_article(app, client):
    from datetime import UTC, datetime

    from bando.applications.pages.applicant import next_step

    with app.test_request_context():
        for day_of_month, expected in ((8, "entro l'08/12/2019"), (11, "entro l'11/12/2019")):
            edition = type("E", (), {"closes_at": datetime(2019, 12, day_of_month, 11, tzinfo=UTC)})
            draft = type("A", (), {"state": "draft", "edition": edition})
            assert next_step(draft) == f"Completare e inviare la domanda {expected} ore 12:00"
        edition = type("E", (), {"closes_at": datetime(2019, 12, 15, 11, tzinfo=UTC)})
        draft = type("A", (), {"state": "draft", "edition": edition})
        assert next_step(draft) == "Completare e inviare la domanda entro il 15/12/2019 ore 12:00"


def test_the_dashboard_says_when_the_address_is_not_confirmed(client, app):
    from bando.accounts.models import User
    from tests.factories import PASSWORD, create_user

    user = create_user("applicant", confirmed=False)
    db.session.commit()
    client.post("/accedi", data={"email": user.email, "password": PASSWORD})
    page = client.get("/domande")
    assert "data-unconfirmed" in page.text and "non è ancora confermato" in page.text
    db.session.get(User, user.id).email_confirmed_at = db.func.now()
    db.session.commit()
    assert "data-unconfirmed" not in client.get("/domande").text


def test_the_review_page_says_the_address_is_to_be_confirmed_before_the_ticks(client, edition):
    from bando.accounts.models import User

    application, url = complete_draft(client, edition)
    owner = db.session.get(User, application.created_by_id)
    owner.email_confirmed_at = None
    db.session.commit()
    page = unescape(client.get(f"{url}/invia").text)
    assert "data-blockers" in page and "occorre confermare il proprio indirizzo email" in page
    # Confirmed, nothing stands in the way: no such box.
    db.session.get(User, owner.id).email_confirmed_at = db.func.now()
    db.session.commit()
    assert "data-blockers" not in client.get(f"{url}/invia").text
