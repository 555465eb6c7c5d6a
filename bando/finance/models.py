"""An outgoing letter's record: its protocol, given once, and what it says, kept as issued,
so that a letter made again is the same letter."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bando.core.extensions import db
from bando.core.timeutil import utcnow
from bando.core.types import UTCDateTime

if TYPE_CHECKING:  # the classes of other packages, by name only: no import at run time
    from bando.applications.models import Application

LETTER_KINDS = (
    "award",
    "reserve",
    "not_funded",
    "not_admissible",
    "rejection_notice",
    "integration_request",
)


class Letter(db.Model):
    __tablename__ = "letter"
    __table_args__ = (
        UniqueConstraint("application_id", "kind"),
        UniqueConstraint("edition_id", "number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id"))
    kind: Mapped[str] = mapped_column(String(30))
    number: Mapped[int] = mapped_column(Integer)  # outgoing protocol, per call, gap-free
    protocol: Mapped[str] = mapped_column(String(40), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # What the letter says, as issued (bando.finance.letters.as_record): made again, it says
    # the same whatever changed since. Empty for letters issued before it was kept.
    content: Mapped[dict | None] = mapped_column(JSON)

    application: Mapped[Application] = relationship()
