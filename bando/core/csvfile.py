"""CSV files (UTF-8) that people open in a spreadsheet: no cell may run as a formula."""

import csv
import io
import re
from collections.abc import Iterable

# A cell starting with one of these is a formula to Excel and LibreOffice (CSV injection,
# OWASP): "=HYPERLINK(...)" in an organisation's name must stay text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A negative amount as bando writes it ("-850.00") is a number, not a formula.
NEGATIVE_AMOUNT = re.compile(r"-[0-9]+(\.[0-9]+)?")


def neutralise(value) -> str | int:
    """The cell as text a spreadsheet shows and never evaluates: a leading apostrophe
    before what would start a formula. Numbers pass as they are, negative ones too."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    if NEGATIVE_AMOUNT.fullmatch(text):
        return text
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_bytes(header: list[str], rows: Iterable[Iterable]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(cell) for cell in header])
    writer.writerows([neutralise(cell) for cell in row] for row in rows)
    return buffer.getvalue().encode("utf-8")
