"""The committee's work: who sits on it for a call, their conflict-of-interest
declarations (art. 6-bis L. 241/1990, art. 35-bis D.Lgs. 165/2001), reviews and scores."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bando.core.extensions import db
from bando.core.timeutil import utcnow
from bando.core.types import UTCDateTime

if TYPE_CHECKING:  # the classes of other packages, by name only: no import at run time
    from bando.accounts.models import Organisation, User
    from bando.applications.models import Application
    from bando.calls.models import Criterion


class Assignment(db.Model):
    """An evaluator sitting on the committee of a call, chosen by the officer."""

    __tablename__ = "evaluator_assignment"
    __table_args__ = (UniqueConstraint("edition_id", "evaluator_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id", ondelete="CASCADE"))
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    evaluator: Mapped[User] = relationship(foreign_keys=[evaluator_id])


declaration_organisation = Table(
    "declaration_organisation",
    db.metadata,
    Column(
        "declaration_id",
        ForeignKey("conflict_declaration.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("organisation_id", ForeignKey("organisation.id"), primary_key=True),
)


class ConflictDeclaration(db.Model):
    """An evaluator's declaration for a call, signed before seeing any proposal: no conflict
    of interest, except with the organisations named (whose proposals they never see)."""

    __tablename__ = "conflict_declaration"
    __table_args__ = (UniqueConstraint("edition_id", "evaluator_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id", ondelete="CASCADE"))
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    text: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    linked_organisations: Mapped[list[Organisation]] = relationship(
        secondary=declaration_organisation, order_by="Organisation.name"
    )


class Review(db.Model):
    """One evaluator's scores of one proposal. Saved as a draft (submitted_at empty) until
    submitted; the officer may reopen a submitted one, with a reason (audited). An
    evaluator who recuses abstains: no scores, and the review does not count."""

    __tablename__ = "review"
    __table_args__ = (
        UniqueConstraint("application_id", "evaluator_id"),
        CheckConstraint(
            "conflict_of_interest = false OR submitted_at IS NOT NULL", name="recusal_is_final"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"))
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    conflict_of_interest: Mapped[bool] = mapped_column(Boolean, default=False)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version_id: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version_id}

    @property
    def counts(self) -> bool:
        """A submitted review with scores: one of the reviews the call requires."""
        return self.submitted_at is not None and not self.conflict_of_interest

    application: Mapped[Application] = relationship(back_populates="reviews")
    evaluator: Mapped[User] = relationship()
    scores: Mapped[list[Score]] = relationship(
        back_populates="review", cascade="all, delete-orphan"
    )


class Score(db.Model):
    __tablename__ = "score"
    __table_args__ = (
        UniqueConstraint("review_id", "criterion_id"),
        CheckConstraint("points >= 0", name="points_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id", ondelete="CASCADE"))
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criterion.id"))
    points: Mapped[int] = mapped_column(Integer)

    review: Mapped[Review] = relationship(back_populates="scores")
    criterion: Mapped[Criterion] = relationship()


class Draw(db.Model):
    """A recorded draw (sorteggio) that orders proposals the tie-break chain cannot part:
    who drew, when, with whom present, and the order drawn (application ids)."""

    __tablename__ = "draw"

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id", ondelete="CASCADE"))
    order: Mapped[list] = mapped_column(JSON)
    witnesses: Mapped[str] = mapped_column(Text, default="")
    drawn_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    drawn_by: Mapped[User] = relationship()
