"""The officer asks for documents in a real browser; the applicant sees it on the dashboard."""

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

pytestmark = pytest.mark.browser

OFFICER = "istruttore@bando.demo"
APPLICANT = "insieme.gratosoglio@bando.demo"
REASON = "Allegare il verbale dell'assemblea che approva il progetto."


def sign_in(page, email, next_path):
    page.goto(f"/accedi?next={next_path}")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Accedi").click()
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
    officer = browser_context().new_page()
    sign_in(officer, OFFICER, "/istruttoria/")
    officer.select_option("#bando", "cdq-demo")
    officer.get_by_role("button", name="Mostra").click()
    officer.wait_for_url("**/istruttoria/?bando=cdq-demo")
    card = officer.locator(f"#domanda-{application_id}")
    assert protocol in card.locator("h3").inner_text()
    assert "Gratosoglio Insieme ODV" in card.inner_text()
    shot(officer, "istruttoria")

    # A request for documents without its reason is refused and changes nothing.
    before = events_of(application_id)
    card.get_by_role("button", name="Richiedi integrazione").click()
    officer.wait_for_url("**/istruttoria/?bando=cdq-demo")
    assert "Operazione non eseguita" in officer.locator(".alert-danger").inner_text()
    assert events_of(application_id) == before
    assert gratosoglio_application()[2] == "submitted"
    shot(officer, "istruttoria-refused")

    expected_days = {rome_day_in(10)}
    card = officer.locator(f"#domanda-{application_id}")
    card.locator("textarea[name=reason]").fill(REASON)
    card.get_by_role("button", name="Richiedi integrazione").click()
    officer.wait_for_url("**/istruttoria/?bando=cdq-demo")
    expected_days.add(rome_day_in(10))  # the same day unless Rome's midnight just passed
    assert f"Domanda {protocol}" in officer.locator(".alert-success").inner_text()
    card = officer.locator(f"#domanda-{application_id}")
    assert "integrazione richiesta, termine" in card.inner_text()
    assert gratosoglio_application()[2] == "integration_requested"
    shot(officer, "istruttoria-requested")

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
