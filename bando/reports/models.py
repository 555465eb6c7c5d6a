"""The final report (rendicontazione) of a funded project and its expenses."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bando.core.extensions import db
from bando.core.timeutil import utcnow
from bando.core.types import Money, UTCDateTime

if TYPE_CHECKING:  # the classes of other packages, by name only: no import at run time
    from bando.applications.models import Application


class Report(db.Model):
    """The final report (rendicontazione) of a funded project."""

    __tablename__ = "report"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), unique=True)
    activities: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    application: Mapped[Application] = relationship(back_populates="report")
    expenses: Mapped[list[Expense]] = relationship(
        back_populates="report", order_by="Expense.id", cascade="all, delete-orphan"
    )


class Expense(db.Model):
    __tablename__ = "expense"
    __table_args__ = (CheckConstraint("amount_cents > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(String(500))
    amount_cents: Mapped[int] = mapped_column(Money)
    document: Mapped[str] = mapped_column(String(200), default="")

    report: Mapped[Report] = relationship(back_populates="expenses")
