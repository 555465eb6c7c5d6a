"""The applicant's journey in Chromium, as a new association would go through it on a phone
(390 px wide) and on a desktop, with JavaScript on unless a test says otherwise: nothing
typed is lost when a PDF is uploaded, no page scrolls sideways, the error summary leads to
its fields, the declarations come before the irreversible send."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bando.accounts.models import User
from bando.applications.attachments import store_attachment
from bando.applications.models import Application
from bando.applications.operations import update_draft
from bando.calls.models import Edition
from bando.core.extensions import db
from bando.core.models import AuditEvent
from bando.demo import DEMO_CODE
from bando.demo import PASSWORD as DEMO_PASSWORD
from tests.browser.test_applicant import pdf_file, tick

pytestmark = pytest.mark.browser

DRAFT_OWNER = "biblioteca.sansiro@bando.demo"  # owns the demo's draft
ASKED_FOR_DOCUMENTS = "calvairate.aperta@bando.demo"
PHONE = {"width": 390, "height": 844}


def application_of(email):
    user = db.session.scalar(select(User).where(User.email == email))
    application = user.organisation.applications[0]
    result = application.id
    db.session.rollback()  # end the read: the browser's server writes next
    return result


@pytest.fixture
def complete_draft(demo, tmp_path):
    """The demo's draft written in full, with its PDFs (as its organisation would, through
    the same operations), committed before the browser opens it."""
    user = db.session.scalar(select(User).where(User.email == DRAFT_OWNER))
    application = user.organisation.applications[0]
    edition = db.session.scalar(select(Edition).where(Edition.code == DEMO_CODE))
    start = edition.project_starts_on
    update_draft(
        application,
        user,
        {
            "neighbourhood": "san-siro",
            "guidelines": ["SS1"],
            "title": "Laboratorio di vicinato in biblioteca",
            "summary": "Letture e compiti nei cortili e in biblioteca.",
            "description": "Tre pomeriggi a settimana con educatori e volontari.",
            "objectives": "Sessanta bambini seguiti; due feste di cortile.",
            "places": "Biblioteca di quartiere e cortili di piazzale Selinunte.",
            "timeline": "Avvio, attività settimanali, festa finale.",
            "partners": [{"name": "Parrocchia del quartiere", "role": "ospita gli incontri"}],
            "budget": [
                {"category": "personale", "description": "Educatore", "amount": "6000.00"},
                {"category": "materiali", "description": "Libri e giochi", "amount": "2500.00"},
                {"category": "comunicazione", "description": "Locandine", "amount": "1500.00"},
            ],
            "requested_amount": "8500.00",
            "cofinancing_amount": "1500.00",
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=180)).isoformat(),
        },
    )
    for kind in edition.required_attachments:
        data = Path(pdf_file(tmp_path, kind)).read_bytes()
        store_attachment(application, kind, f"{kind}.pdf", data, user, 5 * 1024 * 1024)
    result = application.id
    db.session.commit()
    return result


def stored(application_id):
    application = db.session.get(Application, application_id)
    result = {
        "title": application.title,
        "places": application.places,
        "timeline": application.timeline,
        "partners": [p.name for p in application.partners],
        "budget": [line.description for line in application.budget_lines],
        "attachments": {a.kind: a.filename for a in application.attachments},
        "state": application.state,
        "protocol": application.protocol,
    }
    db.session.rollback()
    return result


def sign_in(page, email):
    page.goto("/accedi")
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.locator("main").get_by_role("button", name="Accedi").click()
    page.wait_for_load_state()
    assert "/accedi" not in page.url, page.locator("main").inner_text()


# Which elements stick out of the page on the right: a page that scrolls sideways is
# unusable on a phone.
WIDER_JS = """() => {
  const width = document.documentElement.clientWidth;
  const out = [...document.querySelectorAll("body *")].filter(e => {
    const r = e.getBoundingClientRect();
    const boxed = e.closest(".bando-diagram-scroll, .table-responsive");
    return r.width > 0 && r.right > width + 1 && !boxed;
  });
  return {
    scroll: document.documentElement.scrollWidth,
    client: width,
    out: out.slice(0, 8).map(e => e.tagName + "#" + e.id + "." + e.className),
  };
}"""


def assert_no_sideways_scroll(page, what):
    measured = page.evaluate(WIDER_JS)
    assert measured["scroll"] <= measured["client"], (what, measured)


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_nothing_typed_is_lost_when_a_pdf_is_uploaded(
    complete_draft, browser_context, shot, tmp_path, javascript
):
    application_id = complete_draft
    page = browser_context(java_script_enabled=javascript).new_page()
    sign_in(page, DRAFT_OWNER)
    page.goto(f"/domande/{application_id}")

    # Typed in four sections, never saved.
    page.fill("#title", "Biblioteca in cortile: letture ad alta voce")
    page.fill("#places", "Cortili di piazzale Selinunte e via Zamagna")
    page.fill("#timeline", "Settembre: avvio. Ottobre–maggio: letture settimanali.")
    page.fill("#partners-1-name", "Comitato inquilini Selinunte")
    page.fill("#partners-1-role", "apre i cortili")
    page.fill("#budget-0-description", "Educatrice (200 ore)")

    # Then a PDF, with the button of the documents' section.
    page.select_option("#kind", "statuto")
    page.set_input_files("#file", pdf_file(tmp_path, "statuto-aggiornato"))
    page.get_by_role("button", name="Carica il PDF").click()
    page.wait_for_url(re.compile(rf"/domande/{application_id}#sezione-documenti$"))
    flashes = page.locator(".bando-messages").inner_text()
    assert "Bozza salvata." in flashes and "Documento caricato." in flashes

    # Still on the page…
    assert page.input_value("#title") == "Biblioteca in cortile: letture ad alta voce"
    assert page.input_value("#places") == "Cortili di piazzale Selinunte e via Zamagna"
    assert page.input_value("#timeline").startswith("Settembre: avvio.")
    assert page.input_value("#partners-1-name") == "Comitato inquilini Selinunte"
    assert page.input_value("#budget-0-description") == "Educatrice (200 ore)"
    # …and saved, with the new document.
    saved = stored(application_id)
    assert saved["title"] == "Biblioteca in cortile: letture ad alta voce"
    assert saved["places"] == "Cortili di piazzale Selinunte e via Zamagna"
    assert "Comitato inquilini Selinunte" in saved["partners"]
    assert saved["budget"][0] == "Educatrice (200 ore)"
    assert saved["attachments"]["statuto"] == "statuto-aggiornato.pdf"
    shot(page, "uploaded")

    # Typed text that breaks a rule: the PDF is stored all the same, the text stays on the
    # page with its message, nothing of it saved.
    page.fill("#title", "Un titolo nuovo, non ancora valido")
    page.fill("#requested_amount", "99.000,00")
    page.select_option("#kind", "piano_economico")
    page.set_input_files("#file", pdf_file(tmp_path, "piano-firmato"))
    page.get_by_role("button", name="Carica il PDF").click()
    page.wait_for_load_state()
    assert page.input_value("#title") == "Un titolo nuovo, non ancora valido"
    assert page.input_value("#requested_amount") == "99.000,00"
    assert "supera il massimo" in page.locator('[data-error-for="requested_amount"]').inner_text()
    flashes = page.locator(".bando-messages").inner_text()
    assert "Bozza NON salvata" in flashes and "Documento caricato." in flashes
    saved = stored(application_id)
    assert saved["title"] == "Biblioteca in cortile: letture ad alta voce"
    assert saved["attachments"]["piano_economico"] == "piano-firmato.pdf"
    shot(page, "uploaded-with-errors")


def test_the_error_summary_takes_the_focus_and_its_links_move_it_to_the_fields(
    complete_draft, browser_context, shot
):
    application_id = complete_draft
    page = browser_context().new_page()
    sign_in(page, DRAFT_OWNER)
    page.goto(f"/domande/{application_id}")
    page.fill("#requested_amount", "99.000,00")
    page.fill("#budget-1-amount", "duemila")
    page.locator("#save").click()
    page.wait_for_load_state()

    summary = page.locator("#error-summary")
    assert summary.get_attribute("role") == "alert"
    assert page.evaluate("document.activeElement.id") == "error-summary"
    links = summary.locator("a")
    targets = [links.nth(i).get_attribute("data-target") for i in range(links.count())]
    assert "budget-1-amount" in targets
    shot(page, "error-summary")

    for target in targets:
        summary.locator(f'a[data-target="{target}"]').click()
        focused = page.evaluate("document.activeElement.id")
        assert focused == target, (target, focused)
        # The field is in view, with its label.
        assert page.locator(f"#{target}").is_visible()
        page.locator("#error-summary").focus()
    # Each message next to its field, one per line, and the field says it is invalid.
    assert page.get_attribute("#budget-1-amount", "aria-invalid") == "true"


def test_the_form_follows_what_is_typed_with_javascript(complete_draft, browser_context, shot):
    application_id = complete_draft
    page = browser_context().new_page()
    sign_in(page, DRAFT_OWNER)
    page.goto(f"/domande/{application_id}")
    assert re.fullmatch(r"\d di 6 sezioni complete", page.locator("#progress-title").inner_text())

    # The guidelines follow the neighbourhood at once.
    assert page.locator('[data-neighbourhood="san-siro"]').is_visible()
    page.select_option("#neighbourhood", "gratosoglio")
    assert page.locator('[data-neighbourhood="gratosoglio"]').is_visible()
    assert not page.locator('[data-neighbourhood="san-siro"]').is_visible()
    page.select_option("#neighbourhood", "")
    assert page.locator("[data-guidelines-prompt]").is_visible()
    page.select_option("#neighbourhood", "san-siro")
    assert not page.locator("[data-guidelines-prompt]").is_visible()

    # Totals and the co-financing share follow the budget's rows.
    figures = page.locator("[data-budget-figures]")
    page.fill("#budget-0-amount", "7.000,00")
    assert figures.locator('[data-field="total"]').inner_text() == "€ 11.000,00"
    page.fill("#cofinancing_amount", "")
    page.fill("#requested_amount", "9000")
    assert figures.locator('[data-field="cofinancing"]').inner_text().startswith("€ 2.000,00")
    assert figures.locator('[data-field="share"]').inner_text() == "18%"
    page.fill("#requested_amount", "20.000")
    assert "supera il massimo" in page.locator("[data-budget-status]").inner_text()

    # A counter under each text with a limit.
    page.fill("#summary", "Letture")
    assert page.locator('[data-counter-for="summary"]').inner_text().startswith("7 caratteri su")
    shot(page, "form-with-javascript")


def test_the_declarations_come_before_the_send(complete_draft, browser_context, shot):
    application_id = complete_draft
    page = browser_context().new_page()
    sign_in(page, DRAFT_OWNER)
    page.goto(f"/domande/{application_id}/invia")
    main = page.locator("main")
    assert "Che cosa sarà inviato" in main.inner_text()
    assert "artt. 46 e 47 del DPR 445/2000" in main.inner_text()
    assert "dpo@comune.milano.it" in main.inner_text()

    # Sent without ticking: refused, the messages next to the boxes, nothing sent.
    page.get_by_role("button", name="Invia la domanda").click()
    page.wait_for_load_state()
    assert (
        "confermare le dichiarazioni"
        in page.locator('[data-error-for="declarations"]').inner_text()
    )
    assert "informativa" in page.locator('[data-error-for="privacy"]').inner_text()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert stored(application_id)["state"] == "draft"
    shot(page, "declarations-refused")

    tick(page, "declarations")
    tick(page, "privacy")
    page.get_by_role("button", name="Invia la domanda").click()
    page.wait_for_url(f"**/domande/{application_id}/ricevuta")
    protocol = page.locator('[data-field="protocol"]').inner_text()
    assert "Che cosa succede ora" in page.locator("main").inner_text()
    assert "amicibiblioteca.sansiro@pec.demo.it" in page.locator("[data-how-told]").inner_text()
    shot(page, "receipt")

    saved = stored(application_id)
    assert (saved["state"], saved["protocol"]) == ("submitted", protocol)
    event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.application_id == application_id, AuditEvent.trigger == "submit"
        )
    )
    assert event.payload["declarations"]["dpr_445_2000"] is True
    assert event.payload["declarations"]["privacy_notice"] is True
    db.session.rollback()


PUBLIC_PAGES = [
    "/",
    f"/bandi/{DEMO_CODE}",
    "/bandi/cdq-2019",
    "/come-funziona",
    "/registrazione",
    "/accedi",
    "/password/dimenticata",
    "/domande-frequenti",
    f"/bandi/{DEMO_CODE}/domande-frequenti",
    "/accessibilita",
    "/privacy",
    "/note-legali",
    "/contatti",
]


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_no_page_of_the_journey_scrolls_sideways_on_a_phone(
    complete_draft, browser_context, shot, tmp_path, javascript
):
    context = browser_context(java_script_enabled=javascript, viewport=PHONE)
    page = context.new_page()
    for path in PUBLIC_PAGES:
        page.goto(path)
        assert_no_sideways_scroll(page, path)
    shot(page, "contacts")
    page.goto("/come-funziona")
    # The table of the states comes before the drawing, which scrolls in its own box.
    table_top = page.locator(".bando-diagram-table").bounding_box()["y"]
    assert table_top < page.locator(".bando-diagram-scroll").bounding_box()["y"]
    shot(page, "how-it-works")

    # The applicant's own pages.
    draft = complete_draft
    sign_in(page, DRAFT_OWNER)
    page.goto("/domande")
    assert_no_sideways_scroll(page, "dashboard")
    shot(page, "dashboard")
    page.goto(f"/domande/{draft}")
    assert_no_sideways_scroll(page, "form")
    # The partners' and the budget's rows stack: every field whole inside the screen.
    width = page.evaluate("document.documentElement.clientWidth")
    for selector in (
        "#partners-0-name",
        "#partners-0-role",
        "#budget-0-category",
        "#budget-0-amount",
    ):
        box = page.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (selector, box)
    assert page.locator("#budget-0-amount").input_value() != ""
    shot(page, "form")

    # The form with its errors.
    page.fill("#requested_amount", "99.000,00")
    page.fill("#budget-1-amount", "duemila")
    page.locator("#save").click()
    page.wait_for_load_state()
    assert page.locator("#error-summary").count() == 1
    assert_no_sideways_scroll(page, "form with errors")
    shot(page, "form-errors")

    # A file with a long name in the documents' table.
    page.goto(f"/domande/{draft}")
    page.set_input_files(
        "#file",
        pdf_file(
            tmp_path,
            "statuto-associazione-amici-della-biblioteca-di-san-siro-aps-2024-versione-registrata",
        ),
    )
    page.select_option("#kind", "statuto")
    page.get_by_role("button", name="Carica il PDF").click()
    page.wait_for_load_state()
    assert_no_sideways_scroll(page, "documents")
    shot(page, "documents")

    # The review page, then the receipt.
    page.goto(f"/domande/{draft}/invia")
    assert_no_sideways_scroll(page, "review")
    shot(page, "review")
    tick(page, "declarations")
    tick(page, "privacy")
    page.get_by_role("button", name="Invia la domanda").click()
    page.wait_for_url(f"**/domande/{draft}/ricevuta")
    assert_no_sideways_scroll(page, "receipt")
    shot(page, "receipt")

    # An application asked for documents: its page to answer, with the upload.
    asked = application_of(ASKED_FOR_DOCUMENTS)
    page.goto("/")  # sign out through the header's form
    page.locator("header").get_by_role("button", name="Esci").click()
    page.wait_for_load_state()
    sign_in(page, ASKED_FOR_DOCUMENTS)
    page.goto(f"/domande/{asked}/integrazione")
    assert_no_sideways_scroll(page, "integration")
    page.goto(f"/domande/{asked}")
    assert_no_sideways_scroll(page, "application")
    page.goto("/domande")
    assert_no_sideways_scroll(page, "dashboard asked for documents")
    shot(page, "dashboard-asked")
