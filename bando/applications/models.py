"""A proposal (Application) with its partners, budget lines and documents.
Its state changes only through bando.applications.lifecycle."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bando.core.extensions import db
from bando.core.timeutil import utcnow
from bando.core.types import Money, UTCDateTime, check_in
from workflows.application import STATES as APPLICATION_STATES

if TYPE_CHECKING:  # the classes of other packages, by name only: no import at run time
    from bando.accounts.models import Organisation, User
    from bando.budget.models import Award
    from bando.calls.models import Edition, Guideline, Neighbourhood
    from bando.evaluation.models import Review
    from bando.reports.models import Report


application_guideline = Table(
    "application_guideline",
    db.metadata,
    Column("application_id", ForeignKey("application.id", ondelete="CASCADE"), primary_key=True),
    Column("guideline_id", ForeignKey("guideline.id", ondelete="CASCADE"), primary_key=True),
)


class Application(db.Model):
    """A proposal (domanda / progetto); its state changes only through its lifecycle."""

    __tablename__ = "application"
    __table_args__ = (
        CheckConstraint(check_in("state", APPLICATION_STATES), name="state"),
        UniqueConstraint("edition_id", "protocol_number"),
        UniqueConstraint("protocol"),
        # Everything past the draft has been submitted, hence has its protocol.
        CheckConstraint(
            "state IN ('draft', 'withdrawn') "
            "OR (protocol IS NOT NULL AND submitted_at IS NOT NULL)",
            name="submitted_has_protocol",
        ),
        CheckConstraint(
            "state <> 'integration_requested' OR integration_deadline IS NOT NULL",
            name="integration_has_deadline",
        ),
        CheckConstraint(
            "state <> 'rejection_notified' OR notice_deadline IS NOT NULL",
            name="notice_has_deadline",
        ),
        CheckConstraint("requested_cents >= 0", name="requested_not_negative"),
        CheckConstraint("cofinancing_cents >= 0", name="cofinancing_not_negative"),
        CheckConstraint(
            "start_date IS NULL OR end_date IS NULL OR start_date <= end_date",
            name="dates_in_order",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    neighbourhood_id: Mapped[int | None] = mapped_column(ForeignKey("neighbourhood.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    state: Mapped[str] = mapped_column(String(30), default="draft", index=True)
    protocol: Mapped[str | None] = mapped_column(String(40))
    protocol_number: Mapped[int | None] = mapped_column(Integer)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    integration_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    integration_request: Mapped[str] = mapped_column(Text, default="")
    # The notice before rejection (art. 10-bis L. 241/1990) and the organisation's answer.
    notice_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notice_reasons: Mapped[str] = mapped_column(Text, default="")
    notice_answer: Mapped[str] = mapped_column(Text, default="")
    notice_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    title: Mapped[str] = mapped_column(String(300), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    objectives: Mapped[str] = mapped_column(Text, default="")
    places: Mapped[str] = mapped_column(Text, default="")
    timeline: Mapped[str] = mapped_column(Text, default="")
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    requested_cents: Mapped[int] = mapped_column(Money, default=0)
    cofinancing_cents: Mapped[int] = mapped_column(Money, default=0)
    cup: Mapped[str | None] = mapped_column(String(15))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Optimistic locking: a write based on a stale read fails instead of overwriting.
    version_id: Mapped[int] = mapped_column(Integer, default=1)

    edition: Mapped[Edition] = relationship()
    organisation: Mapped[Organisation] = relationship(back_populates="applications")
    neighbourhood: Mapped[Neighbourhood | None] = relationship()
    created_by: Mapped[User] = relationship()
    guidelines: Mapped[list[Guideline]] = relationship(
        secondary=application_guideline, order_by="Guideline.position"
    )
    partners: Mapped[list[Partner]] = relationship(
        back_populates="application", order_by="Partner.position", cascade="all, delete-orphan"
    )
    budget_lines: Mapped[list[BudgetLine]] = relationship(
        back_populates="application", order_by="BudgetLine.position", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="application", order_by="Attachment.id", cascade="all, delete-orphan"
    )
    reviews: Mapped[list[Review]] = relationship(
        back_populates="application", cascade="all, delete-orphan"
    )
    award: Mapped[Award | None] = relationship(back_populates="application")
    report: Mapped[Report | None] = relationship(back_populates="application")

    __mapper_args__ = {"version_id_col": version_id}

    @property
    def total_cost_cents(self) -> int:
        return sum(line.amount_cents for line in self.budget_lines)


class Partner(db.Model):
    """A member of the local network taking part in the project."""

    __tablename__ = "partner"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(300))
    tax_code: Mapped[str | None] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(300), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    application: Mapped[Application] = relationship(back_populates="partners")


class BudgetLine(db.Model):
    __tablename__ = "budget_line"
    __table_args__ = (CheckConstraint("amount_cents >= 0", name="amount_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(String(500), default="")
    amount_cents: Mapped[int] = mapped_column(Money)
    position: Mapped[int] = mapped_column(Integer, default=0)

    application: Mapped[Application] = relationship(back_populates="budget_lines")


class Attachment(db.Model):
    """A document stored in the database, so every app process sees the same files."""

    __tablename__ = "attachment"
    __table_args__ = (
        UniqueConstraint("application_id", "kind"),
        CheckConstraint("size > 0", name="size_positive"),
        CheckConstraint("length(sha256) = 64", name="sha256_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100), default="application/pdf")
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # Loaded only when the file itself is read (a download, a check), never with a list.
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    application: Mapped[Application] = relationship(back_populates="attachments")


class AdmissibilityTick(db.Model):
    """The officer's tick on a manual check of admissibility the call lists."""

    __tablename__ = "admissibility_tick"
    __table_args__ = (UniqueConstraint("application_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    passed: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text, default="")
    ticked_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    ticked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
