"""The officer's pages in a real browser: a request for documents through the proposal's
page and its confirmation, without JavaScript, read by the applicant on the dashboard; a
document opened in Chromium's PDF viewer; the list, the proposal, the committee and the
ranking on a phone, without sideways scrolling."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from bando.accounts.models import Organisation
from bando.applications.models import Application
from bando.core.extensions import db
from bando.core.models import AuditEvent
from bando.core.timeutil import to_rome, utcnow
from bando.demo import PASSWORD
from bando.evaluation import operations as evaluation
from bando.ranking import operations as ranking
from tests.browser.test_applicant_journey import PHONE, assert_no_sideways_scroll
from tests.evaluation_factories import committee_world, scores
from tests.factories import PASSWORD as TEST_PASSWORD

pytestmark = pytest.mark.browser

OFFICER = "istruttore@bando.demo"
APPLICANT = "insieme.gratosoglio@bando.demo"
REASON = "Allegare il verbale dell'assemblea che approva il progetto."
PDF_VIEWER = "chrome-extension://mhjfbmdgcfjbbpaeojofohoefgiehjai/"


def sign_in(page, email, next_path, password=PASSWORD):
    page.goto(f"/accedi?next={next_path}")
    page.fill("#email", email)
    page.fill("#password", password)
    page.locator("main").get_by_role("button", name="Accedi").click()
    page.wait_for_url(f"**{next_path}")
    assert "Accesso effettuato." in page.locator(".bando-messages").inner_text()


def gratosoglio_application():
    application = db.session.scalar(
        select(Application).join(Organisation).where(Organisation.name == "Gratosoglio Insieme ODV")
    )
    found = (application.id, application.protocol, application.state)
    db.session.rollback()  # end the read: the browser's server writes next
    return found


def events_of(application_id):
    rows = db.session.scalars(
        select(AuditEvent).where(AuditEvent.application_id == application_id)
    ).all()
    found = [(e.trigger, e.to_state, e.reason) for e in rows]
    db.session.rollback()
    return found


def rome_day_in(days):
    return (to_rome(utcnow()).date() + timedelta(days=days)).strftime("%d/%m/%Y")


def test_officer_requests_documents_and_the_applicant_sees_the_deadline(
    demo, browser_context, shot
):
    application_id, protocol, state = gratosoglio_application()
    assert state == "submitted"
    officer = browser_context(java_script_enabled=False).new_page()
    sign_in(officer, OFFICER, "/istruttoria/")
    officer.select_option("#bando", "cdq-demo")
    officer.select_option("#stato", "submitted")
    officer.get_by_role("button", name="Mostra").click()
    officer.wait_for_url(re.compile(r"/istruttoria/\?bando=cdq-demo&stato=submitted"))
    row = officer.locator(f'tr[data-application="{application_id}"]')
    assert protocol in row.inner_text() and "Gratosoglio Insieme ODV" in row.inner_text()
    shot(officer, "istruttoria")
    row.get_by_role("link", name=protocol).click()
    officer.wait_for_url(f"**/istruttoria/domande/{application_id}")
    shot(officer, "domanda")

    # A request for documents without its reason is refused and changes nothing.
    before = events_of(application_id)
    officer.get_by_role("button", name="Richiedi integrazione").click()
    assert "indicare la motivazione" in officer.locator("[data-refusal]").inner_text()
    assert events_of(application_id) == before
    assert gratosoglio_application()[2] == "submitted"
    shot(officer, "domanda-refused")

    expected_days = {rome_day_in(10)}
    officer.locator("#reason").fill(REASON)
    officer.get_by_role("button", name="Richiedi integrazione").click()
    # The confirmation repeats what will happen, with the deadline, before anything moves.
    consequence = officer.locator("[data-consequence]").inner_text()
    assert "potrà rispondere entro" in consequence
    assert REASON in officer.locator("[data-reason]").inner_text()
    assert gratosoglio_application()[2] == "submitted"
    shot(officer, "domanda-confirm")
    officer.get_by_role("button", name=re.compile("^Conferma")).click()
    officer.wait_for_url(f"**/istruttoria/domande/{application_id}")
    expected_days.add(rome_day_in(10))  # the same day unless Rome's midnight just passed
    assert f"Domanda {protocol}" in officer.locator(".alert-success").inner_text()
    assert "L'ente può rispondere entro" in officer.locator("[data-integration]").inner_text()
    assert gratosoglio_application()[2] == "integration_requested"
    shot(officer, "domanda-requested")

    # The organisation, in its own browser, reads the request and the deadline.
    applicant = browser_context(java_script_enabled=False).new_page()
    sign_in(applicant, APPLICANT, "/domande")
    card = applicant.locator(f'[data-application="{application_id}"]')
    assert card.locator("[data-state]").inner_text() == "Integrazione richiesta"
    next_step = card.locator("[data-next-step]").inner_text()
    # "entro il 15/12/2026", or elided before 1, 8 and 11: "entro l'08/12/2026".
    found = re.fullmatch(
        r"Integrazione richiesta: rispondere entro (il |l')(\d\d/\d\d/\d{4})", next_step
    )
    assert found, next_step
    assert (found.group(1) == "l'") == (found.group(2)[:2] in ("01", "08", "11"))
    deadline = found.group(1) + found.group(2)
    assert found.group(2) in expected_days
    assert REASON in card.locator("blockquote").inner_text()
    assert card.get_by_role("link", name="Rispondi alla richiesta").count() == 1

    # The timeline lists the submission and the request, oldest first, with the reason.
    timeline = card.locator(".bando-timeline > li")
    assert [li.get_attribute("data-trigger") for li in timeline.all()] == [
        "submit",
        "request_integration",
    ]
    assert protocol in timeline.nth(0).inner_text()
    request = timeline.nth(1).inner_text()
    assert REASON in request and f"rispondere entro {deadline}" in request
    assert OFFICER not in request  # staff are named by role, not by address
    shot(applicant, "dashboard-integration")

    assert [t for t, _, _ in events_of(application_id)] == ["submit", "request_integration"]


def viewer_state(frame):
    """What Chromium's PDF viewer has read of the document: pages and title (None until
    it has loaded it)."""
    return frame.evaluate(
        "typeof viewer !== 'undefined' && viewer.docLength_"
        " ? [viewer.docLength_, viewer.title_] : null"
    )


def test_the_officer_reads_a_document_in_the_browser(demo, browser_context, shot):
    application_id, _, _ = gratosoglio_application()
    context = browser_context(accept_downloads=True)
    officer = context.new_page()
    sign_in(officer, OFFICER, f"/istruttoria/domande/{application_id}")
    downloads = []
    context.on("page", lambda page: page.on("download", lambda d: downloads.append(d)))
    link = officer.locator('tr[data-kind="statuto"] a[data-open]')
    with context.expect_page() as opened:
        link.click()
    document = opened.value
    document.wait_for_load_state()
    assert document.url.endswith(f"/istruttoria/domande/{application_id}/allegati/statuto")
    # Served inline, sandboxed: shown by the browser's own viewer, not saved.
    headers = context.request.get(document.url).headers
    assert headers["content-disposition"] == 'inline; filename="statuto.pdf"'
    assert "sandbox" in headers["content-security-policy"]
    assert downloads == []
    viewer = None
    for _ in range(100):  # the viewer loads in its own frame, after the page
        viewer = next((f for f in document.frames if f.url.startswith(PDF_VIEWER)), None)
        if viewer is not None and viewer_state(viewer):
            break
        document.wait_for_timeout(100)
    assert viewer is not None, [f.url for f in document.frames]
    pages, title = viewer_state(viewer)
    assert pages == 1 and title == "statuto"  # the demo's PDF, read by the viewer
    shot(document, "statuto")


@pytest.fixture
def ranked_call(app):
    """A closed call with a committee, every proposal scored and the ranking approved, and
    another still to approve; committed for the browser's server."""
    edition, officer, members, applications = committee_world(proposals=4)
    open_call, *_ = committee_world(proposals=0)
    for member in members:
        evaluation.sign_declaration(edition, member, [])
        for application, points in zip(
            applications, [(35, 25, 20), (30, 25, 20), (20, 10, 15), (38, 28, 28)], strict=True
        ):
            evaluation.save_review(
                application, member, scores(edition, *points), "motivazione", submit=True
            )
    ranking.approve(edition, officer)
    db.session.commit()
    found = (edition.code, officer.email, applications[0].id)
    db.session.rollback()
    return found


def test_the_officer_pages_fit_a_phone(ranked_call, browser_context, shot):
    code, officer_email, application_id = ranked_call
    page = browser_context(viewport=PHONE, java_script_enabled=False).new_page()
    sign_in(page, officer_email, f"/istruttoria/?bando={code}", password=TEST_PASSWORD)
    paths = {
        "list": f"/istruttoria/?bando={code}",
        "proposal": f"/istruttoria/domande/{application_id}",
        "committee": f"/istruttoria/bandi/{code}/commissione",
        "reviews": f"/istruttoria/bandi/{code}/commissione/domande/{application_id}",
        "ranking": f"/istruttoria/bandi/{code}/graduatoria",
        "public": f"/bandi/{code}/graduatoria",
    }
    for name, path in paths.items():
        response = page.goto(path)
        assert response.status == 200, (name, path)
        assert_no_sideways_scroll(page, name)
        shot(page, f"phone-{name}")
    assert page.locator("table[data-ranking=overall] tbody tr").count() == 4
