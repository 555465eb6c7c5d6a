"""Notifications go out over SMTP to a real server on loopback (aiosmtpd)."""

import asyncio
import email
import email.policy
import io
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from bando import create_app
from bando.core.extensions import db
from bando.core.mail import MAX_ATTEMPTS, send_pending
from bando.core.models import Notification
from tests.bando.accounts.helpers import confirm_address
from tests.bando.applications.data import pdf_bytes, proposal, registration, token_for
from tests.factories import create_edition
from tests.statements import recorded_statements

ROOT = Path(__file__).resolve().parents[3]


class Inbox:
    def __init__(self):
        self.envelopes = []
        self.refuse = set()  # recipients answered 550

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

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
    assert client.post("/api/v1/accounts", json=body).status_code == 202
    confirm_address(client, body["email"])
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
    confirmation = f"Conferma dell'indirizzo email — {body['organisation']['name']}"
    assert subjects[confirmation] == [body["email"]]  # the PEC waits for the confirmation
    submitted = f"Domanda presentata — protocollo {protocol}"
    assert submitted in subjects
    recipients = {r for rcpt, m in received if m["Subject"] == submitted for r in rcpt}
    assert recipients == {body["organisation"]["pec"], body["email"]}
    message = next(m for _, m in received if m["Subject"] == submitted)
    assert message["From"] == "bando@comune.example.it"
    assert protocol in message.get_content()
    assert all(n.sent_at is not None for n in db.session.scalars(select(Notification)))
    # The same message to each recipient, each with its own To and its row's Message-ID.
    copies = [(rcpt, m) for rcpt, m in received if m["Subject"] == submitted]
    assert sorted(m["To"] for _, m in copies) == sorted(r for rcpt, _ in copies for r in rcpt)
    rows = db.session.scalars(select(Notification).where(Notification.subject == submitted))
    assert sorted(m["Message-ID"] for _, m in copies) == sorted(n.message_id for n in rows)
    assert len({m["Message-ID"] for _, m in copies}) == 2
    assert {m.get_content() for _, m in copies} == {message.get_content()}


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


def test_without_a_mail_server_the_log_keeps_the_messages(app, tmp_path):
    """The root logger keeps WARNING and above (Python's default, gunicorn's too): with no
    server the app's own logger keeps INFO, where the messages and their links are written;
    LOG_LEVEL, when set, decides."""
    logger = logging.getLogger(app.name)
    before = logger.level
    settings = {key: app.config[key] for key in ("SQLALCHEMY_DATABASE_URI", "SECRET_KEY")}
    try:
        logger.setLevel(logging.NOTSET)
        assert not logger.isEnabledFor(logging.INFO)  # what lost every link before
        kept = create_app({**settings, "MAIL_SERVER": None}, instance_path=str(tmp_path))
        assert kept.logger.isEnabledFor(logging.INFO)
        logger.setLevel(logging.NOTSET)
        quiet = create_app({**settings, "LOG_LEVEL": "warning"}, instance_path=str(tmp_path))
        assert not quiet.logger.isEnabledFor(logging.INFO)
        numeric = create_app({**settings, "LOG_LEVEL": "10"}, instance_path=str(tmp_path))
        assert numeric.logger.isEnabledFor(logging.DEBUG)
        logger.setLevel(logging.NOTSET)
        served = create_app({**settings, "MAIL_SERVER": "127.0.0.1"}, instance_path=str(tmp_path))
        assert not served.logger.isEnabledFor(logging.INFO)
    finally:
        logger.setLevel(before)


def test_the_cli_sends_the_queue(app, runner, smtp):
    db.session.add(Notification(to_address="ente@pec.example.it", subject="Da cron", body="."))
    db.session.commit()
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    assert "sent: 1, still queued: 0" in result.output
    assert smtp.messages()[0][1]["Subject"] == "Da cron"


def request_documents(client, code, *, queued_before=0):
    """An officer asks, through the API, for documents of a submitted proposal (after
    `queued_before` messages already waiting in the queue); (application, the applicant's
    e-mail address)."""
    from tests.factories import create_organisation, create_user
    from tests.lifecycle_factories import create_application, put_in_state

    edition = create_edition(code)
    organisation = create_organisation(pec="ente@pec.example.it")
    applicant = create_user("applicant", organisation=organisation)
    application = create_application(edition, organisation, applicant)
    put_in_state(application, "submitted")
    create_user("officer", "istruttore@example.it")
    db.session.commit()
    if queued_before:
        queue(queued_before)
    response = client.post(
        f"/api/v1/applications/{application.id}/eligibility",
        headers=token_for(client, "istruttore@example.it"),
        json={"decision": "request_integration", "reason": "Manca lo statuto firmato."},
    )
    assert response.status_code == 200, response.get_json()
    return application, applicant.email


def test_an_officer_decision_through_the_api_is_mailed_after_the_commit(client, smtp):
    application, applicant = request_documents(client, "cdq-istruttoria")
    received = smtp.messages()
    subject = f"Richiesta di integrazione — domanda {application.protocol}"
    assert {r for rcpt, m in received if m["Subject"] == subject for r in rcpt} == {
        "ente@pec.example.it",
        applicant,
    }
    body = next(m for _, m in received if m["Subject"] == subject).get_content()
    assert "Manca lo statuto firmato." in body


def test_a_request_sends_what_it_queued_and_leaves_the_rest_of_the_queue_to_cron(client, smtp):
    """A message queued earlier (a failure, the CLI) is not the request's to send: it waits
    for `bando mail send`, and the request's own messages go out once each."""
    application, _ = request_documents(client, "cdq-coda", queued_before=1)  # "Avviso 0"
    subject = f"Richiesta di integrazione — domanda {application.protocol}"
    assert sorted(m["Subject"] for _, m in smtp.messages()) == [subject, subject]
    db.session.expire_all()
    earlier = db.session.scalar(select(Notification).where(Notification.subject == "Avviso 0"))
    assert earlier.sent_at is None and earlier.claimed_at is None and earlier.attempts == 0
    assert send_pending() == 1  # cron: the earlier one only
    assert sorted(m["Subject"] for _, m in smtp.messages()) == ["Avviso 0", subject, subject]


def test_a_requests_messages_are_claimed_together_and_marked_together(client, smtp):
    """The move's two messages (the PEC and the applicant): one statement claims both
    before the first is sent, one marks both sent after the last (it was one of each per
    message); each keeps the Message-ID it was queued with."""
    with recorded_statements() as statements:
        application, _ = request_documents(client, "cdq-insieme")
    outbox = [s.split(" SET ")[1][:30] for s in statements if s.startswith("UPDATE notification")]
    assert len(outbox) == 2 and outbox[0].startswith("attempts="), outbox
    assert outbox[1].startswith("sent_at="), outbox
    db.session.expire_all()
    rows = db.session.scalars(select(Notification)).all()
    assert len(rows) == 2 and all(n.sent_at and n.attempts == 1 for n in rows)
    assert sorted(n.message_id for n in rows) == sorted(m["Message-ID"] for _, m in smtp.messages())


def test_a_request_whose_server_is_down_leaves_all_its_messages_to_cron(app, client, smtp):
    """Claimed together, released together: none of the move's messages stays claimed
    (which would hold it back as interrupted); `bando mail send` sends them later."""
    port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = free_port()  # nobody listens there
    request_documents(client, "cdq-giu")
    assert_back_in_the_queue("connessione SMTP")
    app.config["MAIL_PORT"] = port
    assert send_pending(app) == 2
    assert len(smtp.messages()) == 2


def test_a_mail_setting_that_cannot_be_used_leaves_the_messages_to_cron(app, client, smtp):
    """A port that is not a number: no connection, so nothing sent and nothing left
    claimed (it was left claimed, as if interrupted mid-way, before)."""
    port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = "venticinque"
    request_documents(client, "cdq-porta")
    assert_back_in_the_queue("connessione SMTP")
    app.config["MAIL_PORT"] = port
    assert send_pending(app) == 2


def assert_back_in_the_queue(error: str):
    """The request's two messages pending again, with `error`; the first one's attempt
    counted, the other's not (it was never handed to the server)."""
    db.session.expire_all()
    rows = db.session.scalars(select(Notification).order_by(Notification.id)).all()
    assert len(rows) == 2
    assert all(n.claimed_at is None and n.sent_at is None for n in rows)
    assert all(error in n.last_error for n in rows), [n.last_error for n in rows]
    assert [n.attempts for n in rows] == [1, 0]


def test_an_address_the_server_refuses_waits_and_the_others_go(client, smtp):
    """One recipient refused: that message is back in the queue with the server's answer;
    the other is sent and marked."""
    smtp.refuse = {"ente@pec.example.it"}
    _, applicant = request_documents(client, "cdq-rifiutato")
    assert [rcpt for rcpt, _ in smtp.messages()] == [[applicant]]
    db.session.expire_all()
    refused = db.session.scalar(select(Notification).where(Notification.sent_at.is_(None)))
    assert refused.to_address == "ente@pec.example.it" and refused.claimed_at is None
    assert "550" in refused.last_error
    sent = db.session.scalar(select(Notification).where(Notification.sent_at.is_not(None)))
    assert sent.to_address == applicant


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


POISON = "Evil\nBcc: v@example.org"


def _poisoned_row():
    """A registration notice as rows queued before names were checked could hold it."""
    row = Notification(
        to_address="volontaria@example.it",
        subject=f"Registrazione a bando: {POISON}",
        body=f"l'ente «{POISON}» è registrato.",
    )
    db.session.add(row)
    db.session.commit()
    return row.id


def _submitted_application():
    from tests.factories import create_organisation, create_user
    from tests.lifecycle_factories import create_application, put_in_state

    edition = create_edition()
    organisation = create_organisation(pec="ente@pec.example.it")
    applicant = create_user("applicant", organisation=organisation)
    application = create_application(edition, organisation, applicant)
    put_in_state(application, "submitted")
    officer = create_user("officer", "istruttore@example.it")
    db.session.commit()
    return application, officer


def _no_injected_bcc(smtp):
    for rcpt, message in smtp.messages():
        assert "v@example.org" not in rcpt
        assert message["Bcc"] is None
        assert "Evil" not in (message["Subject"] or "")


def test_a_poisoned_message_never_blocks_the_queue(app, smtp):
    from bando.applications.lifecycle import fire

    poisoned = _poisoned_row()
    application, officer = _submitted_application()
    fire(application, "request_integration", officer, "Manca lo statuto firmato.")
    db.session.commit()

    sent = send_pending(app)

    subject = f"Richiesta di integrazione — domanda {application.protocol}"
    assert sent == 2  # the organisation's PEC and its user
    assert {m["Subject"] for _, m in smtp.messages()} == {subject}
    _no_injected_bcc(smtp)
    row = db.session.get(Notification, poisoned)
    assert row.sent_at is None and row.attempts == 1
    assert "Subject" in row.last_error and "U+000A" in row.last_error
    # Tried again later it fails again, on its own, until it is given up.
    for _ in range(MAX_ATTEMPTS):
        send_pending(app)
    assert db.session.get(Notification, poisoned).attempts == MAX_ATTEMPTS
    _no_injected_bcc(smtp)


def test_the_cli_reports_a_poisoned_message_instead_of_crashing(app, runner, smtp):
    poisoned = _poisoned_row()
    db.session.add(Notification(to_address="ente@pec.example.it", subject="Da cron", body="."))
    db.session.commit()

    result = runner.invoke(args=["mail", "send"])

    assert result.exit_code == 0, result.output
    assert "sent: 1, still queued: 1" in result.output
    assert [m["Subject"] for _, m in smtp.messages()] == ["Da cron"]
    _no_injected_bcc(smtp)
    row = db.session.get(Notification, poisoned)
    assert row.attempts == 1 and row.last_error


@pytest.mark.parametrize(
    "address",
    ["ente@pec.example.it\nBcc: v@example.org", "a@example.it, v@example.org", "Ente <a@b.it>"],
)
def test_an_address_that_is_not_one_plain_address_is_refused(app, smtp, address):
    db.session.add(Notification(to_address=address, subject="Esito", body="."))
    db.session.add(Notification(to_address="ente@pec.example.it", subject="Dopo", body="."))
    db.session.commit()
    assert send_pending(app) == 1
    assert [(rcpt, m["Subject"]) for rcpt, m in smtp.messages()] == [
        (["ente@pec.example.it"], "Dopo")
    ]
    refused = db.session.scalar(select(Notification).where(Notification.subject == "Esito"))
    assert refused.attempts == 1 and "To" in refused.last_error


def test_a_registration_with_a_line_break_in_the_name_is_refused(client, smtp):
    response = client.post("/api/v1/accounts", json=registration(name=POISON))
    assert response.status_code == 422
    assert "organisation.name" in response.get_json()["errors"]
    assert db.session.scalar(select(db.func.count(Notification.id))) == 0
    assert smtp.messages() == []


def test_a_sender_with_a_name_and_an_address_beyond_ascii_are_sent(app, smtp):
    app.config["MAIL_SENDER"] = "Comune di Milano <bando@comune.example.it>"
    db.session.add(Notification(to_address="utente@città.example.it", subject="Esito", body="."))
    db.session.commit()
    assert send_pending(app) == 1
    rcpt, message = smtp.messages()[0]
    assert rcpt == ["utente@città.example.it"]
    assert message["From"].addresses[0].display_name == "Comune di Milano"


# --- crashes and restarts --------------------------------------------------------------------


class SlowInbox(Inbox):
    """Takes each message, then is slow to say so: the sender can die in between."""

    def __init__(self):
        super().__init__()
        self.received = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.received.set()
        await asyncio.sleep(20)
        return "250 OK"


def queue(count):
    for n in range(count):
        db.session.add(
            Notification(to_address=f"ente{n}@example.it", subject=f"Avviso {n}", body="Testo.")
        )
    db.session.commit()


def cli(instance: Path, *args) -> subprocess.Popen:
    """`bando …` in a process of its own, as cron runs it."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            f"bando:create_app(instance_path={str(instance)!r})",
            *args,
        ],
        cwd=str(ROOT),
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def instance_for(app, tmp_path, port) -> Path:
    instance = tmp_path / "cron"
    instance.mkdir(parents=True)
    settings = {
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "mail-crash-" + uuid.uuid4().hex * 2,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": port,
        "MAIL_SENDER": "bando@comune.example.it",
    }
    (instance / "config.py").write_text("".join(f"{k} = {v!r}\n" for k, v in settings.items()))
    return instance


def test_the_queue_survives_a_restart_and_each_message_goes_once(app, tmp_path):
    """Queued while the server is down; a new process (the app restarted, cron) sends
    each message once; another run sends nothing."""
    queue(3)
    inbox = Inbox()
    port = free_port()
    instance = instance_for(app, tmp_path, port)
    down = cli(instance, "mail", "send")
    assert "sent: 0, still queued: 3" in down.communicate(timeout=120)[0]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        for expected in ("sent: 3, still queued: 0", "sent: 0, still queued: 0"):
            output = cli(instance, "mail", "send").communicate(timeout=120)[0]
            assert expected in output, output
    finally:
        controller.stop()
    assert sorted(m["Subject"] for _, m in inbox.messages()) == ["Avviso 0", "Avviso 1", "Avviso 2"]


def test_a_crash_between_sending_and_marking_never_sends_twice(app, tmp_path):
    """`bando mail send` killed (SIGKILL) after the server took a message, before it could
    mark it sent: later runs do not send it again; they say it was interrupted, and a
    person may send it again with its first Message-ID (a duplicate the reader's mail
    program recognises)."""
    queue(2)
    inbox = SlowInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        instance = instance_for(app, tmp_path, controller.port)
        sender = cli(instance, "mail", "send")
        assert inbox.received.wait(60), "the message never reached the server"
        sender.send_signal(signal.SIGKILL)
        sender.wait(timeout=30)
        assert len(inbox.envelopes) == 1
    finally:
        controller.stop()
    first = inbox.messages()[0][1]

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        instance = instance_for(app, tmp_path / "again", controller.port)
        output = cli(instance, "mail", "send").communicate(timeout=120)[0]
        assert "sent: 1, still queued: 1" in output, output  # the other one only
        assert [m["Subject"] for _, m in inbox.messages()] == ["Avviso 1"]
        assert first["Subject"] == "Avviso 0"
        db.session.expire_all()
        claimed = db.session.scalar(select(Notification).where(Notification.sent_at.is_(None)))
        assert claimed.claimed_at is not None and claimed.message_id == first["Message-ID"]
        # Later, the interrupted message is reported, and sent again only when asked.
        claimed.claimed_at -= timedelta(hours=1)
        db.session.commit()
        output = cli(instance, "mail", "send").communicate(timeout=120)[0]
        assert "sent: 0" in output and "interrupted while sending: 1" in output, output
        assert len(inbox.envelopes) == 1
        output = cli(instance, "mail", "send", "--resend-uncertain").communicate(timeout=120)[0]
        assert "sent: 1, still queued: 0" in output, output
    finally:
        controller.stop()
    resent = inbox.messages()[-1][1]
    assert resent["Subject"] == "Avviso 0"
    assert resent["Message-ID"] == first["Message-ID"]  # the same message, recognisably
