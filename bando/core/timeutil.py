"""Time: stored in UTC, compared and shown in Europe/Rome."""

from datetime import UTC, datetime

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
