"""The administrator's pages in Chromium, on the demo data: a staff account made through
the form, found in the list, deactivated; a call file loaded; the chain checked. Every page
passes axe-core and none scrolls sideways on a phone."""

import pytest

from bando.demo import DEMO_CODE
from tests.bando.calls.test_loading import MINIMAL
from tests.browser.a11y import axe_source, axe_violations
from tests.browser.test_applicant_journey import PHONE, assert_no_sideways_scroll
from tests.browser.test_security import sign_in

pytestmark = pytest.mark.browser

ADMIN = "admin@bando.demo"


def test_the_administrator_makes_an_account_loads_a_call_and_checks_the_chain(
    demo, browser_context, shot, tmp_path
):
    source = axe_source()
    page = browser_context().new_page()
    sign_in(page, ADMIN)
    page.wait_for_url("**/amministrazione/")
    assert axe_violations(page, source) == []
    shot(page, "dashboard")

    page.get_by_role("link", name="Nuovo account del personale").first.click()
    page.fill("#email", "nuova.istruttrice@comune.example.it")
    page.fill("#full_name", "Nuova Istruttrice")
    page.select_option("#role", "officer")
    page.get_by_role("button", name="Crea l'account e invia l'invito").click()
    page.wait_for_url("**/amministrazione/utenti/*")
    assert "collegamento per scegliere la password" in page.locator(".alert").first.inner_text()
    assert axe_violations(page, source) == []
    page.get_by_role("link", name="Disattiva l'account…").click()
    assert "non potrà più accedere" in page.locator("main").inner_text()
    assert axe_violations(page, source) == []
    page.get_by_role("button", name="Disattiva l'account").click()
    assert page.locator("[data-active]").get_attribute("data-active") == "false"
    shot(page, "account")

    page.goto("/amministrazione/utenti")
    page.fill("#q", "istruttrice")
    page.select_option("#stato", "inactive")
    page.get_by_role("button", name="Filtra").click()
    assert page.locator("[data-user]").count() == 1
    assert axe_violations(page, source) == []

    call = tmp_path / "cdq-test.toml"
    call.write_text(MINIMAL.replace('"cdq-test"', '"cdq-browser"'), encoding="utf-8")
    page.goto("/amministrazione/bandi")
    page.set_input_files("#file", str(call))
    page.get_by_role("button", name="Carica il bando").click()
    assert page.locator('[data-edition="cdq-browser"]').count() == 1
    assert page.locator(f'[data-edition="{DEMO_CODE}"]').count() == 1
    assert axe_violations(page, source) == []
    shot(page, "calls")

    page.goto("/amministrazione/registro")
    page.get_by_role("button", name="Verifica la catena").click()
    assert page.locator('[data-chain="whole"]').is_visible()
    assert axe_violations(page, source) == []

    phone = browser_context(viewport=PHONE).new_page()
    sign_in(phone, ADMIN)
    for path in (
        "/amministrazione/",
        "/amministrazione/utenti",
        "/amministrazione/bandi",
        "/amministrazione/utenti/nuovo",
        "/amministrazione/registro?verifica=1",
    ):
        phone.goto(path)
        assert_no_sideways_scroll(phone, path)
    shot(phone, "users-phone")
