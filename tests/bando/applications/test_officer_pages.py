"""The officer's admissibility pages: the list (filters, pages, the same number of queries
at any size), the proposal with its documents and checklist, the ticks, the decisions
after their confirmation, the notice before rejection; the timeline partial and the
public diagram."""

import html as html_module
import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import render_template
from flask_babel import force_locale
from sqlalchemy import func, select

from bando.accounts.models import Organisation
from bando.applications.lifecycle import fire
from bando.applications.models import AdmissibilityTick, Application
from bando.core.extensions import db
from bando.core.models import AuditEvent
from bando.core.timeutil import utcnow
from tests.factories import (
    PASSWORD,
    create_edition,
    create_organisation,
    create_user,
    entity_tax_code,
)
from tests.lifecycle_factories import create_application, put_in_state
from tests.statements import recorded_statements
from workflows import application as machine


def login(client, user):
    response = client.post("/accedi", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302


def text(response) -> str:
    """The page as it reads (entities decoded)."""
    return html_module.unescape(response.get_data(as_text=True))


def state_of(application) -> str:
    db.session.expire_all()
    return db.session.get(Application, application.id).state


@pytest.fixture
def desk(app):
    edition = create_edition("cdq-desk")
    organisation = create_organisation(name="Associazione Orti di Quartiere")
    owner = create_user("applicant", organisation=organisation)
    officer = create_user("officer")
    application = put_in_state(create_application(edition, organisation, owner), "submitted")
    db.session.commit()
    return {"edition": edition, "owner": owner, "officer": officer, "application": application}


def confirm(client, application, decision, reason=""):
    """The two steps of a decision: the confirmation page, then the confirmed post."""
    path = f"/istruttoria/domande/{application.id}/esito"
    step = client.post(path, data={"decision": decision, "reason": reason})
    return step, client.post(
        path, data={"decision": decision, "reason": reason, "confirm": "1"}, follow_redirects=True
    )


# --- the list --------------------------------------------------------------------------------


def test_the_list_shows_each_proposal_with_its_amount_and_state(client, desk):
    login(client, desk["officer"])
    page = client.get("/istruttoria/?bando=cdq-desk")
    assert page.status_code == 200
    html = text(page)
    row = html[html.index(f'data-application="{desk["application"].id}"') :]
    row = row[: row.index("</tr>")]
    for shown in (
        desk["application"].protocol,
        "Associazione Orti di Quartiere",
        "Orti condivisi a San Siro",
        "San Siro",
        "€ 10.000,00",
        "Presentata",
    ):
        assert shown in row, shown
    assert f'href="/istruttoria/domande/{desk["application"].id}"' in row
    # A draft is the organisation's own: never listed.
    draft = create_application(desk["edition"], create_organisation(), desk["owner"])
    draft.title = "Bozza segreta"
    db.session.commit()
    assert "Bozza segreta" not in text(client.get("/istruttoria/?bando=cdq-desk"))


def many(edition, count, *, start=0):
    """`count` submitted proposals of as many organisations, straight into the tables."""
    creator = create_user("applicant")
    hoods = edition.neighbourhoods
    for i in range(start, start + count):
        organisation = Organisation(
            name=f"Ente numero {i}",
            tax_code=entity_tax_code(700_000 + i),
            legal_form="aps",
            pec=f"ente{i}@pec.example.it",
            address="via Prova 1",
            legal_representative="Maria Rossi",
        )
        edition.protocol_counter += 1
        db.session.add(
            Application(
                edition=edition,
                organisation=organisation,
                created_by=creator,
                neighbourhood=hoods[i % len(hoods)],
                title=f"Progetto {i}",
                state=("submitted", "eligible", "integration_requested")[i % 3],
                integration_deadline=utcnow() + timedelta(days=5) if i % 3 == 2 else None,
                protocol=f"{edition.protocol_prefix}/{edition.protocol_counter:04d}",
                protocol_number=edition.protocol_counter,
                submitted_at=utcnow() - timedelta(days=1),
                requested_cents=16_000_00,
            )
        )
    db.session.commit()


def statements(app, client, path) -> tuple[int, str]:
    """The SQL statements one request makes, and its page."""
    db.session.remove()  # nothing left from the test's own reads in the identity map
    with recorded_statements() as seen:
        page = client.get(path)
    assert page.status_code == 200
    return len(seen), text(page)


def test_the_list_makes_the_same_number_of_queries_at_10_and_at_1000(app, client):
    edition = create_edition("cdq-mille")
    officer = create_user("officer")
    many(edition, 10)
    login(client, officer)
    client.get("/istruttoria/?bando=cdq-mille")  # the first request warms what is cached
    small, html = statements(app, client, "/istruttoria/?bando=cdq-mille")
    assert html.count("data-application=") == 10
    many(edition, 990, start=10)
    large, html = statements(app, client, "/istruttoria/?bando=cdq-mille")
    assert html.count("data-application=") == 25  # one page
    assert "1000 domande" in html
    assert small == large, (small, large)
    # The filters and the pages cost the same too.
    filtered, html = statements(
        app, client, "/istruttoria/?bando=cdq-mille&stato=eligible&quartiere=gratosoglio&pagina=3"
    )
    assert filtered == large


def test_filters_by_state_and_neighbourhood_and_pages(app, client):
    edition = create_edition("cdq-filtri")
    officer = create_user("officer")
    many(edition, 60)
    login(client, officer)
    html = text(client.get("/istruttoria/?bando=cdq-filtri&stato=eligible"))
    assert "20 domande" in html
    assert html.count('data-state="eligible"') == 20
    assert 'data-state="submitted"' not in html
    # Gratosoglio holds the odd ones; eligible are i % 3 == 1: 1, 7, 13, … — 10 of them.
    html = text(client.get("/istruttoria/?bando=cdq-filtri&stato=eligible&quartiere=gratosoglio"))
    assert "10 domande" in html and "San Siro</td>" not in html
    # 25 per page: three pages, each linked, keeping the filters.
    html = text(client.get("/istruttoria/?bando=cdq-filtri"))
    assert html.count("data-application=") == 25 and "pagina 1 di 3" in html
    assert 'href="/istruttoria/?pagina=2&bando=cdq-filtri"' in html
    html = text(client.get("/istruttoria/?bando=cdq-filtri&pagina=3"))
    assert html.count("data-application=") == 10
    protocols = re.findall(r"CDQFILTRI/(\d{4})", html)
    assert protocols[0] == "0051"
    html = text(client.get("/istruttoria/?bando=cdq-filtri&stato=eligible&pagina=2"))
    assert "pagina" not in html.split("data-summary", 1)[1].split("</p>", 1)[0]  # one page only
    # Nonsense in the query is ignored, never a 500.
    page = client.get("/istruttoria/?bando=cdq-filtri&stato=boh&quartiere=x&pagina=-4")
    assert page.status_code == 200 and "60 domande" in text(page)
    assert client.get("/istruttoria/?bando=nessuno").status_code == 404


def test_the_pages_are_for_officers_only(client, desk):
    application = desk["application"]
    paths = [
        "/istruttoria/",
        f"/istruttoria/domande/{application.id}",
        f"/istruttoria/domande/{application.id}/allegati/statuto",
    ]
    for path in paths:
        assert client.get(path).status_code == 302  # to the sign-in page
    for role in ("applicant", "evaluator", "finance", "admin"):
        user = desk["owner"] if role == "applicant" else create_user(role)
        db.session.commit()
        client.post("/esci")
        login(client, user)
        for path in paths:
            assert client.get(path).status_code == 403, (role, path)
        for tail, data in (("esito", {"decision": "eligible"}), ("controlli", {"code": "x"})):
            response = client.post(f"/istruttoria/domande/{application.id}/{tail}", data=data)
            assert response.status_code == 403
    assert state_of(application) == "submitted"


def test_a_draft_is_not_found_for_the_officer(client, desk):
    draft = create_application(desk["edition"], create_organisation(), desk["owner"])
    db.session.commit()
    login(client, desk["officer"])
    assert client.get(f"/istruttoria/domande/{draft.id}").status_code == 404
    assert client.get(f"/istruttoria/domande/{draft.id}/allegati/statuto").status_code == 404
    response = client.post(
        f"/istruttoria/domande/{draft.id}/esito", data={"decision": "eligible", "confirm": "1"}
    )
    assert response.status_code == 404
    assert client.get("/istruttoria/domande/99999").status_code == 404
    assert client.get(f"/istruttoria/domande/{2**40}").status_code == 404


# --- one proposal ------------------------------------------------------------------------------


def test_the_proposal_shows_every_part_and_its_timeline(client, desk):
    application = desk["application"]
    application.objectives = "Conoscersi tra vicini."
    application.cup = "B41H19000120004"
    from bando.applications.models import Partner

    application.partners = [Partner(name="Comitato inquilini", tax_code=None, role="ospita")]
    db.session.commit()
    login(client, desk["officer"])
    page = client.get(f"/istruttoria/domande/{application.id}")
    assert page.status_code == 200
    html = text(page)
    for shown in (
        application.protocol,
        "Associazione Orti di Quartiere",
        application.organisation.tax_code,
        "Associazione di promozione sociale (APS)",
        "Maria Rossi",
        "San Siro",
        "SA1",
        "Linea 1 di san-siro",
        "Laboratori di orticoltura",
        "Conoscersi tra vicini.",
        "B41H19000120004",
        "Comitato inquilini",
        "Educatori",
        "€ 9.000,00",
        "€ 12.000,00",  # total cost
        "€ 10.000,00",  # requested
        "€ 2.000,00",  # co-financing
        "Statuto / atto costitutivo",
        "Controlli di ammissibilità",
        "Ente senza scopo di lucro",
        "Dichiara ammissibile",
        "Richiedi integrazione",
        "Dichiara non ammissibile",
    ):
        assert shown in html, shown
    assert "Invia il preavviso di rigetto" not in html  # this call sets no notice
    assert html.count('data-outcome="passed"') == 12
    assert f'href="/istruttoria/domande/{application.id}/allegati/statuto"' in html
    # The timeline: the moves of the lifecycle, the staff by address.
    fire(application, "request_integration", desk["officer"], "Manca la firma.")
    db.session.commit()
    html = text(client.get(f"/istruttoria/domande/{application.id}"))
    timeline = html[html.index('id="cronologia"') :]
    assert "Richiesta di integrazione (soccorso istruttorio)" in timeline
    assert "Manca la firma." in timeline and desk["officer"].email in timeline
    assert "Integrazione richiesta" in html and "L'ente può rispondere entro" in html


def test_the_attachment_opens_in_the_browser_sandboxed(client, desk):
    login(client, desk["officer"])
    application = desk["application"]
    opened = client.get(f"/istruttoria/domande/{application.id}/allegati/statuto")
    assert opened.status_code == 200 and opened.mimetype == "application/pdf"
    assert opened.data.startswith(b"%PDF")
    assert opened.headers["Content-Disposition"] == 'inline; filename="statuto.pdf"'
    policy = opened.headers["Content-Security-Policy"]
    assert "sandbox" in policy.split("; ") and "default-src 'none'" in policy
    assert opened.headers["X-Content-Type-Options"] == "nosniff"
    assert opened.headers["Cache-Control"] == "no-store"
    saved = client.get(f"/istruttoria/domande/{application.id}/allegati/statuto?scarica=1")
    assert saved.headers["Content-Disposition"] == 'attachment; filename="statuto.pdf"'
    assert client.get(f"/istruttoria/domande/{application.id}/allegati/altro").status_code == 404


# --- the checklist and the decisions -----------------------------------------------------------


def manual(app, desk):
    desk["edition"].source = {
        "admissibility_checks": [
            {"code": "firma", "label": "Domanda firmata dal legale rappresentante"}
        ]
    }
    db.session.commit()


def test_a_manual_check_is_ticked_and_holds_the_decision_until_then(app, client, desk):
    manual(app, desk)
    application = desk["application"]
    login(client, desk["officer"])
    html = text(client.get(f"/istruttoria/domande/{application.id}"))
    assert 'data-check="firma" data-outcome="pending"' in html
    assert "1 controllo non superato o da verificare." in html
    # Declaring eligible is refused at the confirmation step, naming the check: no change.
    step = client.post(
        f"/istruttoria/domande/{application.id}/esito", data={"decision": "eligible"}
    )
    assert step.status_code == 409
    html = text(step)
    assert "Operazione non eseguita:" in html and "controlli di ammissibilità non superati" in html
    problems = html[html.index("data-problems") :]
    assert "Domanda firmata dal legale rappresentante: da verificare" in problems
    # The same refusal when the confirmed post comes anyway (another tab, an old page).
    _, done = confirm(client, application, "eligible")
    assert done.status_code == 409 and "Domanda firmata dal legale rappresentante" in text(done)
    assert state_of(application) == "submitted"
    assert db.session.scalar(select(func.count(AuditEvent.id))) == 0
    # The officer ticks the check, with a note.
    ticked = client.post(
        f"/istruttoria/domande/{application.id}/controlli",
        data={"code": "firma", "outcome": "passed", "note": "firma autografa a pag. 3"},
        follow_redirects=True,
    )
    html = text(ticked)
    assert "Esito del controllo registrato." in html
    assert 'data-check="firma" data-outcome="passed"' in html and "firma autografa a pag. 3" in html
    assert "Tutti i controlli sono superati." in html
    row = db.session.scalar(select(AdmissibilityTick))
    assert (row.code, row.passed, row.ticked_by_id) == ("firma", True, desk["officer"].id)
    # A wrong code or no outcome is refused with a message, not a 500.
    wrong = client.post(
        f"/istruttoria/domande/{application.id}/controlli",
        data={"code": "boh", "outcome": "passed"},
        follow_redirects=True,
    )
    assert "Controllo non registrato" in text(wrong) and "boh" in text(wrong)
    empty = client.post(
        f"/istruttoria/domande/{application.id}/controlli",
        data={"code": "firma"},
        follow_redirects=True,
    )
    assert "Scegliere l'esito del controllo." in text(empty)
    # Now it may be declared eligible, after the confirmation.
    step = client.post(
        f"/istruttoria/domande/{application.id}/esito", data={"decision": "eligible"}
    )
    assert step.status_code == 200 and "Confermare l'esito?" in text(step)
    assert "passerà alla valutazione della commissione" in text(step)
    assert state_of(application) == "submitted"  # the first step changes nothing
    step, done = confirm(client, application, "eligible")
    assert f"Domanda {application.protocol}: Ammissibile." in text(done)
    assert state_of(application) == "eligible"
    # Once decided, the checklist is read-only.
    assert "Registra l'esito" not in text(client.get(f"/istruttoria/domande/{application.id}"))
    # A tick sent from a page opened before the decision: refused, and said so.
    late = client.post(
        f"/istruttoria/domande/{application.id}/controlli",
        data={"code": "firma", "outcome": "failed", "note": "ripensamento"},
    )
    assert late.status_code == 409
    assert "Controllo non registrato: l'istruttoria di questa domanda è conclusa" in text(late)


def test_a_request_for_documents_needs_its_reason_and_says_the_deadline(client, desk):
    application = desk["application"]
    login(client, desk["officer"])
    step = client.post(
        f"/istruttoria/domande/{application.id}/esito",
        data={"decision": "request_integration", "reason": "  "},
    )
    assert step.status_code == 409
    assert "Operazione non eseguita:</strong> indicare la motivazione." in text(step)
    step, done = confirm(client, application, "request_integration", "Manca lo statuto firmato.")
    assert "potrà rispondere entro" in text(step) and "Manca lo statuto firmato." in text(step)
    assert done.status_code == 200
    assert state_of(application) == "integration_requested"
    event_row = db.session.scalar(select(AuditEvent).where(AuditEvent.trigger != "submit"))
    assert (event_row.trigger, event_row.reason) == (
        "request_integration",
        "Manca lo statuto firmato.",
    )


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("Manca\x07 lo statuto.", "il carattere U+0007, non ammesso"),
        ("Manca\x1b[31m lo statuto.", "il carattere U+001B, non ammesso"),
        ("x" * 5001, "Al massimo 5000 caratteri."),
    ],
)
def test_a_reason_the_api_would_refuse_is_refused_by_the_page_too(client, desk, reason, message):
    """The reason goes to the audit trail, the organisation's e-mail and letters: what the
    API refuses in it the page refuses at either step, with the reason given back."""
    application = desk["application"]
    login(client, desk["officer"])
    for step in confirm(client, application, "request_integration", reason):
        assert step.status_code == 422
        html = text(step)
        assert "Operazione non eseguita:" in html and message in html
        assert ".." not in html.split("Operazione non eseguita:")[1].split("</p>")[0]
        assert "Confermare l'esito?" not in html
    assert state_of(application) == "submitted"
    assert db.session.scalar(select(func.count(AuditEvent.id))) == 0
    # The note of a manual check, the same.
    manual(None, desk)
    noted = client.post(
        f"/istruttoria/domande/{application.id}/controlli",
        data={"code": "firma", "outcome": "failed", "note": "firma\x00 a pag. 3"},
        follow_redirects=True,
    )
    assert noted.status_code == 422
    assert "Controllo non registrato" in text(noted) and "U+0000" in text(noted)
    # What was typed stays in the check's form, to be corrected.
    assert ">firma\x00 a pag. 3</textarea>" in text(noted)
    assert 'value="failed" id="tick-firma-failed" checked' in text(noted)
    assert db.session.scalar(select(func.count(AdmissibilityTick.id))) == 0


def test_an_invalid_decision_is_refused_without_a_500(client, desk):
    login(client, desk["officer"])
    response = client.post(
        f"/istruttoria/domande/{desk['application'].id}/esito",
        data={"decision": "boh"},
        follow_redirects=True,
    )
    assert response.status_code == 200 and "Scegliere un esito valido." in text(response)
    # A decision the state does not allow any more: the machine's reason.
    fire(desk["application"], "declare_eligible", desk["officer"])
    db.session.commit()
    _, done = confirm(client, desk["application"], "ineligible", "fuori tempo")
    assert done.status_code == 409
    assert "non è possibile per una domanda nello stato «Ammissibile»" in text(done)


def test_the_decision_form_needs_its_csrf_token(app, client, desk):
    login(client, desk["officer"])
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post(
            f"/istruttoria/domande/{desk['application'].id}/esito",
            data={"decision": "eligible", "confirm": "1"},
        )
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    assert state_of(desk["application"]) == "submitted"


def test_the_notice_before_rejection_then_the_answer_then_the_decision(app, client, desk):
    desk["edition"].source = {"rules": {"rejection_notice_days": 10}}
    db.session.commit()
    application = desk["application"]
    login(client, desk["officer"])
    html = text(client.get(f"/istruttoria/domande/{application.id}"))
    # The notice comes instead of a direct rejection.
    assert "Invia il preavviso di rigetto" in html and "Dichiara non ammissibile" not in html
    assert "ha 10 giorni per presentare osservazioni" in html
    direct = client.post(
        f"/istruttoria/domande/{application.id}/esito",
        data={"decision": "ineligible", "reason": "x"},
    )
    assert direct.status_code == 409 and "prevede il preavviso di rigetto" in text(direct)
    step, done = confirm(
        client, application, "notify_rejection", "Le attività non si svolgono nel quartiere."
    )
    assert "art. 10-bis" in text(step) and "osservazioni entro" in text(step)
    assert state_of(application) == "rejection_notified"
    html = text(done)
    assert "Le attività non si svolgono nel quartiere." in html
    assert "Nessuna osservazione pervenuta finora" in html
    deadline = db.session.get(Application, application.id).notice_deadline
    assert f"Termine per le osservazioni: il {deadline:%d/%m/%Y}" in html.replace("l'", "il ")
    # Before the answer or the deadline, no decision: the machine says why.
    early = client.post(
        f"/istruttoria/domande/{application.id}/esito",
        data={"decision": "ineligible", "reason": "x"},
    )
    assert early.status_code == 409 and "l'ente può ancora inviare osservazioni" in text(early)
    # The organisation answers; the officer reads it on the page, then decides.
    fire(
        db.session.get(Application, application.id),
        "answer_notice",
        desk["owner"],
        "Le attività si svolgono nel cortile di via Selinunte 4.",
    )
    db.session.commit()
    html = text(client.get(f"/istruttoria/domande/{application.id}"))
    answer = html[html.index("data-notice-answer") :]
    assert "Le attività si svolgono nel cortile di via Selinunte 4." in answer
    assert "Osservazioni dell'ente, pervenute" in html
    assert "Dichiara ammissibile" in html and "Dichiara non ammissibile" in html
    _, done = confirm(client, application, "ineligible", "Le osservazioni non superano i motivi.")
    assert state_of(application) == "ineligible"
    triggers = db.session.scalars(
        select(AuditEvent.trigger)
        .where(AuditEvent.application_id == application.id)
        .order_by(AuditEvent.id)
    ).all()
    assert triggers == ["notify_rejection", "answer_notice", "declare_ineligible"]


# --- the shared partials -----------------------------------------------------------------------


def test_timeline_in_italian_with_rome_times(app, desk):
    application = desk["application"]
    asked = datetime(2030, 3, 15, 9, 30, tzinfo=UTC)  # 10:30 in Rome
    fire(application, "request_integration", desk["officer"], "Manca lo statuto.", now=asked)
    db.session.commit()
    events = db.session.scalars(select(AuditEvent)).all()
    with app.test_request_context():
        html = render_template("applications/_timeline.html", events=events)
    assert "15/03/2030 ore 10:30" in html
    assert "Richiesta di integrazione (soccorso istruttorio)" in html
    assert "Presentata → Integrazione richiesta" in html
    assert "rispondere entro il 25/03/2030 ore 23:59" in html
    assert "Motivazione: Manca lo statuto." in html
    assert desk["officer"].email not in html  # staff appear by role
    assert "istruttore" in html
    with app.test_request_context(), force_locale("en"):
        html = render_template("applications/_timeline.html", events=events)
    assert "answer by 25/03/2030 at 23:59" in html


def test_come_funziona_shows_the_table_drawn_from_the_machine(client, app):
    page = client.get("/come-funziona")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Gli stati di una domanda" in html
    for label in machine.STATE_LABELS.values():
        assert label in html
    for row in machine.MACHINE.table:
        for source in row["source"]:
            assert f'data-state="{source}" data-trigger="{row["trigger"]}"' in html
    # The drawing: one box per state, one arrow per move, from the same table.
    start = html.index('<svg xmlns="http://www.w3.org/2000/svg"')
    svg = html[start : html.index("</svg>", start)]
    for state in machine.STATES:
        assert f'<g data-state="{state}">' in svg
    # One arrow per move that changes state (a reflexive one, like answer_notice, is listed
    # in the table beside the drawing).
    arrows = sum(1 for source, _, dest in machine.MACHINE.edges() if source != dest)
    assert svg.count("<line ") == arrows


def test_an_uncaught_refusal_or_stale_write_is_a_409_page_not_a_500(app, client):
    from sqlalchemy.orm.exc import StaleDataError

    from bando.core.transitions import TransitionRefused

    def refused():
        raise TransitionRefused("il bando non accetta domande", "edition_not_open")

    def stale():
        raise StaleDataError("UPDATE statement on table 'application' expected 1 row")

    app.add_url_rule("/prova/rifiuto", "prova_rifiuto", refused)
    app.add_url_rule("/prova/concorrenza", "prova_concorrenza", stale)
    page = client.get("/prova/rifiuto")
    assert page.status_code == 409
    assert "Operazione non consentita: il bando non accetta domande." in page.get_data(as_text=True)
    page = client.get("/prova/concorrenza")
    assert page.status_code == 409
    assert "modificata da un'altra operazione" in text(page)
