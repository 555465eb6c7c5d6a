"""The record of each allocation run: what it decided for each ranked proposal and why."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bando.core.extensions import db
from bando.core.timeutil import utcnow
from bando.core.types import Money, UTCDateTime

if TYPE_CHECKING:  # the classes of other packages, by name only: no import at run time
    from bando.applications.models import Application


class AllocationRun(db.Model):
    """One run of the allocation of a call: the first, or one moving down the reserve list
    after a renunciation, a revocation or a withdrawal."""

    __tablename__ = "allocation_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id", ondelete="CASCADE"))
    cause: Mapped[str] = mapped_column(String(40))  # "allocation", "renounce", "revoke"…
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    committed_cents: Mapped[int] = mapped_column(Money)
    residual_cents: Mapped[int] = mapped_column(Money)

    decisions: Mapped[list[AllocationDecision]] = relationship(
        back_populates="run", order_by="AllocationDecision.position", cascade="all, delete-orphan"
    )


class AllocationDecision(db.Model):
    """The outcome of one proposal in a run, with its reason (for the applicant, the
    letters and the auditors)."""

    __tablename__ = "allocation_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("allocation_run.id", ondelete="CASCADE"))
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # in the ranking
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(40))
    reason_text: Mapped[str] = mapped_column(Text)
    reason_code_text: Mapped[str] = mapped_column(Text)
    amount_cents: Mapped[int] = mapped_column(Money)
    added_cents: Mapped[int] = mapped_column(Money)
    residual_before: Mapped[int] = mapped_column(Money)
    residual_after: Mapped[int] = mapped_column(Money)
    reserve_position: Mapped[int | None] = mapped_column(Integer)
    # What the reason is written from (scoring.allocation.Decision); null in runs made
    # before they were kept, whose reason is only the Italian text.
    requested_cents: Mapped[int | None] = mapped_column(Money)
    full_cents: Mapped[int | None] = mapped_column(Money)
    pass_name: Mapped[str | None] = mapped_column(String(10))
    min_partial_share_bp: Mapped[int | None] = mapped_column(Integer)

    run: Mapped[AllocationRun] = relationship(back_populates="decisions")
    application: Mapped[Application] = relationship()
