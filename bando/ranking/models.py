"""The approved ranking, frozen: one row per scored proposal, in order."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bando.core.extensions import db
from bando.core.timeutil import utcnow
from bando.core.types import UTCDateTime

if TYPE_CHECKING:  # the classes of other packages, by name only: no import at run time
    from bando.applications.models import Application


class RankingEntry(db.Model):
    """A proposal's place in the approved ranking of its call."""

    __tablename__ = "ranking_entry"
    __table_args__ = (
        UniqueConstraint("edition_id", "application_id"),
        UniqueConstraint("edition_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id", ondelete="CASCADE"))
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"))
    position: Mapped[int] = mapped_column(Integer)
    neighbourhood_position: Mapped[int] = mapped_column(Integer)
    # The aggregated points: exact as a fraction, and as shown ("72.33").
    total_numerator: Mapped[int] = mapped_column(Integer)
    total_denominator: Mapped[int] = mapped_column(Integer)
    total: Mapped[str] = mapped_column(String(12))
    points: Mapped[dict] = mapped_column(JSON)  # criterion code → "24.67"
    fundable: Mapped[bool] = mapped_column(Boolean)
    decided_by: Mapped[str | None] = mapped_column(String(60))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    application: Mapped[Application] = relationship()
