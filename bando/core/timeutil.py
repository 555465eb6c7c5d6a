"""Time: stored in UTC, compared and shown in Europe/Rome."""

from datetime import UTC, date, datetime, time

from workflows.timezone import ROME


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_utc(value: datetime) -> datetime:
    """An aware datetime in UTC; a naive one is taken as Europe/Rome wall time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=ROME)
    return value.astimezone(UTC)


def to_rome(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ROME)


def rome_midnight(day: date) -> datetime:
    """The first instant of `day` in Europe/Rome, in UTC (a day's bounds for a query)."""
    return datetime.combine(day, time(0), tzinfo=ROME).astimezone(UTC)
