"""A call (Edition) with its neighbourhoods, guidelines and criteria: the rows a
call file becomes. Thin: the rules are in workflows/ and the operations."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bando.core.extensions import db
from bando.core.timeutil import utcnow
from bando.core.types import Money, UTCDateTime, check_in
from workflows.edition import STATES as EDITION_STATES

if TYPE_CHECKING:  # the classes of other packages, by name only: no import at run time
    from bando.evaluation.models import Assignment, ConflictDeclaration


class Edition(db.Model):
    """A call (bando) in one edition (annualità), loaded from a TOML file."""

    __tablename__ = "edition"
    __table_args__ = (
        CheckConstraint(check_in("state", EDITION_STATES), name="state"),
        CheckConstraint("budget_cap_cents >= 0", name="cap_not_negative"),
        CheckConstraint("max_grant_cents > 0", name="max_grant_positive"),
        CheckConstraint("opens_at < closes_at", name="opens_before_closes"),
        CheckConstraint("project_starts_on <= project_ends_on", name="project_window"),
        CheckConstraint("protocol_counter >= 0", name="protocol_counter"),
        CheckConstraint("min_cofinancing_bp BETWEEN 0 AND 10000", name="cofinancing_share"),
        CheckConstraint("advance_share_bp BETWEEN 0 AND 10000", name="advance_share"),
        CheckConstraint("min_partial_share_bp BETWEEN 0 AND 10000", name="partial_share"),
        CheckConstraint("threshold BETWEEN 0 AND 100", name="threshold"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(20), default="draft")
    budget_cap_cents: Mapped[int] = mapped_column(Money)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    legal_basis: Mapped[str] = mapped_column(String(300), default="")
    office: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # The window in which funded projects must take place.
    project_starts_on: Mapped[date] = mapped_column(Date)
    project_ends_on: Mapped[date] = mapped_column(Date)
    protocol_prefix: Mapped[str] = mapped_column(String(20))
    # Last protocol number given; bumped under a row lock so numbers are gap-free.
    protocol_counter: Mapped[int] = mapped_column(Integer, default=0)
    # [rules]
    max_grant_cents: Mapped[int] = mapped_column(Money)
    min_cofinancing_bp: Mapped[int] = mapped_column(Integer)  # basis points: 1000 = 10 %
    integration_days: Mapped[int] = mapped_column(Integer)
    reviews_required: Mapped[int] = mapped_column(Integer)
    aggregation: Mapped[str] = mapped_column(String(10))
    threshold: Mapped[int] = mapped_column(Integer)
    advance_share_bp: Mapped[int] = mapped_column(Integer)
    tie_break: Mapped[list] = mapped_column(JSON, default=list)
    required_attachments: Mapped[list] = mapped_column(JSON, default=list)
    budget_categories: Mapped[list] = mapped_column(JSON, default=list)
    max_applications_per_organisation: Mapped[int] = mapped_column(Integer, default=1)
    # [allocation]
    allocation_mode: Mapped[str] = mapped_column(String(30))
    on_insufficient: Mapped[str] = mapped_column(String(10))
    min_partial_share_bp: Mapped[int] = mapped_column(Integer)
    # Everything the file said, as loaded, for the record and for keys added later.
    source: Mapped[dict] = mapped_column(JSON, default=dict)
    ranking_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version_id: Mapped[int] = mapped_column(Integer, default=1)

    neighbourhoods: Mapped[list[Neighbourhood]] = relationship(
        back_populates="edition", order_by="Neighbourhood.position", cascade="all, delete-orphan"
    )
    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="edition", order_by="Criterion.position", cascade="all, delete-orphan"
    )
    guidelines: Mapped[list[Guideline]] = relationship(
        back_populates="edition", order_by="Guideline.position", cascade="all, delete-orphan"
    )
    # The committee, read by name (bando.evaluation writes them): who may see what.
    assignments: Mapped[list[Assignment]] = relationship(viewonly=True)
    declarations: Mapped[list[ConflictDeclaration]] = relationship(viewonly=True)

    __mapper_args__ = {"version_id_col": version_id}

    @property
    def general_guidelines(self) -> list[Guideline]:
        return [g for g in self.guidelines if g.neighbourhood_id is None]

    def _rule(self, key: str, default):
        # Keys added after the first schema are read from the file as loaded (checked by
        # bando.calls.callfile, which gives the defaults).
        return ((self.source or {}).get("rules") or {}).get(key, default)

    @property
    def rejection_notice_days(self) -> int:
        """Days to answer the notice before rejection; 0 when the call sets none."""
        return int(self._rule("rejection_notice_days", 0))

    @property
    def acceptance_days(self) -> int:
        return int(self._rule("acceptance_days", 15))

    @property
    def report_due_days(self) -> int:
        return int(self._rule("report_due_days", 60))

    @property
    def final_contribution_rule(self) -> str:
        """scoring.balance's rule: "proportional" (the default) or "full_if_spent"."""
        return str(self._rule("final_contribution", "proportional"))

    @property
    def admissibility_checks(self) -> list[dict]:
        """The checks the officer ticks: [{code, label, neighbourhood (slug or None)}]."""
        return [
            {"code": c["code"], "label": c["label"], "neighbourhood": c.get("neighbourhood")}
            for c in (self.source or {}).get("admissibility_checks") or []
        ]

    def required_guidelines(self, slug: str | None) -> tuple[str, ...]:
        """The guideline codes a proposal of that neighbourhood must address."""
        for hood in (self.source or {}).get("neighbourhoods") or []:
            if hood.get("slug") == slug:
                return tuple(hood.get("required_guidelines") or ())
        return ()

    @property
    def attachment_labels(self) -> dict[str, str]:
        """Labels of the attachment kinds, from the call file's optional [attachment_labels]."""
        labels = (self.source or {}).get("attachment_labels") or {}
        return {kind: str(label).strip() for kind, label in labels.items()}


def budget_category_label(code: str) -> str:
    """How a budget category reads in the form, the pages and the receipt: "Spese generali"."""
    return (code or "").replace("_", " ").capitalize()


def budget_categories(edition: Edition) -> dict[str, str]:
    """code → label of the call's budget categories, in the call's order."""
    return {code: budget_category_label(code) for code in edition.budget_categories or []}


class Neighbourhood(db.Model):
    """An ambito / quartiere of an edition, with the seed's figures."""

    __tablename__ = "neighbourhood"
    __table_args__ = (
        UniqueConstraint("edition_id", "slug"),
        CheckConstraint("quota_cents IS NULL OR quota_cents >= 0", name="quota_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)
    inhabitants: Mapped[int | None] = mapped_column(Integer)
    households: Mapped[int | None] = mapped_column(Integer)
    erp_units: Mapped[int | None] = mapped_column(Integer)
    intervention_units: Mapped[int | None] = mapped_column(Integer)
    quota_cents: Mapped[int | None] = mapped_column(Money)
    lab_address: Mapped[str] = mapped_column(String(200), default="")

    edition: Mapped[Edition] = relationship(back_populates="neighbourhoods")
    guidelines: Mapped[list[Guideline]] = relationship(
        back_populates="neighbourhood", order_by="Guideline.position", viewonly=True
    )


class Guideline(db.Model):
    """A linea di indirizzo: of one neighbourhood, or of the whole call (no neighbourhood)."""

    __tablename__ = "guideline"
    __table_args__ = (UniqueConstraint("edition_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id", ondelete="CASCADE"))
    neighbourhood_id: Mapped[int | None] = mapped_column(
        ForeignKey("neighbourhood.id", ondelete="CASCADE")
    )
    code: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)

    edition: Mapped[Edition] = relationship(back_populates="guidelines")
    neighbourhood: Mapped[Neighbourhood | None] = relationship(back_populates="guidelines")


class Criterion(db.Model):
    __tablename__ = "criterion"
    __table_args__ = (
        UniqueConstraint("edition_id", "code"),
        CheckConstraint("max_points > 0", name="max_points_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(300))
    max_points: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)

    edition: Mapped[Edition] = relationship(back_populates="criteria")
