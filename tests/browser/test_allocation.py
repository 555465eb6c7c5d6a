"""The allocation in a real browser: the officer simulates, compares an alternative and
allocates after the confirmation, without JavaScript; the applicant reads why and accepts
the award; every page of it on a phone, without sideways scrolling, and nothing blocked by
the Content-Security-Policy (the charts are SVG drawn with attributes, not styles)."""

import re

import pytest
from sqlalchemy import select

from bando.allocation import operations
from bando.applications.models import Application
from bando.budget.models import Award
from bando.calls.models import Edition
from bando.core.extensions import db
from tests.allocation_factories import ranked_world
from tests.browser.test_applicant_journey import PHONE, assert_no_sideways_scroll
from tests.browser.test_officer import sign_in
from tests.browser.test_security import LISTEN
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def world(allocated=False):
    """cap 40.000, skip: two proposals of 16.000 funded, one of 12.000 in reserve (8.000
    left); committed for the browser's server."""
    edition, officer, rows = ranked_world([16000, 16000, 12000], cap_euro=40000)
    if allocated:
        operations.run(edition, officer)
    db.session.commit()
    found = {
        "code": edition.code,
        "officer": officer.email,
        "applications": [a.id for a, _ in rows],
        "owners": [owner.email for _, owner in rows],
    }
    db.session.rollback()  # end the read: the browser's server writes next
    return found


def state_of(application_id):
    found = db.session.get(Application, application_id).state
    db.session.rollback()
    return found


def edition_state(code):
    found = db.session.scalar(select(Edition.state).where(Edition.code == code))
    db.session.rollback()
    return found


def fits_the_phone(page, name, shot):
    assert_no_sideways_scroll(page, name)
    if page.evaluate("typeof window.__violations") != "undefined":
        assert page.evaluate("window.__violations") == [], name
    shot(page, f"phone-{name}")


def test_the_officer_simulates_compares_and_allocates(app, browser_context, shot):
    found = world()
    code, (first, second, third) = found["code"], found["applications"]
    path = f"/istruttoria/bandi/{code}/assegnazione"
    officer = browser_context(java_script_enabled=False).new_page()
    sign_in(officer, found["officer"], path, password=PASSWORD)

    # The call's rules: the third waits in the reserve list.
    own = officer.locator('[data-simulation="own"]')
    assert "€ 32.000,00" in own.locator('[data-field="committed"]').inner_text()
    assert "€ 8.000,00" in own.locator('[data-field="residual"]').inner_text()
    assert officer.locator('[data-simulation="other"]').count() == 0

    # The alternative: partial awards from half of the request; the third gets 8.000.
    officer.select_option("#on_insufficient", "partial")
    officer.fill("#min_partial_share", "50")
    officer.get_by_role("button", name="Confronta").click()
    officer.wait_for_url(re.compile(r"on_insufficient=partial"))
    assert officer.locator("[data-differences]").get_attribute("data-differences") == "1"
    row = officer.locator(f'tr[data-application="{third}"]')
    assert row.get_attribute("data-differs") is not None
    assert "esito diverso" in row.inner_text()
    assert "finanziata in parte: € 8.000,00 su € 12.000,00 richiesti" in row.inner_text()
    assert officer.locator(f'tr[data-application="{first}"]').get_attribute("data-differs") is None
    shot(officer, "comparison")

    # The same on a phone: the comparison and the confirmation fit, nothing is written.
    phone = browser_context(viewport=PHONE, java_script_enabled=False).new_page()
    sign_in(phone, found["officer"], path, password=PASSWORD)
    phone.goto(f"{path}?on_insufficient=partial&min_partial_share=50")
    fits_the_phone(phone, "simulation", shot)
    phone.get_by_role("button", name="Assegna i contributi…").click()
    assert phone.locator("h1").inner_text() == "Assegnare i contributi?"
    fits_the_phone(phone, "confirm-run", shot)
    assert edition_state(code) == "ranked"

    # Allocate: the confirmation repeats the call's own decisions, then the run.
    officer.get_by_role("button", name="Assegna i contributi…").click()
    consequence = officer.locator("[data-consequence]").inner_text()
    assert "2 domande finanziate, per un totale di € 32.000,00" in consequence
    reason = officer.locator(f'tr[data-application="{third}"] [data-reason]').inner_text()
    assert "in riserva: posizione 1" in reason
    shot(officer, "confirm-run")
    officer.get_by_role("button", name="Conferma: assegna i contributi").click()
    officer.wait_for_url(re.compile(r"/assegnazione#esito$"))
    assert (
        "Contributi assegnati: 2 domande finanziate"
        in officer.locator(".alert-success").inner_text()
    )
    outcome = officer.locator("[data-outcome-table]")
    assert (
        "le risorse residue (€ 8.000,00) non coprono la richiesta di € 12.000,00"
        in outcome.locator(f'tr[data-application="{third}"]').inner_text()
    )
    assert officer.locator("[data-runs] tbody tr").count() == 1
    shot(officer, "allocated")
    assert edition_state(code) == "allocated"
    assert [state_of(i) for i in (first, second, third)] == ["funded", "funded", "reserve"]

    # On a phone: the allocated call, the revocation's form and the public call page.
    for name, target in (
        ("allocated", path),
        ("revoke", f"/istruttoria/domande/{second}/revoca"),
        ("call", f"/bandi/{code}"),
    ):
        assert phone.goto(target).status == 200
        fits_the_phone(phone, name, shot)
    assert phone.locator("[data-budget-table] tbody tr").count() == 3


def test_the_applicant_reads_why_and_accepts(app, browser_context, shot):
    found = world(allocated=True)
    (first, _second, third) = found["applications"]
    page = browser_context(viewport=PHONE).new_page()
    page.add_init_script(LISTEN)  # what the policy would block, on every page below
    page.goto(f"/bandi/{found['code']}")
    assert page.locator("[data-budget-dashboard] svg[data-bar]").count() == 3
    fits_the_phone(page, "call-with-javascript", shot)
    sign_in(page, found["owners"][2], "/domande", password=PASSWORD)
    card = page.locator(f'[data-application="{third}"]')
    assert "in riserva: posizione 1; le risorse residue (€ 8.000,00) non coprono la richiesta" in (
        card.locator("[data-allocation-reason]").inner_text()
    )
    card.get_by_role("link", name="Esito e contributo").click()
    assert "97,00 punti su 100" in page.locator("[data-points]").inner_text()
    fits_the_phone(page, "reserve", shot)

    page = browser_context(viewport=PHONE).new_page()
    page.add_init_script(LISTEN)
    sign_in(page, found["owners"][0], "/domande", password=PASSWORD)
    card = page.locator(f'[data-application="{first}"]')
    assert card.locator("[data-award-line]").inner_text() == "Contributo: € 16.000,00"
    next_step = card.locator("[data-next-step]").inner_text()
    assert re.fullmatch(
        r"Accettare il contributo entro (il |l')\d\d/\d\d/\d{4} ore 23:59; a progetto "
        r"concluso, inviare la rendicontazione",
        next_step,
    ), next_step
    fits_the_phone(page, "dashboard", shot)
    card.get_by_role("link", name="Accetta o rinuncia al contributo").click()
    page.wait_for_url(f"**/domande/{first}/contributo")
    assert page.locator("[data-award-amount]").inner_text() == "€ 16.000,00"
    assert "finanziata per intero (€ 16.000,00)" in page.locator("[data-explanation]").inner_text()
    fits_the_phone(page, "award", shot)

    page.get_by_role("link", name="Rinuncia al contributo").click()
    assert "non si può annullare" in page.locator("[data-consequence]").inner_text()
    fits_the_phone(page, "renounce", shot)
    page.get_by_role("link", name="No, torna indietro").click()

    page.get_by_role("link", name="Accetta il contributo").click()
    page.wait_for_url(f"**/domande/{first}/contributo/accetta")
    fits_the_phone(page, "accept", shot)
    page.get_by_role("button", name="Conferma: accetta il contributo").click()
    page.wait_for_url(f"**/domande/{first}/contributo")
    assert "Contributo accettato." in page.locator(".alert-success").inner_text()
    # "accettato il 15/12/2026", or elided before 1, 8 and 11: "accettato l'08/12/2026".
    assert re.match(r"accettato (il |l')\d\d/", page.locator("[data-award-state]").inner_text())
    assert page.get_by_role("link", name="Accetta il contributo").count() == 0
    fits_the_phone(page, "accepted", shot)
    accepted = db.session.scalar(select(Award.accepted_at).where(Award.application_id == first))
    db.session.rollback()
    assert accepted is not None
    assert state_of(first) == "funded"
