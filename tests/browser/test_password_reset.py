"""A forgotten password in Chromium: from the sign-in page to the mailed link, the new
password saved and used; the pages on the way pass axe-core."""

import re

import pytest
from sqlalchemy import select

from bando.core.extensions import db
from bando.core.models import Notification
from tests.browser.a11y import axe_source, axe_violations
from tests.factories import create_user

pytestmark = pytest.mark.browser

NEW = "girasoli-in-piazza-selinunte"


def mailed_link(address) -> str:
    body = db.session.scalars(
        select(Notification.body)
        .where(Notification.to_address == address)
        .order_by(Notification.id.desc())
    ).first()
    db.session.rollback()  # end the read: the browser's server writes next
    return re.search(r"https?://\S+(/password/nuova/\S+)", body).group(1)


def test_a_forgotten_password_is_replaced_through_the_mailed_link(browser_context, shot):
    user = create_user("applicant", "smemorata@example.it")
    db.session.commit()
    source = axe_source()
    page = browser_context().new_page()
    page.goto("/accedi")
    page.get_by_role("link", name="Password dimenticata?").click()
    page.wait_for_url("**/password/dimenticata")
    assert axe_violations(page, source) == []
    page.fill("#email", user.email)
    page.get_by_role("button", name="Invia il collegamento").click()
    page.wait_for_url("**/accedi")
    assert "riceverà a breve un collegamento" in page.locator(".alert").first.inner_text()

    page.goto(mailed_link(user.email))
    assert user.email in page.locator("main").inner_text()
    assert axe_violations(page, source) == []
    page.fill("#password", NEW)
    page.fill("#password_confirm", NEW + "!")
    page.get_by_role("button", name="Salva la nuova password").click()
    assert page.locator('[data-error-for="password_confirm"]').is_visible()
    # The refused field takes the focus: the keyboard starts where the problem is.
    assert page.evaluate("document.activeElement.id") == "password_confirm"
    assert axe_violations(page, source) == []
    shot(page, "reset-refused")
    page.fill("#password", NEW)
    page.fill("#password_confirm", NEW)
    page.get_by_role("button", name="Salva la nuova password").click()
    page.wait_for_url("**/accedi")
    page.fill("#email", user.email)
    page.fill("#password", NEW)
    page.get_by_role("button", name="Accedi").click()
    page.wait_for_url(lambda url: "/accedi" not in url)
    shot(page, "signed-in-with-the-new-password")
