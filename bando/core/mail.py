"""Sending the queued notifications (the Notification outbox) over SMTP.

Notifications are queued in the same transaction as the change they tell about; this module
sends them after the commit, so a failed SMTP server never undoes a submission. With no
MAIL_SERVER configured (development) each message is written to the application log.
"""

import contextlib
import logging
import re
import smtplib
import unicodedata
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from operator import attrgetter

import click
from flask import current_app, g, has_request_context
from flask.cli import with_appcontext
from sqlalchemy import bindparam, event, insert, select, update
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
    message["Message-ID"] = notification.message_id or new_message_id(sender)
    message.set_content(notification.body or "")
    return message


def readdress(message: EmailMessage, notification: Notification) -> EmailMessage:
    """`message`, built for another notification with the same subject and body, made
    the message of `notification` (its own To and Message-ID): the same message to each
    recipient of a move, without building it again (building costs)."""
    to = _address("To", notification.to_address)
    message.replace_header("To", to)
    message.replace_header(
        "Message-ID", notification.message_id or new_message_id(str(message["From"]))
    )
    return message


def _connect(config) -> smtplib.SMTP:
    smtp = smtplib.SMTP(config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 25), timeout=30)
    if config.get("MAIL_USE_TLS"):
        smtp.starttls()
    if config.get("MAIL_USERNAME"):
        smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    return smtp


def new_message_id(sender: str) -> str:
    """A Message-ID in the sender's domain (the machine's name when it has none)."""
    return make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or None)


def _message_id(app) -> str:
    return new_message_id(app.config.get("MAIL_SENDER") or "")


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
    notification.message_id = notification.message_id or _message_id(app)
    db.session.commit()
    return notification.id


# The outbox's table, written by single statements (no ORM objects to keep in step),
# each built once.
OUTBOX = Notification.__table__
# Claims the given messages that are still pending, as _claim does (committed before they
# are sent), returning what they are made of; none of those another process has or that
# are done. Their Message-ID was given when they were queued (queue_mail).
CLAIM = (
    update(OUTBOX)
    .where(
        OUTBOX.c.id.in_(bindparam("claim_ids", expanding=True)),
        OUTBOX.c.sent_at.is_(None),
        OUTBOX.c.claimed_at.is_(None),
        OUTBOX.c.attempts < MAX_ATTEMPTS,
    )
    .values(
        attempts=OUTBOX.c.attempts + 1,
        claimed_at=bindparam("claim_at", type_=OUTBOX.c.claimed_at.type),
    )
    .returning(
        OUTBOX.c.id, OUTBOX.c.to_address, OUTBOX.c.subject, OUTBOX.c.body, OUTBOX.c.message_id
    )
)
QUEUE = insert(OUTBOX).returning(OUTBOX.c.id)
# Not sent (the server refused it, or it could not be built): pending again.
RELEASE = (
    update(OUTBOX)
    .where(OUTBOX.c.id == bindparam("release_id"))
    .values(claimed_at=None, last_error=bindparam("release_error", type_=OUTBOX.c.last_error.type))
)
# Claimed but never handed to the server (it could not be reached, or an error stopped
# the sending before them): pending again, and their claim was no attempt.
RELEASE_UNTRIED = (
    update(OUTBOX)
    .where(OUTBOX.c.id.in_(bindparam("untried_ids", expanding=True)))
    .values(
        claimed_at=None,
        attempts=OUTBOX.c.attempts - 1,
        last_error=bindparam("untried_error", type_=OUTBOX.c.last_error.type),
    )
)
MARK_SENT = (
    update(OUTBOX)
    .where(OUTBOX.c.id.in_(bindparam("sent_ids", expanding=True)))
    .values(sent_at=bindparam("sent_at_", type_=OUTBOX.c.sent_at.type), last_error="")
)


def _release(notification_id: int, error: str):
    return RELEASE, {"release_id": notification_id, "release_error": error[:2000]}


def _mark_sent(*notification_ids: int):
    return MARK_SENT, {"sent_ids": list(notification_ids), "sent_at_": utcnow()}


def _committed(statement, parameters) -> list:
    """Runs one statement in the session and commits it: its rows, if it returns any."""
    result = db.session.execute(statement, parameters)
    rows = result.all() if result.returns_rows else []
    db.session.commit()
    return rows


def _send(app, claimed, release_rest, run=_committed, mark=None) -> int:
    """Sends each message of `claimed` (an iterator of claimed messages) and marks it sent
    right after, or gives it to `mark` to be marked. `run(statement, parameters)` runs one
    statement and commits it. Failures are recorded on the row (attempts, last_error);
    never raises because of the mail server. `release_rest(error)`: when the server
    cannot be reached, releases what was claimed beyond the message in hand."""
    config = app.config
    sender = config.get("MAIL_SENDER") or "bando@localhost"
    sent = 0
    smtp = None
    last = None  # (subject, body) and the message last built
    try:
        for notification in claimed:
            if smtp is None and config.get("MAIL_SERVER"):
                try:
                    smtp = _connect(config)
                # Also a configuration it cannot use (a port that is not a number, a
                # password beyond ASCII): no connection, so nothing was sent.
                except Exception as error:
                    run(*_release(notification.id, f"connessione SMTP: {error}"))
                    release_rest(f"connessione SMTP: {error}")
                    app.logger.warning("mail: cannot reach %s: %s", config["MAIL_SERVER"], error)
                    break
            try:
                content = (notification.subject, notification.body)
                if last is not None and last[0] == content:
                    message = readdress(last[1], notification)
                else:
                    message = build_message(notification, sender)
                    last = (content, message)
                if smtp is None:
                    # Written out only when the log keeps it (writing it costs).
                    if app.logger.isEnabledFor(logging.INFO):
                        app.logger.info("mail (not sent, no MAIL_SERVER):\n%s", message.as_string())
                else:
                    smtp.send_message(message)
            except (OSError, smtplib.SMTPException) as error:
                app.logger.warning(
                    "mail %s to %r failed: %s", notification.id, notification.to_address, error
                )
                run(*_release(notification.id, str(error)))
                continue
            except Exception as error:  # a message that cannot be built (bad header, encoding)
                app.logger.warning("mail %s refused: %s", notification.id, error)
                run(*_release(notification.id, f"messaggio non valido: {error}"))
                continue
            if mark is None:
                run(*_mark_sent(notification.id))
            else:
                mark(notification.id)
            sent += 1
    finally:
        if smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                smtp.quit()
    return sent


def send_pending(app=None, ids: list[int] | None = None) -> int:
    """Sends the unsent notifications (up to a batch); returns how many went out.

    Each message is claimed (committed) before it is sent and marked sent (committed)
    right after. Failures are recorded on the row (attempts, last_error) and retried on
    the next call, up to MAX_ATTEMPTS; this function never raises because of the mail
    server. `ids`: messages already claimed (see resend_uncertain).
    """
    app = app or current_app._get_current_object()
    if ids is not None:
        given = list(ids)

        def claimed():
            while given:
                yield db.session.get(Notification, given.pop(0))

        def release_rest(error):
            while given:
                _committed(*_release(given.pop(0), error))

        return _send(app, claimed(), release_rest)

    def scanned():
        last = 0
        for _ in range(BATCH):
            notification_id = _claim(app, last)
            if notification_id is None:
                return
            last = notification_id
            yield db.session.get(Notification, notification_id)

    return _send(app, scanned(), lambda error: None)


def send_queued(app, ids: list[int]) -> int:
    """Sends the messages of `ids` (those a request has just committed), claimed as
    send_pending does; the rest of the queue is left to `bando mail send`. What the server
    cannot take goes back to the queue.

    A request's messages tell of one move: they are claimed together (committed before the
    first is sent) and those sent are marked together once the last has gone; those never
    handed to the server (it could not be reached, an error stopped the sending) go back
    to the queue with no attempt counted. A crash in between leaves them claimed, never
    sent again by themselves (see `uncertain`).

    On one connection of its own in autocommit: each claim and each mark is a single
    statement, committed by itself, with no transaction to open and close around it."""
    with db.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")

        def run(statement, parameters) -> list:
            result = connection.execute(statement, parameters)
            return result.all() if result.returns_rows else []

        rows = run(CLAIM, {"claim_ids": list(ids), "claim_at": utcnow()})
        claimed = iter(sorted(rows, key=attrgetter("id")))

        def release_rest(error):
            untried = [row.id for row in claimed]
            if untried:
                run(RELEASE_UNTRIED, {"untried_ids": untried, "untried_error": error[:2000]})

        sent = []
        try:
            return _send(app, claimed, release_rest, run, mark=sent.append)
        finally:
            # Whatever stopped the sending, what it never reached goes back to the queue
            # and what went out is marked.
            release_rest("invio interrotto")
            if sent:
                run(*_mark_sent(*sent))


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


def queue_mail(messages: list[dict]) -> None:
    """Queues `messages` (each the Notification's to_address, subject, body and, if any,
    application_id) in the outbox, in the session's transaction: one INSERT, each message
    with the Message-ID every copy of it will carry. A request sends them once that
    transaction commits (init_app); what it cannot send stays for `bando mail send`."""
    if not messages:
        return
    messages = [{**message, "message_id": _message_id(current_app)} for message in messages]
    ids = db.session.execute(QUEUE, messages).scalars().all()
    db.session.info.setdefault("notifications_queued", []).extend(ids)


@event.listens_for(Session, "after_commit")
def _send_after_request(session):
    # Sent once the request's work is committed, never before: see init_app.
    queued = session.info.pop("notifications_queued", None)
    if queued and has_request_context():
        g.setdefault("send_notifications", []).extend(queued)


@event.listens_for(Session, "after_rollback")
def _forget_queued(session):
    session.info.pop("notifications_queued", None)


def init_app(app):
    """Every request that committed new notifications sends them before it answers (those
    it queued, not the rest of the queue); what cannot be sent stays queued for
    `bando mail send` (cron)."""
    if not app.config.get("MAIL_SERVER") and app.logger.level == logging.NOTSET:
        # With no server the log is where the messages go (their links too): it must keep
        # them, as the root logger's WARNING would not. LOG_LEVEL, when set, wins.
        app.logger.setLevel(logging.INFO)

    @app.after_request
    def _send_queued(response):
        queued = g.pop("send_notifications", None)
        if queued:
            try:
                send_queued(app, queued)
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
