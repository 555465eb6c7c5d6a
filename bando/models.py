"""The data model of the whole lifecycle. Thin: rules live in workflows/, scoring/ and
the operations of bando/, not here. Money is integer cents; times are UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    types,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflows.application import STATES as APPLICATION_STATES
from workflows.edition import STATES as EDITION_STATES

from .extensions import db
from .timeutil import utcnow

ROLES = ("applicant", "officer", "evaluator", "finance", "admin")
STAFF_ROLES = ("officer", "evaluator", "finance", "admin")
AWARD_STATES = ("active", "renounced", "revoked")
PAYMENT_KINDS = ("advance", "balance")


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UTCDateTime(types.TypeDecorator):
    """Stores naive UTC (SQLite keeps no offset), always hands back an aware UTC datetime."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


Money = BigInteger  # euro-cents


class Edition(db.Model):
    """A call (bando) in one edition (annualità), loaded from a TOML file."""

    __tablename__ = "edition"
    __table_args__ = (
        CheckConstraint(_in("state", EDITION_STATES), name="state"),
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

    __mapper_args__ = {"version_id_col": version_id}

    @property
    def general_guidelines(self) -> list[Guideline]:
        return [g for g in self.guidelines if g.neighbourhood_id is None]

    @property
    def attachment_labels(self) -> dict[str, str]:
        """Labels of the attachment kinds, from the call file's optional [attachment_labels]."""
        labels = (self.source or {}).get("attachment_labels") or {}
        return {kind: str(label).strip() for kind, label in labels.items()}


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


class Organisation(db.Model):
    """A non-profit organisation (ente senza scopo di lucro)."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    tax_code: Mapped[str] = mapped_column(String(16), unique=True)
    vat_number: Mapped[str | None] = mapped_column(String(11))
    legal_form: Mapped[str] = mapped_column(String(40))
    pec: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(300))
    legal_representative: Mapped[str] = mapped_column(String(200))
    runts_number: Mapped[str | None] = mapped_column(String(40))
    # True when the organisation declares it is not subject to the 4 % withholding tax.
    withholding_exempt: Mapped[bool] = mapped_column(Boolean, default=False)
    withholding_reason: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="organisation")
    applications: Mapped[list[Application]] = relationship(back_populates="organisation")


class User(UserMixin, db.Model):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="role"),
        CheckConstraint(
            "role <> 'applicant' OR organisation_id IS NOT NULL", name="applicant_has_organisation"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    full_name: Mapped[str] = mapped_column(String(200), default="")
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organisation: Mapped[Organisation | None] = relationship(back_populates="users")

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


class ApiToken(db.Model):
    """A bearer token for the API; only its sha256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


application_guideline = Table(
    "application_guideline",
    db.metadata,
    Column("application_id", ForeignKey("application.id", ondelete="CASCADE"), primary_key=True),
    Column("guideline_id", ForeignKey("guideline.id", ondelete="CASCADE"), primary_key=True),
)


class Application(db.Model):
    """A proposal (domanda / progetto). Its state changes only through bando.lifecycle."""

    __tablename__ = "application"
    __table_args__ = (
        CheckConstraint(_in("state", APPLICATION_STATES), name="state"),
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
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    application: Mapped[Application] = relationship(back_populates="attachments")


class ConflictDeclaration(db.Model):
    """An evaluator's declaration that they have no conflict of interest in the edition."""

    __tablename__ = "conflict_declaration"
    __table_args__ = (UniqueConstraint("edition_id", "evaluator_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id", ondelete="CASCADE"))
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    text: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Review(db.Model):
    __tablename__ = "review"
    __table_args__ = (UniqueConstraint("application_id", "evaluator_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"))
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    # An evaluator with a conflict abstains: no scores, and the review does not count.
    conflict_of_interest: Mapped[bool] = mapped_column(Boolean, default=False)
    comment: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

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


class Award(db.Model):
    """The grant given to an application by an allocation run or by moving down the reserve."""

    __tablename__ = "award"
    __table_args__ = (
        CheckConstraint(_in("state", AWARD_STATES), name="state"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), unique=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(Money)
    state: Mapped[str] = mapped_column(String(20), default="active")
    reason: Mapped[str] = mapped_column(String(300), default="")
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    final_amount_cents: Mapped[int | None] = mapped_column(Money)

    application: Mapped[Application] = relationship(back_populates="award")
    payments: Mapped[list[Payment]] = relationship(
        back_populates="award", order_by="Payment.id", cascade="all, delete-orphan"
    )

    @property
    def paid_cents(self) -> int:
        return sum(p.amount_cents for p in self.payments)


class Payment(db.Model):
    __tablename__ = "payment"
    __table_args__ = (
        CheckConstraint(_in("kind", PAYMENT_KINDS), name="kind"),
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

    award: Mapped[Award] = relationship(back_populates="payments")


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
    """An outgoing email, queued in the transaction of the change it tells about."""

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
