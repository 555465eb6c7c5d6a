"""The final report and the payments in a real browser, CSRF on, without JavaScript
needed: the organisation files its report with a receipt; finance pays the advance after
the confirmation (the page back again offers nothing to pay twice), reviews the
expenses and approves; the pages fit a phone and nothing breaks the CSP."""

import pytest
from sqlalchemy import func, select

from bando.applications.models import Application
from bando.budget.models import Payment
from bando.core.extensions import db
from tests.browser.test_applicant_journey import PHONE, assert_no_sideways_scroll
from tests.browser.test_officer import sign_in
from tests.browser.test_security import LISTEN
from tests.factories import PASSWORD
from tests.finance_factories import PDF, funded_world

pytestmark = pytest.mark.browser


def world():
    application, owner, finance, _ = funded_world(10_000)
    found = {
        "id": application.id,
        "code": application.edition.code,
        "owner": owner.email,
        "finance": finance.email,
    }
    db.session.rollback()  # end the read: the browser's server writes next
    return found


def read(query):
    found = db.session.scalar(query)
    db.session.rollback()
    return found


def test_report_payment_and_approval_in_the_browser(browser_context, shot, tmp_path):
    w = world()
    receipt = tmp_path / "fattura.pdf"
    receipt.write_bytes(PDF)

    owner = browser_context().new_page()
    owner.add_init_script(LISTEN)
    sign_in(owner, w["owner"], f"/domande/{w['id']}/rendicontazione", PASSWORD)
    owner.fill("#activities", "Laboratori con le famiglie, da marzo a giugno.")
    owner.fill("#people_reached", "40")
    owner.select_option("#expenses-0-category", "personale")
    owner.fill("#expenses-0-description", "Educatori")
    owner.fill("#expenses-0-amount", "9.000,00")
    owner.fill("#expenses-0-document", "Fattura 12 del 10/05/2020")
    owner.set_input_files("#expenses-0-receipt", str(receipt))
    owner.select_option("#expenses-1-category", "materiali")
    owner.fill("#expenses-1-description", "Sementi e attrezzi")
    owner.fill("#expenses-1-amount", "3.000,00")
    owner.fill("#expenses-1-document", "Ricevuta 7")
    owner.set_input_files("#expenses-1-receipt", str(receipt))
    shot(owner, "form")
    owner.get_by_role("button", name="Presenta la rendicontazione").click()
    owner.wait_for_selector("[data-report]")
    assert "Rendicontazione presentata" in owner.locator(".bando-messages").inner_text()
    assert owner.evaluate("window.__violations") == []
    assert read(select(Application.state).where(Application.id == w["id"])) == "reported"

    finance = browser_context().new_page()
    finance.add_init_script(LISTEN)
    sign_in(finance, w["finance"], "/contabilita/", PASSWORD)
    finance.goto(f"/contabilita/bandi/{w['code']}")
    finance.locator("[data-pay=advance]").click()
    assert "€ 4.800,00" in finance.locator("[data-net]").inner_text()
    finance.fill("#reference", "Mandato 2020/15")
    shot(finance, "pay")
    finance.get_by_role("button", name="Conferma: registra il pagamento").click()
    finance.wait_for_url(f"**/contabilita/bandi/{w['code']}*")
    # Back to the confirmation (never cached): nothing is due any more, no button.
    finance.go_back()
    assert finance.locator("[data-blocked]").count() == 1
    assert read(select(func.count()).select_from(Payment)) == 1

    finance.goto(f"/contabilita/domande/{w['id']}/rendicontazione")
    for button in finance.get_by_role("button", name="Ammetti", exact=True).all()[:1]:
        button.click()
        finance.wait_for_load_state()
    finance.locator("textarea[name=reason]").nth(1).fill("Ricevuta non intestata all'ente")
    finance.get_by_role("button", name="Non ammettere").nth(1).click()
    finance.wait_for_load_state()
    finance.locator("[data-approve-link]").click()
    consequence = finance.locator("[data-consequence]").inner_text()
    # 9 000 accepted of 12 000 planned: 10 000 × 9/12 = 7 500; 5 000 paid, 2 500 left.
    assert "€ 7.500,00" in consequence and "€ 2.500,00" in consequence
    shot(finance, "approve")
    finance.get_by_role("button", name="Conferma: approva la rendicontazione").click()
    finance.wait_for_selector("[data-final]")
    assert read(select(Application.state).where(Application.id == w["id"])) == "closed"
    assert finance.evaluate("window.__violations") == []

    phone = browser_context(viewport=PHONE).new_page()
    sign_in(phone, w["finance"], "/contabilita/", PASSWORD)
    for path in (
        "/contabilita/",
        f"/contabilita/bandi/{w['code']}",
        f"/contabilita/bandi/{w['code']}/registro",
        f"/contabilita/domande/{w['id']}/rendicontazione",
    ):
        phone.goto(path)
        assert_no_sideways_scroll(phone, path)
    owner_phone = browser_context(viewport=PHONE).new_page()
    sign_in(owner_phone, w["owner"], f"/domande/{w['id']}/rendicontazione", PASSWORD)
    assert_no_sideways_scroll(owner_phone, "rendicontazione")
    shot(owner_phone, "phone-report")
