"""An organisation's journey in a real browser WITH JAVASCRIPT DISABLED: register, write a
proposal, attach the PDFs, submit, read the receipt back from the downloaded PDF."""

import io
import re
from datetime import timedelta

import pytest
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from sqlalchemy import func, select

from bando.accounts.models import Organisation, User
from bando.applications.models import Application
from bando.calls.models import Edition
from bando.core.extensions import db
from bando.demo import DEMO_CODE
from tests.bando.accounts.helpers import confirmation_path
from tests.factories import entity_tax_code

pytestmark = pytest.mark.browser

ORG_NAME = "Associazione Cortili Aperti San Siro APS"
EMAIL = "cortili.aperti@example.it"
PASSWORD = "una-password-lunga"
TAX_CODE = entity_tax_code(424242)


def wrong_check_digit(code: str) -> str:
    return code[:-1] + str((int(code[-1]) + 1) % 10)


def pdf_file(folder, name: str) -> str:
    """A real one-page PDF written by ReportLab, as a scanner or a word processor would."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    page.setTitle(name)
    page.drawString(72, 770, f"{ORG_NAME} — {name}")
    page.save()
    path = folder / f"{name}.pdf"
    path.write_bytes(buffer.getvalue())
    return str(path)


def counts():
    result = (
        db.session.scalar(select(func.count(Organisation.id))),
        db.session.scalar(select(func.count(User.id))),
    )
    db.session.rollback()  # end the read: the browser's server writes next
    return result


def fill_registration(page, tax_code):
    page.fill("#name", ORG_NAME)
    page.fill("#tax_code", tax_code)
    page.select_option("#legal_form", "aps")
    page.fill("#pec", "cortiliaperti@pec.example.it")
    page.fill("#address", "via Zamagna 11, 20148 Milano")
    page.fill("#legal_representative", "Lucia Brambilla")
    page.fill("#full_name", "Lucia Brambilla")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.fill("#password_confirm", PASSWORD)


def tick(page, checkbox_id):
    """Ticks a checkbox as a person does: the kit draws the box on the label, which is
    what takes the click."""
    page.locator(f'label[for="{checkbox_id}"]').click()
    assert page.is_checked(f"#{checkbox_id}")


def flash_texts(page):
    return " ".join(page.locator(".bando-messages .alert").all_inner_texts())


# Every visible label against the headings, buttons, fields and other labels of the page:
# the pairs whose boxes cross. Checkboxes are left out: the kit draws them on their label.
OVERLAPS_JS = """() => {
  const seen = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const name = e => (e.textContent || e.id || e.name || e.tagName).trim().slice(0, 50);
  const labels = [...document.querySelectorAll("main label:not(.form-check-label)")].filter(seen);
  // The save bar sticks to the bottom of the screen: the page scrolls under it.
  const others = [...document.querySelectorAll(
    "main h1, main h2, main h3, main h4, main legend, main .btn, main label, main select, " +
    "main textarea, main input:not([type=checkbox]):not([type=radio]):not([type=hidden])"
  )].filter(seen).filter(e => !e.closest(".bando-savebar"));
  const hits = [];
  for (const label of labels) {
    const a = label.getBoundingClientRect();
    for (const other of others) {
      if (other === label || other.contains(label) || label.contains(other)) continue;
      const b = other.getBoundingClientRect();
      const across = a.left < b.right - 1 && b.left < a.right - 1;
      if (across && a.top < b.bottom - 1 && b.top < a.bottom - 1) {
        hits.push(name(label) + " × " + name(other));
      }
    }
  }
  return hits;
}"""

# Each fieldset's heading against the first field label under it: their left edges.
INDENTS_JS = """() => [...document.querySelectorAll("main fieldset")].flatMap(set => {
  const legend = set.querySelector("legend");
  const label = set.querySelector(".form-group label:not(.form-check-label)");
  if (!legend || !label) return [];
  const shift = legend.getBoundingClientRect().left - label.getBoundingClientRect().left;
  return Math.abs(shift) > 1 ? [legend.textContent.trim() + ": " + shift + " px"] : [];
})"""


def assert_clear_layout(page):
    """No label over a heading, a button or another field; headings not indented."""
    assert page.evaluate(OVERLAPS_JS) == []
    assert page.evaluate(INDENTS_JS) == []


def test_a_wrong_tax_code_is_explained_next_to_the_field_and_creates_nothing(
    demo, browser_context, shot
):
    before = counts()
    page = browser_context(java_script_enabled=False).new_page()
    page.goto("/registrazione")
    fill_registration(page, wrong_check_digit(TAX_CODE))
    page.get_by_role("button", name="Registra l'ente").click()

    error = page.locator('[data-error-for="tax_code"]')
    assert "il carattere di controllo non torna" in error.inner_text()
    # Next to the field: the control is marked invalid and points to the message.
    assert "is-invalid" in page.locator("#tax_code").get_attribute("class")
    assert "tax_code-error" in page.locator("#tax_code").get_attribute("aria-describedby").split()
    assert "correggere i campi indicati" in flash_texts(page)
    # What was typed is kept (but for the passwords).
    assert page.input_value("#name") == ORG_NAME
    assert page.input_value("#email") == EMAIL
    shot(page, "registration-error")
    assert counts() == before


def test_register_write_attach_submit_and_download_the_receipt_without_javascript(
    demo, browser_context, shot, tmp_path
):
    edition = db.session.scalar(select(Edition).where(Edition.code == DEMO_CODE))
    start, end = edition.project_starts_on, edition.project_starts_on + timedelta(days=180)
    db.session.rollback()
    context = browser_context(java_script_enabled=False, accept_downloads=True)
    page = context.new_page()

    # Register the organisation from the home page's menu, confirm the address by the link
    # mailed, then sign in.
    page.goto("/")
    page.get_by_role("link", name="Registra l'ente").first.click()
    page.wait_for_url("**/registrazione")
    fill_registration(page, TAX_CODE)
    tick(page, "withholding_exempt")
    page.fill("#withholding_reason", "Attività istituzionale non commerciale")
    shot(page, "registration-filled")
    assert_clear_layout(page)
    page.get_by_role("button", name="Registra l'ente").click()
    page.wait_for_url("**/registrazione/inviata")
    link = confirmation_path(EMAIL)
    db.session.rollback()
    page.goto(link)
    page.locator("main").get_by_role("button").click()
    page.wait_for_url("**/accedi")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.locator("main").get_by_role("button", name="Accedi").click()
    page.wait_for_url("**/domande")
    assert page.locator("h1").inner_text() == f"Le domande di {ORG_NAME}"
    assert "Nessuna domanda per ora." in page.locator("main").inner_text()
    assert_clear_layout(page)
    # A real button, with the kit's white text on blue (not dark text as on an <input>).
    start_button = page.get_by_role("button", name="Inizia la domanda")
    assert start_button.evaluate("b => b.tagName") == "BUTTON"
    assert start_button.evaluate("b => getComputedStyle(b).color") == "rgb(255, 255, 255)"
    shot(page, "dashboard-new")

    # Start a draft in the open demo call.
    page.select_option("#edition", DEMO_CODE)
    page.get_by_role("button", name="Inizia la domanda").click()
    page.wait_for_url(re.compile(r"/domande/\d+$"))
    application_id = int(page.url.rsplit("/", 1)[1])
    assert "Bozza creata" in flash_texts(page)

    # Sections 1–4. Without JavaScript the guidelines of a neighbourhood show once it is saved;
    # before, the page asks to choose it.
    assert page.locator("[data-guidelines-prompt]").is_visible()
    page.select_option("#neighbourhood", "san-siro")
    page.locator("#save-quartiere").click()
    page.wait_for_url(re.compile(rf"/domande/{application_id}$"))
    assert page.locator('[data-neighbourhood="san-siro"]').is_visible()
    assert not page.locator('[data-neighbourhood="gratosoglio"]').is_visible()
    tick(page, page.locator('input[name="guidelines"][value="SS1"]').get_attribute("id"))
    page.fill("#title", "Cortili aperti: merende e compiti nei cortili ERP")
    page.fill("#summary", "Pomeriggi di doposcuola e gioco nei cortili di via Zamagna.")
    page.fill("#description", "Tre pomeriggi a settimana con educatori e volontari.")
    page.fill("#objectives", "Quaranta bambini seguiti; una festa di cortile a fine progetto.")
    page.fill("#places", "Cortili di via Zamagna e Biblioteca di quartiere.")
    page.fill("#timeline", "Avvio, attività settimanali, festa finale, rendicontazione.")
    page.fill("#start_date", start.isoformat())
    page.fill("#end_date", end.isoformat())
    page.fill("#partners-0-name", "Biblioteca rionale Harar")
    page.fill("#partners-0-role", "ospita i compiti nei giorni di pioggia")

    # Section 5: three budget lines, then one more row without JavaScript.
    lines = [
        ("personale", "Educatori (240 ore)", "6.000,00"),
        ("materiali", "Giochi e cancelleria", "2500"),
        ("comunicazione", "Locandine nei caseggiati", "1000,00"),
    ]
    for row, (category, description, amount) in enumerate(lines):
        page.select_option(f"#budget-{row}-category", category)
        page.fill(f"#budget-{row}-description", description)
        page.fill(f"#budget-{row}-amount", amount)
    page.fill("#requested_amount", "8500")
    page.get_by_role("button", name="Aggiungi riga di spesa").click()
    assert "Riga aggiunta" in flash_texts(page)
    # Nothing typed was lost by the round trip, and a blank row is offered.
    assert page.input_value("#budget-0-amount") == "6.000,00"
    assert page.input_value("#title").startswith("Cortili aperti")
    page.select_option("#budget-3-category", "servizi")
    page.fill("#budget-3-description", "Noleggio gazebo per la festa")
    page.fill("#budget-3-amount", "500")
    # The co-financing is left blank: the rest of the total cost is the organisation's.
    page.locator("#save").click()
    page.wait_for_url(re.compile(rf"/domande/{application_id}$"))
    assert "Bozza salvata." in flash_texts(page)
    assert page.locator('[data-field="total"]').inner_text() == "€ 10.000,00"
    # Saved amounts come back written the Italian way.
    assert page.input_value("#cofinancing_amount") == "1.500,00"
    assert page.input_value("#budget-0-amount") == "6.000,00"
    assert page.input_value("#requested_amount") == "8.500,00"
    assert page.is_checked('input[name="guidelines"][value="SS1"]')
    assert page.input_value("#budget-3-description") == "Noleggio gazebo per la festa"
    problems = page.locator("[data-problems]").inner_text()
    assert "Statuto" in problems or "statuto" in problems
    shot(page, "draft-saved")
    assert_clear_layout(page)

    # Section 6: the three required PDFs.
    # The document offered is always the next one still missing.
    for kind in ("statuto", "documento_identita", "piano_economico"):
        assert page.input_value("#kind") == kind
        page.set_input_files("#file", pdf_file(tmp_path, kind))
        page.get_by_role("button", name="Carica il PDF").click()
        page.wait_for_url(re.compile(rf"/domande/{application_id}#sezione-documenti$"))
        assert "Documento caricato." in flash_texts(page)
    assert page.locator("[data-problems]").count() == 0
    assert "La domanda è completa." in page.locator("main").inner_text()
    shot(page, "draft-complete")

    assert page.locator("#progress-title").inner_text() == "6 di 6 sezioni complete"

    # The review page: the declarations and the privacy notice, then the receipt.
    page.get_by_role("link", name="Vai all'invio").click()
    page.wait_for_url(f"**/domande/{application_id}/invia")
    tick(page, "declarations")
    tick(page, "privacy")
    page.get_by_role("button", name="Invia la domanda").click()
    page.wait_for_url(f"**/domande/{application_id}/ricevuta")
    protocol = page.locator('[data-field="protocol"]').inner_text()
    assert re.fullmatch(r"DEMO/\d{4}", protocol)
    # Said once, in the receipt's own box, not again in a flash message.
    assert page.locator(".alert").filter(has_text=protocol).count() == 1
    receipt_text = page.locator("main").inner_text()
    for amount in ("€ 10.000,00", "€ 8.500,00", "€ 1.500,00", "€ 6.000,00"):
        assert amount in receipt_text
    shot(page, "receipt")

    stored = db.session.get(Application, application_id)
    assert (stored.state, stored.protocol) == ("submitted", protocol)
    assert stored.organisation.tax_code == TAX_CODE
    assert stored.organisation.withholding_exempt is True
    assert (stored.requested_cents, stored.cofinancing_cents) == (8_500_00, 1_500_00)
    assert sorted(a.kind for a in stored.attachments) == [
        "documento_identita",
        "piano_economico",
        "statuto",
    ]
    db.session.rollback()

    # The receipt PDF, downloaded by the browser and read back.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Scarica la ricevuta in PDF").click()
    download = download_info.value
    assert download.suggested_filename == f"ricevuta-{protocol.replace('/', '-')}.pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(download.path()).pages)
    assert protocol in text
    assert ORG_NAME in text and TAX_CODE in text
    for amount in ("€ 8.500,00", "€ 10.000,00", "€ 1.500,00", "€ 6.000,00", "€ 500,00"):
        assert amount in text

    # The dashboard now shows it sent, with the submission in its timeline.
    page.get_by_role("link", name="Le mie domande").first.click()
    page.wait_for_url("**/domande")
    card = page.locator(f'[data-application="{application_id}"]')
    assert card.locator("[data-state]").inner_text() == "Presentata"
    assert protocol in card.inner_text()
    assert card.locator('[data-trigger="submit"]').count() == 1
    # The call takes one application per organisation: no new one offered, a link instead.
    assert page.get_by_role("button", name="Inizia la domanda").count() == 0
    assert page.locator(f'[data-edition-full="{DEMO_CODE}"] a').get_attribute("href") == (
        f"/domande/{application_id}"
    )
    assert_clear_layout(page)
    shot(page, "dashboard-submitted")


def test_labels_stay_clear_of_the_headings_with_javascript_too(browser_context, shot):
    """The kit's script moves labels as fields get and lose focus; they must not move."""
    page = browser_context().new_page()
    page.goto("/registrazione")
    page.wait_for_load_state("load")
    assert_clear_layout(page)
    page.fill("#name", ORG_NAME)
    page.focus("#tax_code")
    page.focus("#vat_number")
    assert_clear_layout(page)
    shot(page, "registration-with-javascript")
