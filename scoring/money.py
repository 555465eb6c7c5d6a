"""Money is integer euro-cents. Amounts travel as strings with two decimals ("16000.00")."""

import re
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_decimal

# A ceiling far above any grant call, so an absurd figure is refused rather than stored.
MAX_CENTS = 100_000_000_00

ITALIAN_THOUSANDS = re.compile(r"[1-9][0-9]{0,2}(\.[0-9]{3})+")
# Digits with a decimal point, as written once the Italian separators are read: no exponent
# ("1e3" is a typing slip more often than a thousand), no NaN, no digits of other scripts.
PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


class AmountError(ValueError):
    """A text that is not a valid amount of euro; the message says why, in Italian."""


def parse_cents(text, *, allow_zero: bool = True) -> int:
    """Parse "16000.00", "16000", "16.000,00" or "16000,5" into cents.

    Refuses negatives, more than two decimals, non-numbers and absurd figures.
    """
    if isinstance(text, bool) or text is None:
        raise AmountError("importo mancante")
    if isinstance(text, int):
        value = Decimal(text)
    elif isinstance(text, float):
        raise AmountError('importo da scrivere come testo con due decimali, ad es. "1500.00"')
    else:
        raw = str(text).strip().replace("€", "").replace(" ", "")
        if not raw:
            raise AmountError("importo mancante")
        if "," in raw or ITALIAN_THOUSANDS.fullmatch(raw):
            # Italian writing: the dot groups thousands ("6.000" is six thousand), the
            # comma marks the decimals. "6000.00", the API's form, has no such groups.
            raw = raw.replace(".", "").replace(",", ".")
        if not PLAIN_NUMBER.fullmatch(raw):
            raise AmountError(f"«{text}» non è un importo valido")
        value = Decimal(raw)
    if value < 0:
        raise AmountError("l'importo non può essere negativo")
    # Before quantize, which cannot represent huge exponents like 1e30.
    if value > Decimal(MAX_CENTS) / 100:
        raise AmountError("importo fuori misura")
    if value != value.quantize(Decimal("0.01")):
        raise AmountError("al massimo due decimali")
    cents = int(value * 100)
    if cents == 0 and not allow_zero:
        raise AmountError("l'importo deve essere maggiore di zero")
    return cents


def cents_to_str(cents: int) -> str:
    """The API form of an amount: "16000.00"."""
    sign = "-" if cents < 0 else ""
    cents = abs(int(cents))
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def share_of(cents: int, share: Decimal | str) -> int:
    """A share of an amount, rounded half up to the cent (e.g. the advance payment)."""
    value = Decimal(cents) * Decimal(str(share))
    return int(value.quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def amount_text(cents: int, locale: str = "it") -> str:
    """An amount as people write it, without the sign of the euro: "94.000,00"."""
    return format_decimal(Decimal(int(cents)) / 100, format="#,##0.00", locale=locale)


def euro(cents: int, locale: str = "it") -> str:
    """An amount as the pages, letters and messages show it: "€ 94.000,00" (the one money
    formatter; `locale` "en" gives "€ 94,000.00")."""
    sign = "-" if cents < 0 else ""
    return f"{sign}€ {amount_text(abs(int(cents)), locale)}"
