"""The types every payload of the API is built from (pydantic): amounts, times, texts; and
the refusal of a payload as the API's error shape, in Italian, by field.

One schema per payload validates what comes in, serialises what goes out and is the
OpenAPI component of the document (bando.core.openapi assembles them).
"""

import re
import unicodedata
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
)

from bando.core.timeutil import to_rome
from scoring.money import MAX_CENTS, AmountError, cents_to_str, parse_cents

AMOUNT_PATTERN = r"^[0-9]+(\.[0-9]{1,2})?$"
# The validation context of a response built from bando's own rows (Out.of).
OWN = "own_rows"
# The whole text, in ASCII digits: Python's \d takes other scripts' digits and its $ a
# final newline, and "9000.5\n" must not become 9000.05.
_AMOUNT = re.compile(r"[0-9]+(\.[0-9]{1,2})?")


def _amount_in(value: Any, info: ValidationInfo) -> int:
    """(Cents from the database, when bando builds a response, pass as they are.)"""
    if isinstance(value, int) and not isinstance(value, bool) and (info.context or {}).get(OWN):
        return value
    return api_amount(value)


def api_amount(value: Any) -> int:
    """An amount as the API writes it, "1500.00" (at most two decimals), in cents; else
    ValueError saying why, in Italian."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError('importo da scrivere come testo con due decimali, ad es. "1500.00"')
    if not _AMOUNT.fullmatch(value):
        try:  # say why, as the pages would: negative, three decimals, absurd…
            parse_cents(value)
        except AmountError as error:
            raise ValueError(str(error)) from None
        except ArithmeticError:
            raise ValueError("importo fuori misura") from None
        raise ValueError(
            f'«{value[:40]}»: scrivere l\'importo come "1500.00" (punto per i decimali, '
            "senza separatori delle migliaia)"
        )
    whole, _, part = value.partition(".")
    cents = int(whole) * 100 + int((part + "00")[:2])
    if cents > MAX_CENTS:
        raise ValueError("importo fuori misura")
    return cents


# Integer euro-cents inside; "16000.00" on the wire, both ways.
Cents = Annotated[
    int,
    BeforeValidator(_amount_in),
    PlainSerializer(cents_to_str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN, "examples": ["16000.00"]}),
]


def _own_cents(value: Any, info: ValidationInfo) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and (info.context or {}).get(OWN):
        return value
    raise ValueError("only bando's own figures")


# A figure bando computes that may be below zero (what reached the beneficiaries, net of
# an advance given back whole): sent only, "-200.00".
SignedCents = Annotated[
    int,
    BeforeValidator(_own_cents),
    PlainSerializer(cents_to_str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]{1,2})?$"}),
]


def _positive(cents: int) -> int:
    if cents <= 0:
        raise ValueError("l'importo deve essere maggiore di zero")
    return cents


# An amount that must be more than nothing (an expense, a receipt's sum).
PositiveCents = Annotated[Cents, AfterValidator(_positive)]

# A moment: stored in UTC, sent with the Europe/Rome offset.
Moment = Annotated[
    datetime,
    PlainSerializer(lambda value: to_rome(value).isoformat(), return_type=str),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "description": "ISO 8601, Europe/Rome offset"}
    ),
]


def _day_in(value: Any) -> date:
    """A day as "2019-06-01" (or a date, from bando itself)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError("data non valida: scrivere AAAA-MM-GG, es. 2019-06-01")


Day = Annotated[date, BeforeValidator(_day_in)]


def _no_control(value: str, *, multiline: bool) -> str:
    allowed = "\n\t\r" if multiline else ""
    for ch in value:
        if ch not in allowed and unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            what = "un a capo" if ch in "\n\r\u2028\u2029" else f"il carattere U+{ord(ch):04X}"
            raise ValueError(f"il testo contiene {what}, non ammesso in questo campo")
    return value


def one_line(value: str) -> str:
    """A single-line field (a name, an address, a subject): no line breaks nor control
    characters, which would otherwise end up in e-mail headers and PDF lines."""
    return _no_control(value, multiline=False).strip()


def many_lines(value: str) -> str:
    return _no_control(value, multiline=True).strip()


def Line(max_length: int):  # noqa: N802  (a type, read as one)
    return Annotated[str, Field(max_length=max_length), AfterValidator(one_line)]


def Text(max_length: int):  # noqa: N802
    return Annotated[str, Field(max_length=max_length), AfterValidator(many_lines)]


class Schema(BaseModel):
    """An API payload: unknown fields refused, JSON types taken as they are."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class Out(BaseModel):
    """What the API sends back."""

    model_config = ConfigDict(populate_by_name=True, from_attributes=True)

    @classmethod
    def of(cls, data):
        """The response from bando's own values (amounts already in cents)."""
        return cls.model_validate(data, context={OWN: True})


class Error(Out):
    """Every refusal of the API: what went wrong, and where by field; `code` for programs
    where the refusal has a name (always on a 409: see Conflict)."""

    error: str
    errors: dict[str, list[str]] | None = Field(default=None, description="messages by field")
    code: str | None = Field(default=None, examples=["invalid_state", "concurrent_update"])


class Conflict(Error):
    """A 409: the request is sound but the state of things refuses it; `code` names why, for
    programs (e.g. invalid_state, concurrent_update, limit_reached)."""

    code: str = Field(examples=["invalid_state", "concurrent_update"])


# --- a refused payload, in Italian, by field ------------------------------------------------

_MESSAGES = {
    "missing": "campo obbligatorio mancante",
    "extra_forbidden": "campo sconosciuto",
    "string_type": "deve essere un testo",
    "string_too_short": "non può essere vuoto",
    "string_too_long": "al massimo {max_length} caratteri",
    "int_type": "deve essere un numero intero",
    "int_parsing": "deve essere un numero intero",
    "int_from_float": "deve essere un numero intero",
    "greater_than_equal": "deve essere almeno {ge}",
    "less_than_equal": "deve essere al massimo {le}",
    "bool_type": "deve essere vero o falso",
    "bool_parsing": "deve essere vero o falso",
    "list_type": "deve essere un elenco",
    "too_long": "al massimo {max_length} elementi",
    "too_short": "almeno {min_length} elementi",
    "dict_type": "deve essere un oggetto",
    "model_type": "deve essere un oggetto",
    "model_attributes_type": "deve essere un oggetto",
    "date_type": "data non valida: scrivere AAAA-MM-GG, es. 2019-06-01",
    "date_parsing": "data non valida: scrivere AAAA-MM-GG, es. 2019-06-01",
    "date_from_datetime_parsing": "data non valida: scrivere AAAA-MM-GG, es. 2019-06-01",
    "date_from_datetime_inexact": "data non valida: scrivere AAAA-MM-GG, es. 2019-06-01",
    "literal_error": "valore non ammesso: uno fra {expected}",
    "enum": "valore non ammesso: uno fra {expected}",
    "json_invalid": "JSON non valido",
    "recursion_loop": "struttura troppo annidata",
}


def field_errors(error: ValidationError) -> dict[str, list[str]]:
    """The problems of a payload, in Italian, keyed like "budget.0.amount"."""
    errors: dict[str, list[str]] = {}
    for problem in error.errors(include_url=False):
        key = ".".join(str(part) for part in problem["loc"]) or "body"
        kind = problem["type"]
        context = problem.get("ctx") or {}
        if kind == "value_error":
            message = str(context.get("error", problem["msg"]))
        elif kind in ("too_short", "string_too_short") and context.get("min_length") == 1:
            message = "non può essere vuoto"
        elif kind in ("literal_error", "enum") and "expected" in context:
            # pydantic joins the choices with an English "or".
            message = _MESSAGES[kind].format(expected=context["expected"].replace(" or ", " o "))
        elif kind in _MESSAGES:
            try:
                message = _MESSAGES[kind].format(**context)
            except (KeyError, IndexError):
                message = _MESSAGES[kind]
        else:
            message = problem["msg"]
        messages = errors.setdefault(key, [])
        if message not in messages:
            messages.append(message)
    return errors


class EventOut(Out):
    """One link of the audit hash chain."""

    id: int
    at: Moment
    actor: str = Field(description="who acted: an e-mail, a role («istruttore») or «sistema»")
    actor_role: str
    trigger: str
    from_state: str | None = Field(alias="from")
    to_state: str | None = Field(alias="to")
    reason: str
    payload: dict
    prev_hash: str
    hash: str = Field(description="sha256 of the canonical event")


class Reason(Schema):
    reason: Text(2000) = ""
