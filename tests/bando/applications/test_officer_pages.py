"""The officer's admissibility page, the timeline partial and the public diagram."""

from datetime import UTC, datetime

import pytest
from flask import render_template
from sqlalchemy import func, select

from bando.applications.lifecycle import fire
from bando.applications.models import Application
from bando.core.extensions import db
from bando.core.models import AuditEvent
from tests.factories import PASSWORD, create_edition, create_organisation, create_user
from tests.lifecycle_factories import create_application, put_in_state
from workflows import application as machine


def login(client, user):
    response = client.post("/accedi", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302


@pytest.fixture
def desk(app):
    edition = create_edition("cdq-desk")
    organisation = create_organisation(name="Associazione Orti di Quartiere")
    owner = create_user("applicant", organisation=organisation)
    officer = create_user("officer")
    application = put_in_state(create_application(edition, organisation, owner), "submitted")
    db.session.commit()
    return {"edition": edition, "owner": owner, "officer": officer, "application": application}


def test_officer_sees_the_pending_application_and_declares_it_eligible(client, desk):
    login(client, desk["officer"])
    page = client.get("/istruttoria/?bando=cdq-desk")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert desk["application"].protocol in html
    assert "Associazione Orti di Quartiere" in html
    assert "Dichiara ammissibile" in html
    response = client.post(
        f"/istruttoria/domande/{desk['application'].id}/esito",
        data={"decision": "eligible", "reason": ""},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Ammissibile" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Application, desk["application"].id).state == "eligible"


def test_a_refusal_is_shown_in_italian_and_changes_nothing(client, desk):
    login(client, desk["officer"])
    response = client.post(
        f"/istruttoria/domande/{desk['application'].id}/esito",
        data={"decision": "request_integration", "reason": "  "},
        follow_redirects=True,
    )
    assert "Operazione non eseguita: indicare la motivazione." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(AuditEvent.id))) == 0
    db.session.expire_all()
    assert db.session.get(Application, desk["application"].id).state == "submitted"


def test_the_page_is_for_officers_only(client, desk):
    assert client.get("/istruttoria/").status_code == 302  # to the sign-in page
    login(client, desk["owner"])
    assert client.get("/istruttoria/").status_code == 403
    response = client.post(
        f"/istruttoria/domande/{desk['application'].id}/esito", data={"decision": "eligible"}
    )
    assert response.status_code == 403


def test_the_decision_form_needs_its_csrf_token(app, client, desk):
    login(client, desk["officer"])
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post(
            f"/istruttoria/domande/{desk['application'].id}/esito",
            data={"decision": "eligible"},
        )
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Application, desk["application"].id).state == "submitted"


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
    assert "rispondere entro il 25/03/2030 alle ore 23:59" in html
    assert "Motivazione: Manca lo statuto." in html
    assert desk["officer"].email not in html  # staff appear by role
    assert "istruttore" in html


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
    assert "modificata da un&#39;altra operazione" in page.get_data(as_text=True)
