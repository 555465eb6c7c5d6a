"""Notifications go out over SMTP to a real server on loopback (aiosmtpd)."""

import email
import email.policy
import io
import logging
import socket

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from bando.core.extensions import db
from bando.core.mail import MAX_ATTEMPTS, send_pending
from bando.core.models import Notification
from tests.bando.applications.data import pdf_bytes, proposal, registration, token_for
from tests.factories import create_edition


class Inbox:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"

    def messages(self):
        return [
            (
                list(e.rcpt_tos),
                email.message_from_bytes(
                    e.original_content or e.content, policy=email.policy.default
                ),
            )
            for e in self.envelopes
        ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp(app):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(
        MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_SENDER="bando@comune.example.it"
    )
    yield inbox
    controller.stop()


def test_a_submission_is_notified_in_italian_to_the_organisation(client, smtp):
    edition = create_edition("cdq-posta")
    db.session.commit()
    body = registration()
    assert client.post("/api/v1/accounts", json=body).status_code == 201
    headers = token_for(client, body["email"])
    application_id = client.post(
        "/api/v1/applications", headers=headers, json=proposal(edition)
    ).get_json()["id"]
    for kind in edition.required_attachments:
        client.post(
            f"/api/v1/applications/{application_id}/attachments",
            headers=headers,
            data={"kind": kind, "file": (io.BytesIO(pdf_bytes()), "a.pdf")},
            content_type="multipart/form-data",
        )
    response = client.post(f"/api/v1/applications/{application_id}/submit", headers=headers)
    protocol = response.get_json()["protocol"]

    received = smtp.messages()
    subjects = {message["Subject"]: rcpt for rcpt, message in received}
    assert f"Registrazione a bando: {body['organisation']['name']}" in subjects
    submitted = f"Domanda presentata — protocollo {protocol}"
    assert submitted in subjects
    recipients = {r for rcpt, m in received if m["Subject"] == submitted for r in rcpt}
    assert recipients == {body["organisation"]["pec"], body["email"]}
    message = next(m for _, m in received if m["Subject"] == submitted)
    assert message["From"] == "bando@comune.example.it"
    assert protocol in message.get_content()
    assert all(n.sent_at is not None for n in db.session.scalars(select(Notification)))


def test_send_pending_sends_each_queued_message_once(app, smtp):
    db.session.add(Notification(to_address="ente@pec.example.it", subject="Prova è", body="Ciao"))
    db.session.commit()
    assert send_pending(app) == 1
    assert send_pending(app) == 0
    assert len(smtp.envelopes) == 1
    rcpt, message = smtp.messages()[0]
    assert rcpt == ["ente@pec.example.it"]
    assert message["Subject"] == "Prova è"


def test_an_unreachable_server_keeps_the_message_queued_for_later(app, smtp):
    port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = free_port()  # nobody listens there
    db.session.add(Notification(to_address="ente@pec.example.it", subject="Esito", body="..."))
    db.session.commit()
    assert send_pending(app) == 0
    notification = db.session.scalar(select(Notification))
    assert notification.sent_at is None
    assert notification.attempts == 1 and "SMTP" in notification.last_error

    app.config["MAIL_PORT"] = port
    assert send_pending(app) == 1
    assert smtp.messages()[0][1]["Subject"] == "Esito"


def test_a_message_that_keeps_failing_is_given_up(app, smtp):
    db.session.add(
        Notification(to_address="x@example.it", subject="s", body="b", attempts=MAX_ATTEMPTS)
    )
    db.session.commit()
    assert send_pending(app) == 0
    assert smtp.envelopes == []


def test_without_a_mail_server_the_message_is_logged(app, caplog):
    app.config["MAIL_SERVER"] = None
    db.session.add(Notification(to_address="ente@pec.example.it", subject="Esito", body="Testo"))
    db.session.commit()
    with caplog.at_level(logging.INFO):
        assert send_pending(app) == 1
    assert "ente@pec.example.it" in caplog.text and "Esito" in caplog.text


def test_the_cli_sends_the_queue(app, runner, smtp):
    db.session.add(Notification(to_address="ente@pec.example.it", subject="Da cron", body="."))
    db.session.commit()
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    assert "sent: 1, still queued: 0" in result.output
    assert smtp.messages()[0][1]["Subject"] == "Da cron"


def test_an_officer_decision_through_the_api_is_mailed_after_the_commit(client, smtp):
    from tests.factories import create_organisation, create_user
    from tests.lifecycle_factories import create_application, put_in_state

    edition = create_edition("cdq-istruttoria")
    organisation = create_organisation(pec="ente@pec.example.it")
    applicant = create_user("applicant", organisation=organisation)
    application = create_application(edition, organisation, applicant)
    put_in_state(application, "submitted")
    create_user("officer", "istruttore@example.it")
    db.session.commit()
    headers = token_for(client, "istruttore@example.it")

    response = client.post(
        f"/api/v1/applications/{application.id}/eligibility",
        headers=headers,
        json={"decision": "request_integration", "reason": "Manca lo statuto firmato."},
    )

    assert response.status_code == 200, response.get_json()
    received = smtp.messages()
    subject = f"Richiesta di integrazione — domanda {application.protocol}"
    assert {r for rcpt, m in received if m["Subject"] == subject for r in rcpt} == {
        "ente@pec.example.it",
        applicant.email,
    }
    body = next(m for _, m in received if m["Subject"] == subject).get_content()
    assert "Manca lo statuto firmato." in body


def test_a_refused_decision_sends_nothing(client, smtp):
    from tests.factories import create_organisation, create_user
    from tests.lifecycle_factories import create_application, put_in_state

    edition = create_edition("cdq-rifiuto")
    organisation = create_organisation()
    applicant = create_user("applicant", organisation=organisation)
    application = create_application(edition, organisation, applicant)
    put_in_state(application, "submitted")
    create_user("officer", "istruttore@example.it")
    db.session.commit()
    headers = token_for(client, "istruttore@example.it")
    response = client.post(
        f"/api/v1/applications/{application.id}/eligibility",
        headers=headers,
        json={"decision": "request_integration", "reason": "  "},  # a reason is required
    )
    assert response.status_code == 422, response.get_json()
    assert smtp.messages() == []
    assert db.session.scalar(select(db.func.count(Notification.id))) == 0
