"""The payment register as CSV (cells that a spreadsheet would run as formulas are
neutralised by bando.core.csvfile) and as XLSX (amounts and dates as numbers and dates,
with the totals); a recovery is negative, so that the columns add up to what was paid net
of what came back."""

from flask import Response

from bando.core.csvfile import csv_bytes
from bando.core.downloads import download
from bando.core.timeutil import to_rome
from bando.core.xlsxfile import AMOUNT, DAY, MIMETYPE, Sheet, euros, xlsx_bytes
from bando.payments.operations import KIND_LABELS, register, register_totals
from scoring.money import cents_to_str

HEADER = [
    "data",
    "protocollo",
    "beneficiario",
    "codice_fiscale",
    "tipo",
    "importo_lordo",
    "ritenuta",
    "importo_netto",
    "riferimento",
]


def _rows(payments, amount, day):
    for p in payments:
        application = p.award.application
        yield [
            day(to_rome(p.paid_at).date()),
            application.protocol,
            application.organisation.name,
            application.organisation.tax_code,
            str(KIND_LABELS[p.kind]),
            amount(p.signed_cents),
            amount(p.withholding_cents),
            amount(p.net_cents),
            p.reference,
        ]


def register_csv(payments) -> bytes:
    return csv_bytes(HEADER, _rows(payments, cents_to_str, lambda d: d.strftime("%d/%m/%Y")))


def register_xlsx(payments) -> bytes:
    totals = register_totals(payments)
    total = ["Totale", "", "", "", ""]
    total += [euros(totals[key]) for key in ("paid", "withholding", "net")] + [""]
    rows = [*_rows(payments, euros, lambda d: d), total]
    formats = {0: DAY, 5: AMOUNT, 6: AMOUNT, 7: AMOUNT}
    return xlsx_bytes([Sheet("Pagamenti", HEADER, rows, formats, bold_last_row=True)])


def register_file(edition, kind: str) -> Response:
    """The register of `edition` as a download: "csv" or "xlsx"."""
    payments = register(edition)
    content, mimetype = (
        (register_csv(payments), "text/csv")
        if kind == "csv"
        else (register_xlsx(payments), MIMETYPE)
    )
    return download(content, mimetype, f"pagamenti-{edition.code}.{kind}")
