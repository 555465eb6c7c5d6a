"""The grants in a real browser: from the navigation to a call's grants and to a funded
project's page, on a phone without sideways scrolling and with nothing blocked by the
Content-Security-Policy; the CSV downloads as a file."""

import pytest

from bando.core.extensions import db
from tests.bando.transparency.world import allocated_world
from tests.browser.test_allocation import fits_the_phone
from tests.browser.test_applicant_journey import PHONE
from tests.browser.test_security import LISTEN

pytestmark = pytest.mark.browser


def test_from_the_navigation_to_a_funded_project(app, browser_context, shot):
    edition, _, world = allocated_world()
    code, title = edition.code, edition.title
    closed = world["closed"]
    project = (closed.id, closed.title, closed.organisation.name)
    db.session.rollback()  # end the read: the browser's server reads next

    page = browser_context().new_page()
    page.add_init_script(LISTEN)
    page.goto("/")
    page.get_by_role("navigation", name="Navigazione principale").get_by_role(
        "link", name="Contributi concessi"
    ).click()
    page.wait_for_url("**/contributi-concessi")
    assert page.locator("h1").inner_text() == "Contributi concessi"
    page.get_by_role("link", name=title).click()
    page.wait_for_url(f"**/contributi-concessi/{code}")
    table = page.get_by_role("table", name=f"Contributi concessi con il bando «{title}»")
    assert table.locator("tbody tr").count() == 3
    with page.expect_download() as download:
        page.get_by_role("link", name="Contributi in CSV").click()
    assert download.value.suggested_filename == f"contributi-{code}.csv"
    shot(page, "call")

    table.locator(f'tr[data-application="{project[0]}"]').get_by_role(
        "link", name=project[1]
    ).click()
    page.wait_for_url(f"**/contributi-concessi/{code}/progetti/{project[0]}")
    assert page.locator("h1").inner_text() == project[1]
    assert project[2] in page.locator("[data-project]").inner_text()
    assert page.evaluate("window.__violations") == []

    phone = browser_context(viewport=PHONE).new_page()
    phone.add_init_script(LISTEN)
    for name, target in (
        ("index", "/contributi-concessi"),
        ("grants", f"/contributi-concessi/{code}"),
        ("project", f"/contributi-concessi/{code}/progetti/{project[0]}"),
    ):
        assert phone.goto(target).status == 200
        fits_the_phone(phone, name, shot)
