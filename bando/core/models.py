"""What every capability shares: the audit chain and the outbox of notifications."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bando.core.extensions import db
from bando.core.timeutil import utcnow
from bando.core.types import UTCDateTime

if TYPE_CHECKING:  # the classes of other packages, by name only: no import at run time
    from bando.accounts.models import User


class AuditEvent(db.Model):
    """One link of the tamper-evident audit chain: who, when, from, to, why."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor_label: Mapped[str] = mapped_column(String(254), default="")
    subject: Mapped[str] = mapped_column(String(20))  # "application" | "edition" | …
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"), index=True)
    edition_id: Mapped[int | None] = mapped_column(ForeignKey("edition.id"), index=True)
    trigger: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str | None] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    actor: Mapped[User | None] = relationship()


class AuditHead(db.Model):
    """A single row holding the hash of the last audit event; locked to append in order."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="singleton"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    last_hash: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer, default=0)


class Notification(db.Model):
    """An outgoing email, queued in the transaction of the change it tells about, with
    bando.core.mail.queue_mail: a request then sends it once that transaction commits (a
    row added any other way waits for `bando mail send`)."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    # Set (and committed) before the message goes to the SMTP server: a process that dies
    # between sending and marking leaves it claimed, not pending (see bando.core.mail).
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    message_id: Mapped[str | None] = mapped_column(String(255))


class IdempotentRequest(db.Model):
    """The answer given to a request sent with an Idempotency-Key: a client's retry of
    the same request gets it again instead of doing the work twice."""

    __tablename__ = "idempotent_request"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    key: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of method, path and body
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)  # the JSON answered
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
