"""The hardening seen from a real Chromium: the pages run under the Content-Security-Policy
with nothing blocked, and an upload over the limit ends on the Italian 413 page (served by
gunicorn, which does not read a refused body by itself)."""

import pytest
from sqlalchemy import select

from bando.accounts.models import User
from bando.applications.models import Application
from bando.core.extensions import db
from bando.core.security import CONTENT_SECURITY_POLICY as POLICY
from bando.demo import DEMO_CODE
from tests.serving import Gunicorn

pytestmark = pytest.mark.browser

APPLICANT = "biblioteca.sansiro@bando.demo"
DEMO_PASSWORD = "demo-bando-2019"

# Each page reports what the policy blocks; Playwright's init script is not subject to it.
LISTEN = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", e => {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def draft_of(email) -> int:
    application_id = db.session.scalar(
        select(Application.id)
        .join(User, Application.created_by_id == User.id)
        .where(User.email == email, Application.state == "draft")
    )
    db.session.rollback()  # end the read: the browser's server writes next
    assert application_id
    return application_id


def sign_in(page, email):
    page.goto("/accedi")
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.get_by_role("button", name="Accedi").click()
    page.wait_for_url(lambda url: "/accedi" not in url)


def watched_page(context):
    page = context.new_page()
    page.add_init_script(LISTEN)
    console = []
    page.on("console", lambda message: console.append(message.text))
    return page, console


def test_the_pages_run_under_the_policy_with_nothing_blocked(demo, browser_context, shot):
    draft = draft_of(APPLICANT)
    page, console = watched_page(browser_context())
    visited = {}
    for path in ("/", f"/bandi/{DEMO_CODE}", "/come-funziona"):
        response = page.goto(path)
        visited[path] = (
            response.headers.get("content-security-policy"),
            page.evaluate("window.__violations"),
        )
    sign_in(page, APPLICANT)
    response = page.goto(f"/domande/{draft}")
    assert page.locator("form input[type=file]").count() >= 1  # the applicant's form
    visited["form"] = (
        response.headers.get("content-security-policy"),
        page.evaluate("window.__violations"),
    )
    shot(page, "applicant-form-under-csp")
    # The kit's script ran (it adds its classes to the page) and nothing was refused.
    assert page.evaluate("typeof window.bootstrap") == "object"
    for path, (policy, violations) in visited.items():
        assert policy == POLICY, path
        assert violations == [], (path, violations, console)
    assert not [text for text in console if "Content Security Policy" in text], console
    assert not [text for text in console if "Permissions-Policy" in text], console

    # The listener does catch what the policy forbids: an inline style attribute.
    page.evaluate("document.body.setAttribute('style', 'color: red')")
    page.wait_for_function("window.__violations.length > 0")
    assert page.evaluate("window.__violations")[0].startswith("style-src")


def test_the_pages_cannot_be_framed(demo, browser_context, live_server):
    """Any page that frames bando (here the officer's desk, where decisions are taken) gets
    Chrome's refusal instead of the page: frame-ancestors 'none'."""
    page = browser_context().new_page()
    with page.expect_console_message(lambda m: "frame-ancestors" in m.text) as refusal:
        page.set_content(f'<iframe id="f" src="{live_server.url}/istruttoria/"></iframe>')
    assert "frame-ancestors 'none'" in refusal.value.text
    assert page.frame_locator("#f").locator("#email").count() == 0  # no sign-in form in it


@pytest.fixture
def served(app, tmp_path, demo):
    settings = {
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "BABEL_TRANSLATION_DIRECTORIES": app.config["BABEL_TRANSLATION_DIRECTORIES"],
        "ARGON2": app.config["ARGON2"],
        "SECRET_KEY": "gunicorn-browser-tests-" + "x" * 32,
        "MAIL_SERVER": None,
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "MAX_ATTACHMENT_BYTES": 512 * 1024,
    }
    db.session.commit()
    with Gunicorn(tmp_path / "gunicorn-instance", settings) as server:
        yield server


def test_an_upload_over_the_limit_shows_the_italian_page(served, chromium, tmp_path, shot):
    draft = draft_of(APPLICANT)
    big = tmp_path / "scansione-enorme.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * (24 * 1024 * 1024))
    context = chromium.new_context(base_url=served.url, locale="it-IT")
    context.set_default_timeout(60_000)
    try:
        page = context.new_page()
        sign_in(page, APPLICANT)
        page.goto(f"/domande/{draft}")
        file_input = page.locator("input[type=file]").first
        file_input.set_input_files(str(big))
        form = file_input.locator("xpath=ancestor::form")
        with page.expect_navigation():
            form.locator("[type=submit]").last.click()
        shot(page, "upload-over-the-limit")
        assert page.locator("h1").inner_text() == "Il file o la richiesta sono troppo grandi."
        text = page.locator("main").inner_text()
        assert "Errore 413" in text.replace("ERRORE", "Errore")
        assert "al massimo 0,5 MB" in text and "al massimo 1 MB" in text
        assert page.get_by_role("link", name="Torna all'elenco dei bandi").count() == 1
    finally:
        context.close()
