"""CSV files (UTF-8) that people open in a spreadsheet: no cell may run as a formula."""

import csv
import io
from collections.abc import Iterable

# A cell starting with one of these is a formula to Excel and LibreOffice (CSV injection,
# OWASP): "=HYPERLINK(...)" in an organisation's name must stay text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str | int:
    """The cell as text a spreadsheet shows and never evaluates: a leading apostrophe
    before what would start a formula. Numbers pass as they are."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_bytes(header: list[str], rows: Iterable[Iterable]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(cell) for cell in header])
    writer.writerows([neutralise(cell) for cell in row] for row in rows)
    return buffer.getvalue().encode("utf-8")
