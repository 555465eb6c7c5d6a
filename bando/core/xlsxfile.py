"""XLSX files for the offices' spreadsheets: amounts and dates as real numbers and dates
(summed and sorted as such), a bold header that stays in view; a text that openpyxl would
write as a formula ("=HYPERLINK(...)" in an organisation's name) stays text."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font

MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Euro amounts with two decimals and dates as an Italian reads them; a spreadsheet shows
# the separators of its own language.
AMOUNT = "#,##0.00"
DAY = "DD/MM/YYYY"


def euros(cents: int) -> Decimal:
    """An amount in cents as the spreadsheet's number of euros (exact: a Decimal)."""
    return Decimal(cents).scaleb(-2)


@dataclass
class Sheet:
    title: str
    header: Sequence[str]
    rows: Iterable[Sequence]
    # Column index (from 0) → number format, e.g. {5: AMOUNT, 0: DAY}.
    formats: dict[int, str] = field(default_factory=dict)
    bold_last_row: bool = False  # a total


def xlsx_bytes(sheets: Sequence[Sheet]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for spec in sheets:
        sheet = workbook.create_sheet(spec.title)
        sheet.append(list(spec.header))
        for row in spec.rows:
            sheet.append(list(row))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        if spec.bold_last_row and sheet.max_row > 1:
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        for line in sheet.iter_rows(min_row=2):
            for cell in line:
                if cell.data_type == "f":
                    cell.data_type = "s"
                number_format = spec.formats.get(cell.column - 1)
                if number_format and isinstance(cell.value, Decimal | int | date):
                    cell.number_format = number_format
        for column, title in enumerate(spec.header, start=1):
            letter = sheet.cell(row=1, column=column).column_letter
            sheet.column_dimensions[letter].width = max(12, min(40, len(str(title)) + 4))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
