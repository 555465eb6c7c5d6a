"""The final report (rendicontazione) of a funded project and its expenses."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bando.core.extensions import db
from bando.core.timeutil import utcnow
from bando.core.types import Money, UTCDateTime, check_in

if TYPE_CHECKING:  # the classes of other packages, by name only: no import at run time
    from bando.applications.models import Application


EXPENSE_STATES = ("pending", "accepted", "rejected")


class Report(db.Model):
    """The final report (rendicontazione) of a funded project: what was done, for how
    many people, and the expenses with their receipts; approved by finance with the final
    contribution."""

    __tablename__ = "report"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), unique=True)
    activities: Mapped[str] = mapped_column(Text)
    people_reached: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    final_contribution_cents: Mapped[int | None] = mapped_column(Money)
    balance_cents: Mapped[int | None] = mapped_column(Money)
    recovery_cents: Mapped[int | None] = mapped_column(Money)

    application: Mapped[Application] = relationship(back_populates="report")
    expenses: Mapped[list[Expense]] = relationship(
        back_populates="report", order_by="Expense.id", cascade="all, delete-orphan"
    )


class Expense(db.Model):
    """One expense of the report, with its receipt (a PDF, checked as every upload), and
    finance's outcome on it."""

    __tablename__ = "expense"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint(check_in("state", EXPENSE_STATES), name="state"),
        CheckConstraint("state <> 'rejected' OR review_reason <> ''", name="rejection_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(String(500))
    amount_cents: Mapped[int] = mapped_column(Money)
    document: Mapped[str] = mapped_column(String(200), default="")  # the receipt's number
    receipt_filename: Mapped[str] = mapped_column(String(255), default="")
    receipt_sha256: Mapped[str] = mapped_column(String(64), default="")
    receipt: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    review_reason: Mapped[str] = mapped_column(Text, default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    report: Mapped[Report] = relationship(back_populates="expenses")
