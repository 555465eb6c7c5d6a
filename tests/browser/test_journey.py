"""The whole journey of a call in a real Chromium, through the pages only, as its people
meet it: an association registers, confirms its e-mail address (the link arrives by SMTP
on loopback), writes and submits its proposal with the PDFs; the officer asks for a
document and the association answers; the officer declares it eligible and forms the
committee; three evaluators sign their declaration and score; the officer approves and
publishes the ranking, simulates an alternative and allocates; the association accepts
its award, finance issues the letters and downloads the award letter (read back), and
pays the advance; another winner renounces and the first on the
reserve list is funded; the association files its final report, finance admits the
expenses, approves and pays the balance; the public reads the transparency pages.

The association does all of it with the keyboard only (tests/browser/a11y.py: Tab,
Shift+Tab, Enter, Space, arrows). axe-core checks every page reached, signed in or not:
no serious or critical WCAG 2.1 A/AA violation. Each page is shot on a desktop (1280×800)
and on a phone (390×844, mobile) into $BANDO_SCREENSHOTS or test-artifacts/journey/.

The journey is the ordered list STEPS: plain functions taking the Journey `j`, run in
order by the one test, each starting from where the ones before it left the people and
their browsers. To add a part of the lifecycle, write its step(s) here and put them in
STEPS at their place in the story. A step:
  - gets a person's browser with `j.page("who")` (one context each, kept between steps:
    "association", "officer", "public", "evaluator-1"…), or signs a person in with
    `j.sign_in("who", email, next_path)`; the association uses only `j.keyboard`
    (`follow` a link or button, `type`, `choose`, `tick`, `attach`, `press`);
  - calls `j.arrive(page, "name")` on every page it reaches: axe, then the screenshots;
  - reads the database only to assert (`j.state(application_id)`), never to act;
  - finds what it needs in `j.world` (the call's code, the staff's e-mails, the other
    proposals) and `j.facts` (what earlier steps learned: the association's
    application id and protocol…), and adds what later steps need to `j.facts`.
"""

import os
import re
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from pypdf import PdfReader
from sqlalchemy import select

from bando.applications.models import Application
from bando.calls.models import Edition
from bando.core.extensions import db
from bando.core.timeutil import utcnow
from tests.bando.core.test_mail import Inbox, free_port
from tests.browser.a11y import Keyboard, axe_source, axe_violations, phone_screenshot
from tests.browser.conftest import TIMEOUT_MS, serve
from tests.browser.test_applicant import pdf_file
from tests.factories import (
    PASSWORD,
    create_edition,
    create_organisation,
    create_user,
    entity_tax_code,
)
from tests.lifecycle_factories import create_application, put_in_state

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DESKTOP = {"width": 1280, "height": 800}

ORG_NAME = "Associazione Cortili in Rete Gratosoglio APS"
EMAIL = "cortili.rete@example.it"
APPLICANT_PASSWORD = "cortili-in-rete-2019"
TAX_CODE = entity_tax_code(765432)
REQUEST = "Allegare il verbale dell'assemblea che approva il progetto."

# Points per criterion (coherence /40, network /30, sustainability /30) of each evaluator:
# the association first, the other winner second, the third in the reserve list.
POINTS = {
    "ours": [(38, 28, 27), (36, 27, 28), (37, 29, 26)],
    "winner": [(33, 25, 24), (32, 24, 25), (34, 23, 24)],
    "reserve": [(30, 22, 21), (29, 21, 22), (31, 20, 21)],
}


@dataclass
class Journey:
    """What the steps share: the server, the people's browsers, the mailbox, the call and
    what the steps learn on the way (`facts`)."""

    url: str
    new_context: object
    inbox: Inbox
    runner: object
    folder: Path
    files: Path
    axe: str
    world: dict
    facts: dict = field(default_factory=dict)
    pages: dict = field(default_factory=dict)
    audited: list = field(default_factory=list)
    shots: list = field(default_factory=list)
    timings: list = field(default_factory=list)
    keyboard: Keyboard | None = None

    def page(self, who: str):
        """The browser of a person (one context each, a desktop's window)."""
        if who not in self.pages:
            context = self.new_context(viewport=DESKTOP, accept_downloads=True)
            self.pages[who] = context.new_page()
        return self.pages[who]

    def arrive(self, page, name: str) -> None:
        """On every page reached: axe finds nothing serious, then the two screenshots."""
        page.wait_for_load_state("load")
        found = axe_violations(page, self.axe)
        self.audited.append(page.url)
        assert found == [], f"{name} ({page.url}): {found}"
        desktop = self.folder / f"{len(self.shots) + 1:02d}-{name}-desktop.png"
        page.screenshot(path=str(desktop), full_page=True)
        phone = desktop.with_name(desktop.name.replace("-desktop", "-phone"))
        phone_screenshot(page, phone, DESKTOP)
        self.shots.append(name)

    def sign_in(self, who: str, email: str, next_path: str, password: str = PASSWORD):
        """Staff and the other associations sign in with the mouse; the association of
        the journey does it with the keyboard (its own step)."""
        page = self.page(who)
        page.goto(f"/accedi?next={next_path}")
        page.fill("#email", email)
        page.fill("#password", password)
        page.locator("main").get_by_role("button", name="Accedi").click()
        page.wait_for_url(f"**{next_path}")
        return page

    def state(self, application_id: int) -> str:
        found = db.session.get(Application, application_id).state
        db.session.rollback()  # end the read: the browser's server writes next
        return found

    def mail_to(self, address: str, subject_part: str):
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while time.monotonic() < deadline:
            for recipients, message in self.inbox.messages():
                if address in recipients and subject_part in message["Subject"]:
                    return message
            time.sleep(0.05)
        raise AssertionError(f"no «{subject_part}» mail to {address}")


def world() -> dict:
    """The call open for submissions (cap € 20.000: two proposals funded, the third in the
    reserve list), its staff and two other associations with eligible proposals; committed
    for the browser's server. Test setup only: the other proposals are put in their state."""
    edition = create_edition(
        cap_cents=20_000_00,
        max_grant_cents=10_000_00,
        on_insufficient="skip",
        neighbourhoods=("gratosoglio", "san-siro"),
    )
    officer = create_user("officer", "istruttore@comune.example.it")
    finance = create_user("finance", "ragioneria@comune.example.it")
    evaluators = [create_user("evaluator", f"valutatore{n}@comune.example.it") for n in (1, 2, 3)]
    others = {}
    for key, name in (("winner", "Quartiere Vivo ODV"), ("reserve", "Orti di Gratosoglio APS")):
        organisation = create_organisation(name)
        owner = create_user("applicant", f"{key}@example.it", organisation=organisation)
        application = create_application(edition, organisation, owner, title=f"Progetto di {name}")
        put_in_state(application, "eligible")
        others[key] = (application.id, owner.email)
    db.session.commit()
    found = {
        "code": edition.code,
        "title": edition.title,
        "starts": edition.project_starts_on,
        "officer": officer.email,
        "finance": finance.email,
        "evaluators": [e.email for e in evaluators],
        "winner": others["winner"][0],
        "winner_email": others["winner"][1],
        "reserve": others["reserve"][0],
        "reserve_email": others["reserve"][1],
    }
    db.session.rollback()
    return found


# --- the association, with the keyboard only ----------------------------------------------


def register(j: Journey):
    page = j.page("association")
    keys = j.keyboard = Keyboard(page)
    page.goto("/")
    j.arrive(page, "home")
    keys.follow('header a[href="/registrazione"]')
    page.wait_for_url("**/registrazione")
    keys.type("#name", ORG_NAME)
    keys.type("#tax_code", TAX_CODE[:-1] + str((int(TAX_CODE[-1]) + 1) % 10))
    keys.choose("#legal_form", "aps")
    keys.type("#pec", "cortilirete@pec.example.it")
    keys.type("#address", "via Saponaro 20, 20142 Milano")
    keys.type("#legal_representative", "Giulia Colombo")
    keys.type("#full_name", "Giulia Colombo")
    keys.type("#email", EMAIL)
    keys.type("#password", APPLICANT_PASSWORD)
    keys.type("#password_confirm", APPLICANT_PASSWORD)
    j.arrive(page, "registration")
    keys.follow('main button[type="submit"]')
    # Refused, the message next to the field (the passwords are never sent back).
    assert "controllo" in page.locator('[data-error-for="tax_code"]').inner_text()
    j.arrive(page, "registration-error")
    keys.type("#tax_code", TAX_CODE)
    keys.type("#password", APPLICANT_PASSWORD)
    keys.type("#password_confirm", APPLICANT_PASSWORD)
    keys.follow('main button[type="submit"]')
    page.wait_for_url("**/registrazione/inviata")
    j.arrive(page, "registered")


def confirm_email(j: Journey):
    message = j.mail_to(EMAIL, "onferm")
    link = re.search(r"https?://\S+/conferma/\S+", message.get_content()).group(0)
    assert link.startswith(j.url), link  # the server's own address, not a forged host
    page, keys = j.page("association"), j.keyboard
    page.goto(link)  # opened from the mail
    j.arrive(page, "confirm-email")
    keys.follow('main button[type="submit"]')
    page.wait_for_url("**/accedi*")
    assert "confermat" in page.locator(".bando-messages").inner_text()


def sign_in_association(j: Journey):
    page, keys = j.page("association"), j.keyboard
    j.arrive(page, "sign-in")
    keys.type("#email", EMAIL)
    keys.type("#password", APPLICANT_PASSWORD)
    keys.follow('main button[type="submit"]')
    page.wait_for_url("**/domande")
    assert ORG_NAME in page.locator("h1").inner_text()
    j.arrive(page, "dashboard-new")


def write_proposal(j: Journey):
    page, keys = j.page("association"), j.keyboard
    keys.choose("#edition", j.world["code"])
    keys.follow('main form button[type="submit"]')
    page.wait_for_url(re.compile(r"/domande/\d+$"))
    j.facts["application"] = int(page.url.rsplit("/", 1)[1])
    keys.choose("#neighbourhood", "gratosoglio")
    keys.tick('input[name="guidelines"][value="GR1"]')
    keys.type("#title", "Cortili in rete: compiti e merende")
    keys.type("#summary", "Doposcuola e gioco nei cortili di via Saponaro.")
    keys.type("#description", "Tre pomeriggi a settimana con educatori e volontari.")
    keys.type("#objectives", "Quaranta bambini seguiti; una festa di cortile.")
    keys.type("#places", "Cortili di via Saponaro e biblioteca di quartiere.")
    keys.type("#timeline", "Avvio, attività settimanali, festa finale.")
    keys.date("#start_date", j.world["starts"])
    keys.date("#end_date", j.world["starts"] + timedelta(days=180))
    keys.type("#partners-0-name", "Biblioteca Chiesa Rossa")
    keys.type("#partners-0-role", "ospita i compiti nei giorni di pioggia")
    for row, (category, description, amount) in enumerate(
        [
            ("personale", "Educatori (240 ore)", "6.000,00"),
            ("materiali", "Giochi e cancelleria", "2.500,00"),
            ("comunicazione", "Locandine nei caseggiati", "1.500,00"),
        ]
    ):
        keys.choose(f"#budget-{row}-category", category)
        keys.type(f"#budget-{row}-description", description)
        keys.type(f"#budget-{row}-amount", amount)
    keys.type("#requested_amount", "8.500,00")
    keys.type("#cofinancing_amount", "1.500,00")
    keys.follow("#save")
    page.wait_for_url(re.compile(rf"/domande/{j.facts['application']}$"))
    assert "Bozza salvata." in page.locator(".bando-messages").inner_text()
    j.arrive(page, "draft-saved")


def attach_documents(j: Journey):
    page, keys = j.page("association"), j.keyboard
    for kind in ("statuto", "documento_identita", "piano_economico"):
        assert page.input_value("#kind") == kind  # the next one missing is offered
        keys.attach("#file", pdf_file(j.files, kind))
        keys.follow("#upload")
        page.wait_for_url(re.compile(r"#sezione-documenti$"))
        assert "Documento caricato." in page.locator(".bando-messages").inner_text()
    assert "La domanda è completa." in page.locator("main").inner_text()
    j.arrive(page, "draft-complete")


def submit_proposal(j: Journey):
    page, keys = j.page("association"), j.keyboard
    application = j.facts["application"]
    keys.follow(f'main a[href="/domande/{application}/invia"]')
    page.wait_for_url(f"**/domande/{application}/invia")
    j.arrive(page, "review")
    keys.tick("#declarations")
    keys.tick("#privacy")
    keys.follow('main form button[type="submit"]')
    page.wait_for_url(f"**/domande/{application}/ricevuta")
    j.facts["protocol"] = page.locator('[data-field="protocol"]').inner_text()
    j.arrive(page, "receipt")
    assert j.state(application) == "submitted"


# --- the officer asks for a document; the association answers ------------------------------


def request_document(j: Journey):
    application, protocol = j.facts["application"], j.facts["protocol"]
    page = j.sign_in("officer", j.world["officer"], "/istruttoria/")
    page.select_option("#bando", j.world["code"])
    page.select_option("#stato", "submitted")
    page.get_by_role("button", name="Mostra").click()
    page.wait_for_url(re.compile(r"stato=submitted"))
    j.arrive(page, "officer-list")
    page.locator(f'tr[data-application="{application}"]').get_by_role("link", name=protocol).click()
    page.wait_for_url(f"**/istruttoria/domande/{application}")
    j.arrive(page, "officer-proposal")
    page.locator("#reason").fill(REQUEST)
    page.get_by_role("button", name="Richiedi integrazione").click()
    j.arrive(page, "officer-confirm-request")
    page.get_by_role("button", name=re.compile("^Conferma")).click()
    page.wait_for_url(f"**/istruttoria/domande/{application}")
    j.arrive(page, "officer-requested")
    assert j.state(application) == "integration_requested"
    assert REQUEST in j.mail_to(EMAIL, "integrazione").get_content()


def answer_request(j: Journey):
    page, keys = j.page("association"), j.keyboard
    application = j.facts["application"]
    keys.follow('header a[href="/domande"]')
    j.arrive(page, "dashboard-request")
    keys.follow(f'main a[href="/domande/{application}/integrazione"]')
    page.wait_for_url(f"**/domande/{application}/integrazione")
    assert REQUEST in page.locator("main").inner_text()
    j.arrive(page, "integration")
    keys.choose("#kind", "statuto")
    keys.attach("#file", pdf_file(j.files, "verbale-assemblea-e-statuto"))
    keys.follow("#upload")
    page.wait_for_url(f"**/domande/{application}/integrazione*")
    assert "Documento caricato." in page.locator(".bando-messages").inner_text()
    keys.type("#reason", "Allegato il verbale dell'assemblea del 12 marzo, con lo statuto.")
    keys.follow('main form button[name="confirm"]')
    page.wait_for_url(re.compile(r"/domande"))
    j.arrive(page, "integration-sent")
    assert j.state(application) == "submitted"


def declare_eligible(j: Journey):
    application = j.facts["application"]
    page = j.page("officer")
    page.goto(f"/istruttoria/domande/{application}")
    page.locator("#reason").fill("Documentazione completa dopo l'integrazione.")
    page.get_by_role("button", name="Dichiara ammissibile…").click()
    j.arrive(page, "officer-confirm-eligible")
    page.get_by_role("button", name=re.compile("^Conferma")).click()
    page.wait_for_url(f"**/istruttoria/domande/{application}")
    assert j.state(application) == "eligible"


def call_closes(j: Journey):
    """The submissions close at their deadline: the clock is moved past it and the cron
    command runs (`bando tick`), as in production."""
    edition = db.session.scalar(select(Edition).where(Edition.code == j.world["code"]))
    edition.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    result = j.runner.invoke(args=["tick"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(Edition.state).where(Edition.code == j.world["code"])) == (
        "closed"
    )
    db.session.rollback()


def form_committee(j: Journey):
    page = j.page("officer")
    page.goto(f"/istruttoria/bandi/{j.world['code']}/commissione")
    for email in j.world["evaluators"]:
        value = page.locator("#evaluator option", has_text=email).get_attribute("value")
        page.select_option("#evaluator", value)
        page.get_by_role("button", name="Aggiungi alla commissione").click()
        page.wait_for_load_state()
    j.arrive(page, "officer-committee")


# --- three evaluators ------------------------------------------------------------------


def evaluators_declare_and_score(j: Journey):
    code = j.world["code"]
    ids = {"ours": j.facts["application"], "winner": j.world["winner"]}
    ids["reserve"] = j.world["reserve"]
    for n, email in enumerate(j.world["evaluators"]):
        who = f"evaluator-{n + 1}"
        page = j.sign_in(who, email, "/valutazione")
        if n == 0:
            j.arrive(page, "evaluator-dashboard")
        page.goto(f"/valutazione/bandi/{code}/dichiarazione")
        if n == 0:
            j.arrive(page, "evaluator-declaration")
        page.locator('main button[type="submit"]').click()
        page.wait_for_url(f"**/valutazione/bandi/{code}")
        if n == 0:
            j.arrive(page, "evaluator-proposals")
        for key, application in ids.items():
            page.goto(f"/valutazione/domande/{application}")
            for criterion, points in zip(
                ("coherence", "network", "sustainability"), POINTS[key][n], strict=True
            ):
                page.fill(f"#score-{criterion}", str(points))
            page.fill("#comment", "Proposta chiara e radicata nel quartiere.")
            if n == 0 and key == "ours":
                j.arrive(page, "evaluator-scoring")
            page.get_by_role("button", name="Invia la valutazione").click()
            if n == 0 and key == "ours":
                j.arrive(page, "evaluator-confirm")
            page.get_by_role("button", name="Sì, invia la valutazione").click()
            page.wait_for_url(f"**/valutazione/domande/{application}*")
            if n == 2 and key == "ours":
                j.arrive(page, "evaluator-sent")
    assert {j.state(i) for i in ids.values()} == {"scored"}


# --- the officer ranks, publishes, simulates and allocates --------------------------------


def rank_and_publish(j: Journey):
    code = j.world["code"]
    page = j.page("officer")
    page.goto(f"/istruttoria/bandi/{code}/graduatoria")
    j.arrive(page, "officer-ranking")
    page.get_by_role("button", name="Approva e pubblica…").click()
    j.arrive(page, "officer-confirm-ranking")
    page.get_by_role("button", name="Conferma: approva e pubblica").click()
    page.wait_for_url(f"**/istruttoria/bandi/{code}/graduatoria")
    public = j.page("public")
    public.goto(f"/bandi/{code}/graduatoria")
    rows = public.locator("main").inner_text()
    assert rows.index(j.facts["protocol"]) < rows.index("Quartiere Vivo ODV")
    j.arrive(public, "public-ranking")


def simulate_and_allocate(j: Journey):
    code = j.world["code"]
    page = j.page("officer")
    page.goto(f"/istruttoria/bandi/{code}/assegnazione")
    j.arrive(page, "officer-simulation")
    # An alternative beside the call's rules: partial awards from a tenth of the request.
    page.select_option("#on_insufficient", "partial")
    page.fill("#min_partial_share", "10")
    page.get_by_role("button", name="Confronta").click()
    page.wait_for_url(re.compile(r"on_insufficient=partial"))
    assert page.locator("[data-differences]").get_attribute("data-differences") == "1"
    j.arrive(page, "officer-comparison")
    page.get_by_role("button", name="Assegna i contributi…").click()
    j.arrive(page, "officer-confirm-allocation")
    page.get_by_role("button", name="Conferma: assegna i contributi").click()
    page.wait_for_url(re.compile(r"/assegnazione#esito$"))
    j.arrive(page, "officer-allocated")
    assert j.state(j.facts["application"]) == "funded"
    assert j.state(j.world["winner"]) == "funded"
    assert j.state(j.world["reserve"]) == "reserve"


# --- the award ---------------------------------------------------------------------------


def accept_award(j: Journey):
    page, keys = j.page("association"), j.keyboard
    application = j.facts["application"]
    keys.follow('header a[href="/domande"]')
    j.arrive(page, "dashboard-funded")
    keys.follow(f'main a[href="/domande/{application}/contributo"]')
    page.wait_for_url(f"**/domande/{application}/contributo")
    assert page.locator("[data-award-amount]").inner_text() == "€ 8.500,00"
    j.arrive(page, "award")
    keys.follow(f'main a[href="/domande/{application}/contributo/accetta"]')
    page.wait_for_url(f"**/domande/{application}/contributo/accetta")
    j.arrive(page, "award-accept")
    keys.follow('main form button[type="submit"]')
    page.wait_for_url(f"**/domande/{application}/contributo")
    assert "Contributo accettato." in page.locator(".alert-success").inner_text()
    j.arrive(page, "award-accepted")


def renounce_and_fund_the_reserve(j: Journey):
    winner = j.world["winner"]
    page = j.sign_in("winner", j.world["winner_email"], "/domande")
    page.goto(f"/domande/{winner}/contributo")
    page.get_by_role("link", name="Rinuncia al contributo").click()
    j.arrive(page, "renounce")
    page.locator("#reason").fill("Il partner principale si è ritirato.")
    page.get_by_role("button", name="Sì, rinuncia al contributo").click()
    page.wait_for_url(f"**/domande/{winner}/contributo")
    j.arrive(page, "renounced")
    assert j.state(j.world["winner"]) == "renounced"
    assert j.state(j.world["reserve"]) == "funded"

    reserve = j.world["reserve"]
    page = j.sign_in("reserve", j.world["reserve_email"], "/domande")
    card = page.locator(f'[data-application="{reserve}"]')
    assert card.locator("[data-award-line]").inner_text() == "Contributo: € 10.000,00"
    j.arrive(page, "reserve-funded")


# --- payments, the final report, transparency --------------------------------------------


def finance_issues_the_award_letter(j: Journey):
    """Finance issues the call's letters from the letters page and downloads the award
    letter: a PDF with its protocol and the amount in figures and in words."""
    code, application = j.world["code"], j.facts["application"]
    page = j.sign_in("finance", j.world["finance"], "/contabilita/")
    page.goto(f"/contabilita/bandi/{code}/lettere")
    j.arrive(page, "finance-letters")
    row = page.locator(f'tr[data-application="{application}"]')
    assert row.get_attribute("data-kind") == "award"
    page.locator("[data-issue-form] button").click()
    page.wait_for_url(f"**/contabilita/bandi/{code}/lettere*")
    protocol = row.locator("[data-letter-protocol]").inner_text()
    j.arrive(page, "finance-letters-issued")
    with page.expect_download() as download:
        row.locator("[data-letter-link]").click()
    text = "\n".join(p.extract_text() for p in PdfReader(download.value.path()).pages)
    assert protocol in text and "€ 8.500,00" in text and "ottomilacinquecento" in text


def pay_the_advance(j: Journey):
    code, application = j.world["code"], j.facts["application"]
    page = j.page("finance")  # signed in by the letters' step
    page.goto("/contabilita/")
    j.arrive(page, "finance-dashboard")
    page.goto(f"/contabilita/bandi/{code}")
    j.arrive(page, "finance-call")
    page.locator(f'tr[data-application="{application}"] [data-pay="advance"]').click()
    # Half of € 8.500,00, less the 4 % withholding: € 4.250,00 − € 170,00.
    assert "€ 4.080,00" in page.locator("[data-net]").inner_text()
    page.fill("#reference", "Mandato 2027/15")
    j.arrive(page, "finance-pay-advance")
    page.get_by_role("button", name="Conferma: registra il pagamento").click()
    page.wait_for_url(f"**/contabilita/bandi/{code}*")


def file_the_report(j: Journey):
    page, keys = j.page("association"), j.keyboard
    application = j.facts["application"]
    keys.follow('header a[href="/domande"]')
    keys.follow(f'main a[href="/domande/{application}/rendicontazione"]')
    j.arrive(page, "report-form")
    keys.type("#activities", "Doposcuola nei cortili tre pomeriggi a settimana, festa finale.")
    keys.type("#people_reached", "42")
    for row, (category, description, amount, document) in enumerate(
        [
            ("personale", "Educatori (240 ore)", "6.000,00", "Fattura 12 del 10/05/2027"),
            ("materiali", "Giochi, cancelleria, locandine", "4.000,00", "Ricevuta 7"),
        ]
    ):
        keys.choose(f"#expenses-{row}-category", category)
        keys.type(f"#expenses-{row}-description", description)
        keys.type(f"#expenses-{row}-amount", amount)
        keys.type(f"#expenses-{row}-document", document)
        keys.attach(f"#expenses-{row}-receipt", pdf_file(j.files, f"giustificativo-{row}"))
    keys.follow("#send")
    assert "Rendicontazione presentata" in page.locator(".bando-messages").inner_text()
    j.arrive(page, "report-filed")
    assert j.state(application) == "reported"


def approve_and_pay_the_balance(j: Journey):
    code, application = j.world["code"], j.facts["application"]
    page = j.page("finance")
    page.goto(f"/contabilita/domande/{application}/rendicontazione")
    j.arrive(page, "finance-report")
    for n in range(2):
        expense = page.locator("[data-expense]").nth(n)
        with page.expect_navigation():
            expense.get_by_role("button", name="Ammetti", exact=True).click()
        assert page.locator("[data-expense]").nth(n).get_attribute("data-state") == "accepted"
    page.locator("[data-approve-link]").click()
    # Every expense admitted, € 10.000,00 as planned: the whole award, € 4.250,00 left.
    assert "€ 4.250,00" in page.locator("[data-consequence]").inner_text()
    j.arrive(page, "finance-approve")
    page.get_by_role("button", name="Conferma: approva la rendicontazione").click()
    page.wait_for_selector("[data-final]")
    assert j.state(application) == "closed"
    page.goto(f"/contabilita/bandi/{code}")
    page.locator(f'tr[data-application="{application}"] [data-pay="balance"]').click()
    page.fill("#reference", "Mandato 2027/48")
    j.arrive(page, "finance-pay-balance")
    page.get_by_role("button", name="Conferma: registra il pagamento").click()
    page.wait_for_url(f"**/contabilita/bandi/{code}*")
    j.arrive(page, "finance-paid")


def read_the_transparency_page(j: Journey):
    code, application = j.world["code"], j.facts["application"]
    page = j.page("public")
    page.goto("/contributi-concessi")
    j.arrive(page, "transparency")
    page.goto(f"/contributi-concessi/{code}")
    row = page.locator(f'tr[data-application="{application}"]')
    assert ORG_NAME in row.inner_text()
    assert row.locator("[data-paid]").inner_text().endswith("€ 8.500,00")
    j.arrive(page, "transparency-call")
    page.goto(f"/contributi-concessi/{code}/progetti/{application}")
    assert "Cortili in rete" in page.locator("main").inner_text()
    j.arrive(page, "transparency-project")


# The journey, in the order of the story (see the module's docstring to add steps).
STEPS = [
    register,
    confirm_email,
    sign_in_association,
    write_proposal,
    attach_documents,
    submit_proposal,
    request_document,
    answer_request,
    declare_eligible,
    call_closes,
    form_committee,
    evaluators_declare_and_score,
    rank_and_publish,
    simulate_and_allocate,
    accept_award,
    finance_issues_the_award_letter,
    pay_the_advance,
    renounce_and_fund_the_reserve,
    file_the_report,
    approve_and_pay_the_balance,
    read_the_transparency_page,
]


@pytest.fixture
def smtp_inbox():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


@pytest.fixture
def live_server(app, tmp_path, smtp_inbox):
    """The conftest's server, with a real SMTP server on loopback for its mail."""
    _, port = smtp_inbox
    settings = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_SENDER": "bando@example.it"}
    with serve(app, tmp_path, **settings) as server:
        yield server
    assert not server.server_errors, server.server_errors


@pytest.fixture
def journey_folder():
    chosen = os.environ.get("BANDO_SCREENSHOTS")
    folder = Path(chosen) if chosen else ROOT / "test-artifacts" / "journey"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder


def test_the_whole_journey_through_the_pages(
    app, live_server, browser_context, smtp_inbox, runner, journey_folder, tmp_path
):
    j = Journey(
        url=live_server.url,
        new_context=browser_context,
        inbox=smtp_inbox[0],
        runner=runner,
        folder=journey_folder,
        files=tmp_path,
        axe=axe_source(),
        world=world(),
    )
    started = time.monotonic()
    for step in STEPS:
        begun = time.monotonic()
        try:
            step(j)
        except BaseException as error:
            error.add_note(f"in the journey's step {step.__name__}")
            raise
        j.timings.append((step.__name__, time.monotonic() - begun))
    total = time.monotonic() - started
    print(f"\njourney: {len(STEPS)} steps in {total:.1f} s; {len(j.audited)} pages audited")
    for name, seconds in j.timings:
        print(f"  {name:<32} {seconds:6.1f} s")
    print(f"keyboard presses of the association: {j.keyboard.presses}")
    print(f"screenshots: {j.folder}")
    assert j.keyboard.unmarked == [], j.keyboard.unmarked
    assert len(list(j.folder.glob("*-phone.png"))) == len(j.shots)
