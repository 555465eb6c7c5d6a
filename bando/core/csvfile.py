"""CSV exports opened in a spreadsheet: a cell that starts with = + - @ (or a tab or a
carriage return) would be read as a formula (CSV injection, OWASP), so it is prefixed
with an apostrophe and read as text."""

import csv
import io

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """A cell's text; numbers pass as they are (a negative amount is not a formula)."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def csv_bytes(header: list[str], rows) -> bytes:
    """UTF-8 with a byte-order mark, so that a spreadsheet reads the accents right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
