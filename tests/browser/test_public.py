"""The public pages in a real browser: the calls, a call's page, the language switch."""

import pytest

pytestmark = pytest.mark.browser

NEIGHBOURHOODS = ("San Siro", "Molise-Calvairate", "Gratosoglio", "Ponte Lambro", "Mazzini")


def test_home_lists_the_calls_with_their_caps_in_italian(demo, browser_context, shot):
    page = browser_context().new_page()
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "it"
    assert page.locator("h1").inner_text() == "Bandi di contributi"
    cards = page.locator("article.card-wrapper")
    titles = cards.locator("h3").all_inner_texts()
    assert any("2017/2018" in t for t in titles) and any("2019" in t for t in titles)
    card_2017 = cards.filter(has_text="2017/2018")
    card_2019 = cards.filter(has_text="annualità 2019")
    assert "€ 94.000,00" in card_2017.inner_text()
    assert "€ 80.000,00" in card_2019.inner_text()
    # The demo call is open today; the shipped ones are past their deadline, and the
    # demo's assigned call shows its grants.
    demo = cards.filter(has_text="dimostrativa")
    assert demo.count() == 2
    assert "Aperto" in demo.filter(has_not_text="già assegnata").inner_text()
    assert "Contributi assegnati" in demo.filter(has_text="già assegnata").inner_text()
    shot(page, "home-it")


def test_call_page_shows_neighbourhoods_and_guidelines(demo, browser_context, shot):
    page = browser_context().new_page()
    page.goto("/")
    page.get_by_role("link", name="Bando contributi ambiti CdQ — annualità 2019").first.click()
    page.wait_for_url("**/bandi/cdq-2019")
    assert "annualità 2019" in page.locator("h1").inner_text()
    hoods = page.locator("#hoods-heading + .row article")
    assert hoods.locator("h3").all_inner_texts() == list(NEIGHBOURHOODS)
    gratosoglio = page.locator("#quartiere-gratosoglio")
    assert "GR1" in gratosoglio.inner_text()
    assert "stabili ERP" in gratosoglio.inner_text()
    # Every neighbourhood lists at least one guideline, each with its code.
    for slug in ("san-siro", "molise-calvairate", "gratosoglio", "ponte-lambro", "mazzini"):
        assert page.locator(f"#quartiere-{slug} .bando-guidelines li").count() >= 1
    shot(page, "call-2019-it")


def test_switching_to_english_changes_the_headings(demo, browser_context, shot):
    page = browser_context().new_page()
    page.goto("/bandi/cdq-2019")
    assert page.locator("#hoods-heading").inner_text() == "Quartieri e linee di indirizzo"
    assert page.locator("#rules-heading").inner_text() == "Regole del bando"

    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#hoods-heading").inner_text() == "Neighbourhoods and guidelines"
    assert page.locator("#rules-heading").inner_text() == "Rules of the call"
    shot(page, "call-2019-en")

    # The choice sticks for the next page, and Italian is one click away.
    page.goto("/")
    assert page.locator("h1").inner_text() == "Grant calls"
    # Amounts follow the language too.
    assert "€ 94,000.00" in page.locator("main").inner_text()
    page.get_by_role("link", name="Italiano").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Bandi di contributi"
