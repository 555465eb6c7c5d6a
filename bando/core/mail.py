"""Sending the queued notifications (the Notification outbox) over SMTP.

Notifications are queued in the same transaction as the change they tell about; this module
sends them after the commit, so a failed SMTP server never undoes a submission. With no
MAIL_SERVER configured (development) each message is written to the application log.
"""

import contextlib
import re
import smtplib
import unicodedata
from datetime import timedelta
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
# A claim older than this, never marked sent: its sender died mid-way (a message takes
# seconds; a batch, minutes).
UNCERTAIN_AFTER = timedelta(minutes=30)


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
    message["Message-ID"] = notification.message_id or make_msgid(
        domain=parseaddr(sender)[1].rpartition("@")[2] or None
    )
    message.set_content(notification.body or "")
    return message


def _connect(config) -> smtplib.SMTP:
    smtp = smtplib.SMTP(config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 25), timeout=30)
    if config.get("MAIL_USE_TLS"):
        smtp.starttls()
    if config.get("MAIL_USERNAME"):
        smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    return smtp


def _claim(app, after: int) -> int | None:
    """Claims the next pending message and commits the claim, before it is sent: a
    process that dies after the SMTP server took it but before marking it sent leaves it
    claimed, and no later run sends it again. One at a time, so a crash strands at most
    the message in flight; in id order after `after`, so a run tries each message once."""
    notification = db.session.scalar(
        select(Notification)
        .where(
            Notification.sent_at.is_(None),
            Notification.claimed_at.is_(None),
            Notification.attempts < MAX_ATTEMPTS,
            Notification.id > after,
        )
        .order_by(Notification.id)
        .limit(1)
        # Two app processes never claim the same message (ignored by SQLite, where
        # writers are serialised anyway).
        .with_for_update(skip_locked=True)
    )
    if notification is None:
        db.session.commit()
        return None
    # Counted before anything can fail: a message that cannot be built or sent is retried
    # up to MAX_ATTEMPTS, and never holds back the ones after it.
    notification.attempts += 1
    notification.claimed_at = utcnow()
    # Kept from the first attempt: any copy ever sent carries the same Message-ID.
    domain = parseaddr(app.config.get("MAIL_SENDER") or "")[1].rpartition("@")[2] or None
    notification.message_id = notification.message_id or make_msgid(domain=domain)
    db.session.commit()
    return notification.id


def _release(notification: Notification, error: str) -> None:
    """Not sent (the server refused it, or it could not be built): pending again."""
    notification.claimed_at = None
    notification.last_error = error[:2000]
    db.session.commit()


def send_pending(app=None, ids: list[int] | None = None) -> int:
    """Sends the unsent notifications (up to a batch); returns how many went out.

    Each message is claimed (committed) before it is sent and marked sent (committed)
    right after. Failures are recorded on the row (attempts, last_error) and retried on
    the next call, up to MAX_ATTEMPTS; this function never raises because of the mail
    server. `ids`: messages already claimed (see resend_uncertain).
    """
    app = app or current_app._get_current_object()
    config = app.config
    sender = config.get("MAIL_SENDER") or "bando@localhost"
    given = list(ids) if ids is not None else None
    sent = 0
    smtp = None
    last = 0
    try:
        for _ in range(BATCH):
            if given is not None:
                notification_id = given.pop(0) if given else None
            else:
                notification_id = _claim(app, last)
            if notification_id is None:
                break
            last = notification_id
            notification = db.session.get(Notification, notification_id)
            if smtp is None and config.get("MAIL_SERVER"):
                try:
                    smtp = _connect(config)
                except (OSError, smtplib.SMTPException) as error:
                    _release(notification, f"connessione SMTP: {error}")
                    for other in given or ():
                        _release(db.session.get(Notification, other), f"connessione SMTP: {error}")
                    app.logger.warning("mail: cannot reach %s: %s", config["MAIL_SERVER"], error)
                    break
            try:
                message = build_message(notification, sender)
                if smtp is None:
                    app.logger.info("mail (not sent, no MAIL_SERVER):\n%s", message.as_string())
                else:
                    smtp.send_message(message)
            except (OSError, smtplib.SMTPException) as error:
                app.logger.warning(
                    "mail %s to %r failed: %s", notification.id, notification.to_address, error
                )
                _release(notification, str(error))
                continue
            except Exception as error:  # a message that cannot be built (bad header, encoding)
                app.logger.warning("mail %s refused: %s", notification.id, error)
                _release(notification, f"messaggio non valido: {error}")
                continue
            notification.sent_at = utcnow()
            notification.last_error = ""
            db.session.commit()
            sent += 1
    finally:
        if smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                smtp.quit()
    return sent


def uncertain(older_than: timedelta = UNCERTAIN_AFTER):
    """Messages claimed long ago and never marked: the process sending them died, and
    whether the server got them is unknown. Not resent by themselves (see the README)."""
    return select(Notification).where(
        Notification.sent_at.is_(None),
        Notification.claimed_at.is_not(None),
        Notification.claimed_at < utcnow() - older_than,
    )


def resend_uncertain(app=None) -> int:
    """Sends the uncertain messages again, each with its first Message-ID, so a copy the
    server did get is recognisable as the same message (a person decides to do this)."""
    ids = [n.id for n in db.session.scalars(uncertain())]
    for notification in db.session.scalars(select(Notification).where(Notification.id.in_(ids))):
        notification.claimed_at = utcnow()
    db.session.commit()
    return send_pending(app, ids)


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
@click.option(
    "--resend-uncertain",
    "resend",
    is_flag=True,
    help="Also send again the messages whose sending was interrupted (same Message-ID).",
)
@with_appcontext
def mail_send(resend):
    """Send the queued notifications (suited to cron)."""
    app = current_app._get_current_object()
    sent = send_pending(app)
    if resend:
        sent += resend_uncertain(app)
    left = db.session.scalar(
        select(db.func.count(Notification.id)).where(Notification.sent_at.is_(None))
    )
    click.echo(f"sent: {sent}, still queued: {left}")
    doubtful = db.session.scalar(select(db.func.count()).select_from(uncertain().subquery()))
    if doubtful:
        click.echo(
            f"interrupted while sending: {doubtful} (the server may have them; "
            "check, then `bando mail send --resend-uncertain`)"
        )
