"""Organisations, their users and API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bando.core.extensions import db
from bando.core.timeutil import utcnow
from bando.core.types import UTCDateTime, check_in

if TYPE_CHECKING:  # the classes of other packages, by name only: no import at run time
    from bando.applications.models import Application


ROLES = ("applicant", "officer", "evaluator", "finance", "admin")
STAFF_ROLES = ("officer", "evaluator", "finance", "admin")


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
        CheckConstraint(check_in("role", ROLES), name="role"),
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
    # When the person proved the address is theirs (the link of the confirmation e-mail);
    # staff made by an administrator are confirmed when made. Until then an applicant
    # writes drafts only, and no mail but the confirmation goes to the address.
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Signed into every mailed password link with the password's own digest: raised when
    # the account is deactivated, so that no link sent before opens it once reactivated.
    credentials_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    organisation: Mapped[Organisation | None] = relationship(back_populates="users")

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None


class ApiToken(db.Model):
    """A bearer token for the API; only its sha256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The user's credentials_version when the password was checked: a token issued while
    # the password changed or the account was deactivated is not accepted.
    credentials_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    user: Mapped[User] = relationship()


class UserSession(db.Model):
    """A signed-in browser: live until ended (sign-out, password change, deactivation) or
    past its idle or absolute timeout. Only the sha256 of its secret is stored; the secret
    itself is in the browser's signed session cookie."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str] = mapped_column(String(20), default="")
    credentials_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    user: Mapped[User] = relationship()
