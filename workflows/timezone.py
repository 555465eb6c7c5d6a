"""Europe/Rome: the time zone deadlines are set, compared and shown in (times are stored in
UTC). A deadline given to the second includes that whole second. Dates read the Italian
way, with the article elided before the days that start with a vowel (l'1, l'8, l'11)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

ROME = ZoneInfo("Europe/Rome")


# A preposition with its article, and the same before a vowel: "dal 15/04", "dall'11/04".
ARTICLES = {
    "il": ("il ", "l'"),
    "dal": ("dal ", "dall'"),
    "al": ("al ", "all'"),
    "del": ("del ", "dell'"),
    "entro il": ("entro il ", "entro l'"),
}


def day(value: date | datetime) -> str:
    """15/04/2019 (a moment is read in Europe/Rome)."""
    if isinstance(value, datetime):
        value = value.astimezone(ROME)
    return f"{value:%d/%m/%Y}"


def on(preposition: str, value: date | datetime) -> str:
    """A date after its preposition and article: on("dal", 11 Feb) → "dall'11/02/2019"
    (the days 1, 8 and 11 are read starting with a vowel: uno, otto, undici)."""
    if isinstance(value, datetime):
        value = value.astimezone(ROME)
    plain, elided = ARTICLES[preposition]
    return (elided if value.day in (1, 8, 11) else plain) + day(value)


def rome(value: datetime, preposition: str = "il") -> str:
    """ "il 15/04/2019 alle ore 12:00" (or with another preposition), in Europe/Rome."""
    local = value.astimezone(ROME)
    return f"{on(preposition, local)} alle ore {local:%H:%M}"


def within(now: datetime, last_second: datetime) -> bool:
    """Whether `now` is not past a deadline that lasts until the end of `last_second`
    (23:59:59 includes 23:59:59.999…)."""
    return now < last_second + timedelta(seconds=1)
