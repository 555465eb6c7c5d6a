"""A call file (TOML, see DESIGN.md "Call configuration") checked whole, with no database.

`parse_call(text_or_dict)` returns plain data shaped like the Edition, Neighbourhood,
Guideline and Criterion columns, or raises CallFileError listing every problem found,
each with the path of its key (`rules.max_grant`, `neighbourhoods[2].quota`; positions in
an array count from 1, as a person reading the file counts the blocks).

Amounts become cents, shares basis points (0.10 → 1000), datetimes aware UTC.
"""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from bando.core.schemas import many_lines, one_line
from bando.core.timeutil import ROME
from scoring.money import AmountError, parse_cents

AGGREGATIONS = ("mean", "median")
ALLOCATION_MODES = ("area_quotas_then_pool", "single_ranking")
ON_INSUFFICIENT = ("stop", "skip", "partial")
TIE_BREAK_KEYS = ("cofinancing_share", "protocol")  # plus "criterion:<code>"
TOTAL_POINTS = 100

EDITION_CODE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
CODE = re.compile(r"^[a-z0-9][a-z0-9_]*$")  # criteria, attachments, budget categories
GUIDELINE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
PROTOCOL_PREFIX = re.compile(r"^[A-Z0-9][A-Z0-9-]*$")


class CallFileError(ValueError):
    """A call file that cannot be loaded. `problems` is [(key path, message)], all of them."""

    def __init__(self, problems, name: str | None = None):
        self.problems = list(problems)
        self.name = name
        super().__init__(str(self))

    def __str__(self) -> str:
        head = f"il file {self.name} non è valido" if self.name else "file del bando non valido"
        if len(self.problems) == 1:
            return f"{head}: {_line(*self.problems[0])}"
        lines = [f"{head} ({len(self.problems)} problemi):"]
        lines += [f"  - {_line(path, message)}" for path, message in self.problems]
        return "\n".join(lines)


def _line(path: str, message: str) -> str:
    return f"{path}: {message}" if path else message


class _Invalid(Exception):
    """A converter's refusal of one value; the caller adds the key path."""


_REQUIRED = object()


# Converters: value -> converted value, or _Invalid("why", in Italian).


def _text(
    max_length: int, pattern: re.Pattern | None = None, hint: str = "", empty=False, lines=False
):
    # No control characters, and no line break unless `lines`: a title ends up in e-mail
    # subjects and PDF lines, as the API's Line and Text (bando.core.schemas) say.
    check = many_lines if lines else one_line

    def convert(value):
        if not isinstance(value, str):
            raise _Invalid(f"deve essere un testo, non {_kind(value)}")
        try:
            value = check(value)
        except ValueError as error:
            raise _Invalid(str(error)) from None
        if not value and not empty:
            raise _Invalid("non può essere vuoto")
        if len(value) > max_length:
            raise _Invalid(f"troppo lungo ({len(value)} caratteri, al massimo {max_length})")
        if value and pattern is not None and not pattern.fullmatch(value):
            raise _Invalid(f"«{value}» non è valido: {hint}")
        return value

    return convert


def _amount(value):
    try:
        return parse_cents(value, allow_zero=False)
    except AmountError as error:
        if isinstance(value, str) and "non è un importo valido" in str(error):
            # The key path already says where; quote the value as the file has it.
            raise _Invalid(f'"{value}" non è un importo valido') from None
        raise _Invalid(str(error)) from None


def _integer(low: int, high: int):
    def convert(value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid(f"deve essere un numero intero, non {_kind(value)}")
        if not low <= value <= high:
            raise _Invalid(f"{value} fuori dall'intervallo {low}–{high}")
        return value

    return convert


def _share(value):
    """A share in [0, 1] as basis points (0.125 → 1250)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid(f"deve essere una quota tra 0 e 1 (ad es. 0.10), non {_kind(value)}")
    try:
        share = Decimal(str(value))
    except InvalidOperation:
        raise _Invalid(f"{value} non è una quota valida") from None
    if not share.is_finite() or not 0 <= share <= 1:
        raise _Invalid(f"{value} non è tra 0 e 1")
    points = share * 10000
    if points != points.to_integral_value():
        raise _Invalid(f"{value}: al massimo quattro decimali")
    return int(points)


def _choice(*values):
    def convert(value):
        if value not in values:
            raise _Invalid(f"«{value}» non ammesso: uno fra {', '.join(values)}")
        return value

    return convert


def _moment(value):
    """An instant with an explicit offset, which must be Europe/Rome's (or UTC)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _Invalid(
                f'"{value}" non è una data e ora valida (ad es. "2019-04-15T12:00:00+02:00")'
            ) from None
    elif isinstance(value, date) and not isinstance(value, datetime):
        raise _Invalid("serve data, ora e fuso orario (ad es. 2019-04-15T12:00:00+02:00)")
    if not isinstance(value, datetime):
        raise _Invalid(f"deve essere una data e ora, non {_kind(value)}")
    offset = value.utcoffset()
    if offset is None:
        raise _Invalid(
            f"{value.isoformat()} senza fuso orario: aggiungere l'offset (ad es. +01:00)"
        )
    rome = value.astimezone(ROME).utcoffset()
    if offset and offset != rome:
        raise _Invalid(
            f"{value.isoformat()}: l'offset {_offset(offset)} non è quello di Europe/Rome "
            f"in quella data ({_offset(rome)})"
        )
    return value.astimezone(UTC)


def _offset(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _day(value):
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise _Invalid(f'"{value}" non è una data valida (ad es. "2019-06-01")') from None
    if isinstance(value, datetime) or not isinstance(value, date):
        raise _Invalid(f"deve essere una data (ad es. 2019-06-01), non {_kind(value)}")
    return value


def _codes(max_length: int, pattern: re.Pattern, hint: str):
    item = _text(max_length, pattern, hint)

    def convert(value):
        if not isinstance(value, list):
            raise _Invalid(f"deve essere un elenco, non {_kind(value)}")
        codes = []
        for position, element in enumerate(value, 1):
            try:
                code = item(element)
            except _Invalid as error:
                raise _Invalid(f"elemento {position}: {error}") from None
            if code in codes:
                raise _Invalid(f"«{code}» ripetuto")
            codes.append(code)
        return codes

    return convert


def _kind(value) -> str:
    names = {
        bool: "un valore vero/falso",
        int: "un numero intero",
        float: "un numero decimale",
        str: "un testo",
        list: "un elenco",
        dict: "una tabella",
    }
    return names.get(type(value), type(value).__name__)


class _Reader:
    """Walks the file, converting each key and collecting every problem."""

    def __init__(self):
        self.problems: list[tuple[str, str]] = []

    def problem(self, path: str, message: str):
        self.problems.append((path, message))

    def has_problem(self, path: str) -> bool:
        return any(known == path for known, _ in self.problems)

    def table(self, data, path: str, spec: dict) -> dict | None:
        """The keys of spec converted; unknown keys and bad values become problems.

        A key whose value is bad is left out of the result, so cross-checks see only
        values that are individually valid.
        """
        if data is None:
            self.problem(path, "tabella mancante")
            return None
        if not isinstance(data, dict):
            self.problem(path, f"deve essere una tabella, non {_kind(data)}")
            return None
        result = {}
        for key in data:
            if key not in spec:
                self.problem(_join(path, key), "chiave sconosciuta")
        for key, (convert, default) in spec.items():
            key_path = _join(path, key)
            if key not in data:
                if default is _REQUIRED:
                    self.problem(key_path, "chiave obbligatoria mancante")
                elif default is not None:
                    result[key] = default() if callable(default) else default
                continue
            try:
                result[key] = convert(data[key])
            except _Invalid as error:
                self.problem(key_path, str(error))
        return result

    def array(self, data, path: str, spec: dict, *, required=True) -> list[tuple[str, dict]]:
        """An array of tables: [(path of the item, converted item)] for the valid shapes."""
        if data is None:
            if required:
                self.problem(path, "manca: serve almeno un elemento")
            return []
        if not isinstance(data, list):
            self.problem(path, f"deve essere un elenco di tabelle, non {_kind(data)}")
            return []
        if required and not data:
            self.problem(path, "serve almeno un elemento")
        items = []
        for position, element in enumerate(data, 1):
            item_path = f"{path}[{position}]"
            item = self.table(element, item_path, spec)
            if item is not None:
                items.append((item_path, item))
        return items


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# Each key: (converter, default). The default is _REQUIRED, a value or a factory for it,
# or None when an absent key stays absent (a later step decides).
EDITION_SPEC = {
    "code": (_text(64, EDITION_CODE, "solo minuscole, cifre e trattini"), _REQUIRED),
    "title": (_text(300), _REQUIRED),
    "budget_cap": (_amount, _REQUIRED),
    "opens_at": (_moment, _REQUIRED),
    "closes_at": (_moment, _REQUIRED),
    "legal_basis": (_text(300), ""),
    "office": (_text(300), ""),
    "description": (_text(20000, empty=True, lines=True), ""),
    "project_starts_on": (_day, None),
    "project_ends_on": (_day, None),
    "protocol_prefix": (_text(20, PROTOCOL_PREFIX, "solo maiuscole, cifre e trattini"), None),
}

RULES_SPEC = {
    "max_grant": (_amount, _REQUIRED),
    "min_cofinancing_share": (_share, _REQUIRED),
    "integration_days": (_integer(1, 365), _REQUIRED),
    "reviews_required": (_integer(1, 50), _REQUIRED),
    "aggregation": (_choice(*AGGREGATIONS), _REQUIRED),
    "threshold": (_integer(0, TOTAL_POINTS), _REQUIRED),
    "advance_share": (_share, _REQUIRED),
    "tie_break": (_codes(60, re.compile(r"^\S+$"), "senza spazi"), lambda: ["protocol"]),
    "required_attachments": (
        _codes(40, CODE, "solo minuscole, cifre e trattini bassi"),
        _REQUIRED,
    ),
    "max_applications_per_organisation": (_integer(1, 100), _REQUIRED),
    "budget_categories": (_codes(40, CODE, "solo minuscole, cifre e trattini bassi"), list),
    # Days to answer the notice before rejection (art. 10-bis L. 241/1990); 0: no notice.
    "rejection_notice_days": (_integer(0, 365), 0),
    # Days to accept an award, and to file the final report after the project's end.
    "acceptance_days": (_integer(1, 365), 15),
    "report_due_days": (_integer(1, 730), 60),
    # The final contribution after the report (scoring.balance): cut in proportion when
    # the accepted expenses fall short of the planned cost, or whole once spent.
    "final_contribution": (_choice("proportional", "full_if_spent"), "proportional"),
}

# A check of admissibility the officer ticks by hand (a signature, a place…); with a
# neighbourhood, only for the proposals of that neighbourhood.
CHECK_SPEC = {
    "code": (_text(40, CODE, "solo minuscole, cifre e trattini bassi"), _REQUIRED),
    "label": (_text(300), _REQUIRED),
    "neighbourhood": (_text(64, SLUG, "solo minuscole, cifre e trattini"), None),
}

ALLOCATION_SPEC = {
    "mode": (_choice(*ALLOCATION_MODES), _REQUIRED),
    "on_insufficient": (_choice(*ON_INSUFFICIENT), _REQUIRED),
    "min_partial_share": (_share, None),
}

CRITERION_SPEC = {
    "code": (_text(40, CODE, "solo minuscole, cifre e trattini bassi"), _REQUIRED),
    "label": (_text(300), _REQUIRED),
    "max_points": (_integer(1, TOTAL_POINTS), _REQUIRED),
}

GUIDELINE_SPEC = {
    "code": (_text(20, GUIDELINE_CODE, "lettere, cifre, punto, trattino"), _REQUIRED),
    "text": (_text(2000, lines=True), _REQUIRED),
}

NEIGHBOURHOOD_SPEC = {
    "slug": (_text(64, SLUG, "solo minuscole, cifre e trattini"), _REQUIRED),
    "name": (_text(120), _REQUIRED),
    "inhabitants": (_integer(0, 10_000_000), None),
    "households": (_integer(0, 10_000_000), None),
    "erp_units": (_integer(0, 10_000_000), None),
    "intervention_units": (_integer(0, 10_000_000), None),
    "quota": (_amount, None),
    "lab_address": (_text(200, empty=True), ""),
    "guidelines": (lambda value: value, list),  # read as an array of tables below
    # Guideline codes a proposal of this neighbourhood must address (checked at admissibility).
    "required_guidelines": (_codes(20, GUIDELINE_CODE, "lettere, cifre, punto, trattino"), list),
}

TOP_LEVEL = (
    "edition",
    "rules",
    "allocation",
    "criteria",
    "neighbourhoods",
    "general_guidelines",
    "attachment_labels",
    "admissibility_checks",
)


def parse_call(source, name: str | None = None) -> dict:
    """Check a whole call file (TOML text, bytes or an already parsed dict); see _parse."""
    try:
        return _parse(source, name)
    except RecursionError:
        # Lists in lists a thousand deep: the reader (or a check after it) gives up.
        raise CallFileError(
            [("", "TOML non valido: liste o tabelle annidate troppo in profondità")], name
        ) from None


# The deepest key a call file writes has four parts ("rules.allocation.x.y"); the TOML reader
# takes time growing with the square of a dotted key's parts (60 000 parts: a minute).
MAX_KEY_PARTS = 32


# The text read as tokens, each once (every alternative matches whatever follows, so no
# position is tried twice): a part of a key (a bare word or a string, closed or not), a dot,
# blanks, anything else.
_TOKEN = re.compile(
    r"""(?P<part>[A-Za-z0-9_-]++|"(?:[^"\\\n]|\\.)*+(?:"|\\?$)|'[^'\n]*+(?:'|$))"""
    r"""|(?P<dot>\.)|(?P<blank>[ \t]++)|(?P<other>.|\n)""",
    re.M,
)


def _long_dotted_key(text: str) -> str | None:
    """A key of more than MAX_KEY_PARTS dotted parts, found on the raw text in one pass
    before the reader spends its time on it: the message names its line."""
    parts, after_dot = 0, False
    for token in _TOKEN.finditer(text):
        kind = token.lastgroup
        if kind == "part":
            parts, after_dot = (parts + 1 if after_dot else 1), False
            if parts > MAX_KEY_PARTS:
                line = text.count("\n", 0, token.start()) + 1
                return f"TOML non valido: riga {line}: una chiave con più di {MAX_KEY_PARTS} parti"
        elif kind == "dot" and parts and not after_dot:
            after_dot = True
        elif kind != "blank":
            parts, after_dot = 0, False
    return None


def _parse(source, name: str | None = None) -> dict:
    """Check a whole call file (TOML text, bytes or an already parsed dict).

    Returns {"edition": {column: value}, "criteria": [...], "neighbourhoods": [...],
    "general_guidelines": [...], "attachment_labels": {...}, "source": {...}}, where
    "source" is the file as parsed, made JSON-safe. Raises CallFileError with every problem.
    """
    if isinstance(source, bytes):
        try:
            # "utf-8-sig": a file saved by Windows' Notepad starts with a byte-order mark.
            source = source.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise CallFileError([("", "il file non è in UTF-8")], name) from None
    if isinstance(source, str):
        if problem := _long_dotted_key(source):
            raise CallFileError([("", problem)], name)
        try:
            data = tomllib.loads(source.removeprefix("\ufeff"))
        except tomllib.TOMLDecodeError as error:
            raise CallFileError([("", f"TOML non valido: {error}")], name) from None
    elif isinstance(source, dict):
        data = source
    else:
        raise TypeError("parse_call takes TOML text or a dict")

    read = _Reader()
    for key in data:
        if key not in TOP_LEVEL:
            read.problem(key, "chiave sconosciuta")
    edition = read.table(data.get("edition"), "edition", EDITION_SPEC)
    rules = read.table(data.get("rules"), "rules", RULES_SPEC)
    allocation = read.table(data.get("allocation"), "allocation", ALLOCATION_SPEC)
    criteria = read.array(data.get("criteria"), "criteria", CRITERION_SPEC)
    hoods = read.array(data.get("neighbourhoods"), "neighbourhoods", NEIGHBOURHOOD_SPEC)
    general = read.array(
        data.get("general_guidelines"), "general_guidelines", GUIDELINE_SPEC, required=False
    )
    labels = _attachment_labels(read, data.get("attachment_labels"))
    checks = read.array(
        data.get("admissibility_checks"), "admissibility_checks", CHECK_SPEC, required=False
    )
    hood_guidelines = [
        read.array(hood.get("guidelines"), f"{path}.guidelines", GUIDELINE_SPEC, required=False)
        for path, hood in hoods
    ]

    edition, rules, allocation = edition or {}, rules or {}, allocation or {}
    _check_dates(read, edition)
    _check_money(read, edition, rules, allocation, hoods)
    _check_criteria(read, criteria, rules)
    _check_unique(read, hoods, "slug")
    _check_unique(read, criteria, "code")
    _check_unique(read, general + [g for items in hood_guidelines for g in items], "code")
    _check_allocation(read, allocation)
    _check_admissibility(read, checks, hoods, hood_guidelines)

    if read.problems:
        raise CallFileError(read.problems, name)
    return _shape(
        data, edition, rules, allocation, criteria, hoods, hood_guidelines, general, labels
    )


def _attachment_labels(read: _Reader, data) -> dict:
    if data is None:
        return {}
    if not isinstance(data, dict):
        read.problem("attachment_labels", f"deve essere una tabella, non {_kind(data)}")
        return {}
    labels = {}
    code, label = _text(40, CODE, "solo minuscole, cifre e trattini bassi"), _text(200)
    for key, value in data.items():
        path = f"attachment_labels.{key}"
        try:
            labels[code(key)] = label(value)
        except _Invalid as error:
            read.problem(path, str(error))
    return labels


def _check_dates(read: _Reader, edition: dict):
    opens, closes = edition.get("opens_at"), edition.get("closes_at")
    if opens and closes and not opens < closes:
        read.problem("edition.closes_at", "deve essere dopo edition.opens_at")
    starts, ends = edition.get("project_starts_on"), edition.get("project_ends_on")
    if starts and ends and starts > ends:
        read.problem("edition.project_ends_on", "deve essere dopo edition.project_starts_on")


def _check_money(read: _Reader, edition: dict, rules: dict, allocation: dict, hoods):
    cap = edition.get("budget_cap")
    max_grant = rules.get("max_grant")
    if cap is not None and max_grant is not None and max_grant > cap:
        read.problem("rules.max_grant", "supera il tetto del bando (edition.budget_cap)")
    quotas = [(path, hood["quota"]) for path, hood in hoods if "quota" in hood]
    if cap is None:
        return
    for path, quota in quotas:
        if quota > cap:
            read.problem(f"{path}.quota", "supera il tetto del bando (edition.budget_cap)")
    total = sum(quota for _, quota in quotas)
    if total > cap:
        read.problem(
            "neighbourhoods",
            f"la somma delle quote ({_euro(total)}) supera il tetto del bando ({_euro(cap)})",
        )
    if allocation.get("mode") == "area_quotas_then_pool":
        for path, hood in hoods:
            if "quota" not in hood and not read.has_problem(f"{path}.quota"):
                read.problem(
                    f"{path}.quota", "obbligatoria con allocation.mode = area_quotas_then_pool"
                )


def _euro(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _check_criteria(read: _Reader, criteria, rules: dict):
    points = [criterion.get("max_points") for _, criterion in criteria]
    if criteria and None not in points and sum(points) != TOTAL_POINTS:
        read.problem(
            "criteria",
            f"la somma di max_points è {sum(points)}, deve essere {TOTAL_POINTS}",
        )
    codes = {criterion.get("code") for _, criterion in criteria}
    for position, item in enumerate(rules.get("tie_break", []), 1):
        path = f"rules.tie_break[{position}]"
        if item.startswith("criterion:"):
            code = item.removeprefix("criterion:")
            if code not in codes:
                read.problem(path, f"«{code}» non è il codice di un criterio di [[criteria]]")
        elif item not in TIE_BREAK_KEYS:
            read.problem(
                path,
                f"«{item}» non ammesso: criterion:<codice>, {', '.join(TIE_BREAK_KEYS)}",
            )


def _check_unique(read: _Reader, items, key: str):
    seen = {}
    for path, item in items:
        value = item.get(key)
        if value is None:
            continue
        if value in seen:
            read.problem(f"{path}.{key}", f"«{value}» già usato in {seen[value]}")
        else:
            seen[value] = path


def _check_allocation(read: _Reader, allocation: dict):
    if allocation.get("on_insufficient") == "partial" and "min_partial_share" not in allocation:
        read.problem(
            "allocation.min_partial_share", "obbligatoria con allocation.on_insufficient = partial"
        )


def _check_admissibility(read: _Reader, checks, hoods, hood_guidelines):
    _check_unique(read, checks, "code")
    slugs = {hood.get("slug") for _, hood in hoods}
    for path, check in checks:
        if check.get("neighbourhood") and check["neighbourhood"] not in slugs:
            read.problem(f"{path}.neighbourhood", f"«{check['neighbourhood']}» non è un quartiere")
    for (path, hood), guidelines in zip(hoods, hood_guidelines, strict=True):
        own = {g.get("code") for _, g in guidelines}
        for code in hood.get("required_guidelines", []):
            if code not in own:
                read.problem(
                    f"{path}.required_guidelines",
                    f"«{code}» non è una linea di indirizzo di questo quartiere",
                )


def _shape(data, edition, rules, allocation, criteria, hoods, hood_guidelines, general, labels):
    """The checked values, named as the model's columns."""
    starts = edition.get("project_starts_on") or edition["closes_at"].astimezone(ROME).date()
    columns = {
        "code": edition["code"],
        "title": edition["title"],
        "budget_cap_cents": edition["budget_cap"],
        "opens_at": edition["opens_at"],
        "closes_at": edition["closes_at"],
        "legal_basis": edition["legal_basis"],
        "office": edition["office"],
        "description": edition["description"],
        # Not in the minimum contract: by default projects run for a year from the closing.
        "project_starts_on": starts,
        "project_ends_on": edition.get("project_ends_on") or starts + timedelta(days=364),
        "protocol_prefix": edition.get("protocol_prefix")
        or re.sub(r"[^A-Z0-9]", "", edition["code"].upper())[:20],
        "max_grant_cents": rules["max_grant"],
        "min_cofinancing_bp": rules["min_cofinancing_share"],
        "integration_days": rules["integration_days"],
        "reviews_required": rules["reviews_required"],
        "aggregation": rules["aggregation"],
        "threshold": rules["threshold"],
        "advance_share_bp": rules["advance_share"],
        "tie_break": rules["tie_break"],
        "required_attachments": rules["required_attachments"],
        "budget_categories": rules["budget_categories"],
        "max_applications_per_organisation": rules["max_applications_per_organisation"],
        "allocation_mode": allocation["mode"],
        "on_insufficient": allocation["on_insufficient"],
        "min_partial_share_bp": allocation.get("min_partial_share", 0),
    }
    neighbourhoods = []
    for (_, hood), guidelines in zip(hoods, hood_guidelines, strict=True):
        neighbourhoods.append(
            {
                "slug": hood["slug"],
                "name": hood["name"],
                "inhabitants": hood.get("inhabitants"),
                "households": hood.get("households"),
                "erp_units": hood.get("erp_units"),
                "intervention_units": hood.get("intervention_units"),
                "quota_cents": hood.get("quota"),
                "lab_address": hood["lab_address"],
                "guidelines": [dict(g) for _, g in guidelines],
            }
        )
    return {
        "edition": columns,
        "criteria": [dict(c) for _, c in criteria],
        "neighbourhoods": neighbourhoods,
        "general_guidelines": [dict(g) for _, g in general],
        "attachment_labels": labels,
        "source": json_safe(data),
    }


def json_safe(value):
    """The parsed TOML with its dates and times as ISO strings, for a JSON column."""
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_safe(item) for item in value]
    if isinstance(value, date | time):  # datetime too
        return value.isoformat()
    return value


def state_for_dates(opens_at: datetime, closes_at: datetime, now: datetime) -> str:
    """The state a call takes when loaded: draft before opening, open, closed after."""
    if now < opens_at:
        return "draft"
    if now < closes_at:
        return "open"
    return "closed"
