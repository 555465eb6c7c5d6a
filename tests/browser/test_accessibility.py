"""axe-core (WCAG 2.1 A and AA) on the public pages, which the journey of test_journey.py
passes through only in part; and axe itself, shown to find what it must, so that a green
journey means the pages passed and not that nothing was checked."""

import pytest

from bando.demo import DEMO_CODE
from tests.browser.a11y import axe_source, axe_violations
from tests.browser.test_applicant_journey import PUBLIC_PAGES

pytestmark = pytest.mark.browser

BROKEN = """<!doctype html><html lang="it"><head><title>Prova</title></head><body><main>
<h1>Modulo</h1>
<p style="color:#aaa;background:#fff">Testo chiaro su bianco, poco contrasto.</p>
<input type="text" name="senza-etichetta">
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
</main></body></html>"""


def test_axe_finds_the_violations_of_a_broken_page(chromium):
    page = chromium.new_page()
    try:
        page.set_content(BROKEN)
        found = {v["id"] for v in axe_violations(page, axe_source())}
    finally:
        page.close()
    assert {"color-contrast", "label", "image-alt"} <= found, found


def test_the_public_pages_have_no_serious_violation(demo, browser_context):
    source = axe_source()
    page = browser_context().new_page()
    found = {}
    for path in [*PUBLIC_PAGES, f"/bandi/{DEMO_CODE}?lang=en", "/come-funziona?lang=en"]:
        assert page.goto(path).status == 200, path
        if violations := axe_violations(page, source):
            found[path] = violations
    assert found == {}, found
