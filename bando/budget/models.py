"""The call's ledger: the grants awarded and the payments made on them.

The cap (budget invariant 1 of DESIGN.md) is also guarded by the database: triggers on
award and payment refuse a commit that would take an edition's committed money above its
cap, or an award above its request or the call's maximum (migration 0004), even from
code that forgot the lock."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bando.core.extensions import db
from bando.core.timeutil import utcnow
from bando.core.types import Money, UTCDateTime, check_in

if TYPE_CHECKING:  # the classes of other packages, by name only: no import at run time
    from bando.applications.models import Application


AWARD_STATES = ("active", "renounced", "revoked")
# An advance on acceptance, the balance after the approved report; a recovery is money the
# beneficiary gives back (when the advance exceeded the final contribution, or on revocation).
PAYMENT_KINDS = ("advance", "balance", "recovery")


class Award(db.Model):
    """The grant given to an application by an allocation run or by moving down the reserve."""

    __tablename__ = "award"
    __table_args__ = (
        CheckConstraint(check_in("state", AWARD_STATES), name="state"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), unique=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(Money)
    state: Mapped[str] = mapped_column(String(20), default="active")
    reason: Mapped[str] = mapped_column(String(300), default="")
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The applicant accepts by this moment (23:59:59 Rome of the last day), or renounces.
    accept_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    final_amount_cents: Mapped[int | None] = mapped_column(Money)

    application: Mapped[Application] = relationship(back_populates="award")
    payments: Mapped[list[Payment]] = relationship(
        back_populates="award", order_by="Payment.id", cascade="all, delete-orphan"
    )

    @property
    def paid_cents(self) -> int:
        """Paid to the beneficiary, net of what it gave back."""
        return sum(p.signed_cents for p in self.payments)

    @property
    def committed_cents(self) -> int:
        """What it takes from the cap: while active, the award (or the final contribution
        once the report is approved); once ended, what was paid."""
        if self.state == "active":
            return self.amount_cents if self.final_amount_cents is None else self.final_amount_cents
        return self.paid_cents


class Payment(db.Model):
    __tablename__ = "payment"
    __table_args__ = (
        CheckConstraint(check_in("kind", PAYMENT_KINDS), name="kind"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("withholding_cents >= 0", name="withholding_not_negative"),
        UniqueConstraint("award_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("award.id"))
    kind: Mapped[str] = mapped_column(String(10))
    amount_cents: Mapped[int] = mapped_column(Money)
    withholding_cents: Mapped[int] = mapped_column(Money, default=0)
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reference: Mapped[str] = mapped_column(String(100), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # A client may retry the same payment: the key makes the retry a no-op. Each user's
    # keys are their own: bando.payments.operations stores the user's id and the key's digest.
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)

    award: Mapped[Award] = relationship(back_populates="payments")

    @property
    def signed_cents(self) -> int:
        """As the register adds it up: a recovery is money given back, negative (the SQL
        twin is bando.budget.figures.SIGNED_PAYMENT)."""
        return -self.amount_cents if self.kind == "recovery" else self.amount_cents

    @property
    def net_cents(self) -> int:
        """What reached the beneficiary (or came back, negative)."""
        return self.signed_cents - self.withholding_cents
