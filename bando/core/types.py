"""Column types shared by every package: UTC datetimes, money in cents, enum checks."""

from datetime import UTC

from sqlalchemy import BigInteger, DateTime, types


def check_in(column: str, values) -> str:
    """The SQL of a CHECK that ties a column to a fixed list of values (states, roles…)."""
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


# The id columns are 32-bit integers on PostgreSQL: a larger number in a path or a link is
# no row (PostgreSQL would refuse to compare it, SQLite past 2**63 too).
ID_LIMIT = 2**31


def row_id(value) -> bool:
    """Whether `value` can be a row's id."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < ID_LIMIT
