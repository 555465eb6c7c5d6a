"""How money and dates read on the pages: `€ 94.000,00`, `15/04/2019` (Europe/Rome)."""

from datetime import date, datetime
from decimal import Decimal

from babel.numbers import format_percent
from flask_babel import get_locale

from bando.core.timeutil import to_rome
from scoring.money import euro
from workflows.timezone import on


def _locale():
    try:
        return str(get_locale() or "it")
    except (RuntimeError, AttributeError):
        return "it"


def money(cents, locale=None) -> str:
    if cents is None:
        return "—"
    return euro(cents, locale or _locale())


def day(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = to_rome(value).date()
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def moment(value) -> str:
    if value is None:
        return "—"
    return to_rome(value).strftime("%d/%m/%Y %H:%M")


def clock(value) -> str:
    """The time of day in Europe/Rome: "12:00"."""
    if value is None:
        return "—"
    return to_rome(value).strftime("%H:%M")


def share(basis_points, locale=None) -> str:
    """A share stored in basis points, as people write it: 1000 → "10%", 1250 → "12,5%"."""
    if basis_points is None:
        return "—"
    return format_percent(
        Decimal(int(basis_points)) / 10000, format="#,##0.##%", locale=locale or _locale()
    )


def percent(part, whole) -> int:
    """A whole percentage for progress bars; 0 when there is no whole."""
    if not whole:
        return 0
    return max(0, min(100, round(int(part) * 100 / int(whole))))


# The prepositions the pages put before a date; in Italian the article elides before the
# days read with a vowel (workflows.timezone.on: "l'8/12", "dall'11/02").
_PREPOSITIONS = {"il": "il", "dal": "dal", "al": "al", "del": "del", "entro": "entro il"}
_ENGLISH = {"il": "on ", "dal": "from ", "al": "to ", "del": "of ", "entro": "by "}


def dated(value, preposition: str | None = None, time: bool = False, locale=None) -> str:
    """A day, after its preposition and with its time when asked, as a sentence reads it:
    "entro l'08/12/2019 ore 12:00", "dal 15/04/2019"; in English "by 08/12/2019 at 12:00"."""
    if value is None:
        return "—"
    english = not (locale or _locale()).startswith("it")
    if preposition is None:
        text = day(value)
    elif english:
        text = _ENGLISH[preposition] + day(value)
    else:
        text = on(_PREPOSITIONS[preposition], value)
    if time and isinstance(value, datetime):
        text += (" at " if english else " ore ") + clock(value)
    return text


def sentence(text) -> str:
    """A message closed by one full stop, whether or not it brought its own (a refusal
    "Al massimo 5000 caratteri." after "Operazione non eseguita:")."""
    return str(text).rstrip().rstrip(".") + "."


def init_app(app):
    app.jinja_env.filters.update(money=money, day=day, moment=moment, clock=clock, share=share)
    app.jinja_env.filters.update(sentence=sentence)
    # {{ closes_at|entro(time=True) }}, {{ day|dal }}: one filter per preposition.
    app.jinja_env.filters.update(dated=dated)
    for word in _PREPOSITIONS:
        app.jinja_env.filters[word] = lambda value, time=False, _w=word: dated(value, _w, time)
    app.jinja_env.globals.update(percent=percent)
