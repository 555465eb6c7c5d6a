"""Europe/Rome: the time zone deadlines are set, compared and shown in (times are stored in
UTC). A deadline given to the second includes that whole second."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

ROME = ZoneInfo("Europe/Rome")


def rome(value: datetime) -> str:
    """15/04/2019 alle ore 12:00, in Europe/Rome."""
    local = value.astimezone(ROME)
    return f"{local:%d/%m/%Y} alle ore {local:%H:%M}"


def within(now: datetime, last_second: datetime) -> bool:
    """Whether `now` is not past a deadline that lasts until the end of `last_second`
    (23:59:59 includes 23:59:59.999…)."""
    return now < last_second + timedelta(seconds=1)
