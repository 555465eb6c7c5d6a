"""Sending the queued notifications (the Notification outbox) over SMTP.

Notifications are queued in the same transaction as the change they tell about; this module
sends them after the commit, so a failed SMTP server never undoes a submission. With no
MAIL_SERVER configured (development) each message is written to the application log.
"""

import contextlib
import re
import smtplib
import unicodedata
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

import click
from flask import current_app, g, has_request_context
from flask.cli import with_appcontext
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from bando.core.extensions import db
from bando.core.models import Notification
from bando.core.timeutil import utcnow

MAX_ATTEMPTS = 5
BATCH = 200


class UnsafeMessage(ValueError):
    """A queued message that cannot be sent as it is (it is recorded as failed)."""


def _header(name: str, value) -> str:
    """A header value as it will be written, refused when it could add a header of its own
    (a line break) or hide one (other control characters): rows written before the pages
    refused such input, or by hand, must not forge a Bcc."""
    if not isinstance(value, str) or not value.strip():
        raise UnsafeMessage(f"intestazione {name} vuota")
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp"):
            raise UnsafeMessage(
                f"intestazione {name} non valida: contiene il carattere U+{ord(ch):04X}"
            )
    return value.strip()


# One plain address: no display name, no list, no comment, no spaces (the outbox never
# queues anything else; non-ASCII is left to the server's SMTPUTF8).
_PLAIN_ADDRESS = re.compile(r"[^\s@,;:<>()\[\]\"\\]+@[^\s@,;:<>()\[\]\"\\]+")


def _address(name: str, value) -> str:
    value = _header(name, value)
    if not _PLAIN_ADDRESS.fullmatch(value):
        raise UnsafeMessage(f"indirizzo {name} non valido: {value[:100]!r}")
    return value


def build_message(notification: Notification, sender: str) -> EmailMessage:
    """The message of a queued notification; raises UnsafeMessage (a ValueError) when one
    of its headers could not be written safely."""
    # The sender comes from the configuration and may carry a name ("Comune <a@b.it>").
    sender = _header("From", sender)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = _address("To", notification.to_address)
    message["Subject"] = _header("Subject", notification.subject)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or None)
    message.set_content(notification.body or "")
    return message


def _connect(config) -> smtplib.SMTP:
    smtp = smtplib.SMTP(config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 25), timeout=30)
    if config.get("MAIL_USE_TLS"):
        smtp.starttls()
    if config.get("MAIL_USERNAME"):
        smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    return smtp


def send_pending(app=None) -> int:
    """Sends every unsent notification (up to a batch); returns how many went out.

    Failures are recorded on the row (attempts, last_error) and retried on the next call,
    up to MAX_ATTEMPTS; this function never raises because of the mail server.
    """
    app = app or current_app._get_current_object()
    config = app.config
    pending = list(
        db.session.scalars(
            select(Notification)
            .where(Notification.sent_at.is_(None), Notification.attempts < MAX_ATTEMPTS)
            .order_by(Notification.id)
            .limit(BATCH)
            # Two app processes never send the same message twice (ignored by SQLite,
            # where writers are serialised anyway).
            .with_for_update(skip_locked=True)
        )
    )
    if not pending:
        return 0
    sender = config.get("MAIL_SENDER") or "bando@localhost"
    sent = 0
    smtp = None
    try:
        if config.get("MAIL_SERVER"):
            try:
                smtp = _connect(config)
            except (OSError, smtplib.SMTPException) as error:
                for notification in pending:
                    notification.attempts += 1
                    notification.last_error = f"connessione SMTP: {error}"[:2000]
                app.logger.warning("mail: cannot reach %s: %s", config["MAIL_SERVER"], error)
                return 0
        for notification in pending:
            # Counted before anything can fail: a message that cannot be built or sent is
            # retried up to MAX_ATTEMPTS, and never holds back the ones after it.
            notification.attempts += 1
            try:
                message = build_message(notification, sender)
                if smtp is None:
                    app.logger.info("mail (not sent, no MAIL_SERVER):\n%s", message.as_string())
                else:
                    smtp.send_message(message)
            except (OSError, smtplib.SMTPException) as error:
                notification.last_error = str(error)[:2000]
                app.logger.warning(
                    "mail %s to %r failed: %s", notification.id, notification.to_address, error
                )
                continue
            except Exception as error:  # a message that cannot be built (bad header, encoding)
                notification.last_error = f"messaggio non valido: {error}"[:2000]
                app.logger.warning("mail %s refused: %s", notification.id, error)
                continue
            notification.sent_at = utcnow()
            notification.last_error = ""
            sent += 1
    finally:
        if smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                smtp.quit()
        db.session.commit()
    return sent


@event.listens_for(Session, "after_flush")
def _note_queued(session, _flush_context):
    if any(isinstance(row, Notification) for row in session.new):
        session.info["notifications_queued"] = True


@event.listens_for(Session, "after_commit")
def _send_after_request(session):
    # Sent once the request's work is committed, never before: see init_app.
    if session.info.pop("notifications_queued", False) and has_request_context():
        g.send_notifications = True


@event.listens_for(Session, "after_rollback")
def _forget_queued(session):
    session.info.pop("notifications_queued", None)


def init_app(app):
    """Every request that committed new notifications sends them before it answers; what
    cannot be sent stays queued for `bando mail send` (cron)."""

    @app.after_request
    def _send_queued(response):
        if g.pop("send_notifications", False):
            try:
                send_pending(app)
            except Exception:  # the change is committed: never fail the answer for mail
                db.session.rollback()
                app.logger.exception("mail: sending the queued notifications failed")
        return response


@click.group("mail")
def mail_group():
    """Outgoing email."""


@mail_group.command("send")
@with_appcontext
def mail_send():
    """Send the queued notifications (suited to cron)."""
    sent = send_pending(current_app._get_current_object())
    left = db.session.scalar(
        select(db.func.count(Notification.id)).where(Notification.sent_at.is_(None))
    )
    click.echo(f"sent: {sent}, still queued: {left}")
