"""The payment register as CSV (cells that a spreadsheet would run as formulas are
neutralised by bando.core.csvfile); a recovery is negative, so that the columns add up to
what was paid net of what came back."""

from bando.core.csvfile import csv_bytes
from bando.core.timeutil import to_rome
from bando.payments.operations import KIND_LABELS
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


def register_csv(payments) -> bytes:
    rows = []
    for p in payments:
        application = p.award.application
        rows.append(
            [
                to_rome(p.paid_at).strftime("%d/%m/%Y"),
                application.protocol,
                application.organisation.name,
                application.organisation.tax_code,
                str(KIND_LABELS[p.kind]),
                cents_to_str(p.signed_cents),
                cents_to_str(p.withholding_cents),
                cents_to_str(p.net_cents),
                p.reference,
            ]
        )
    return csv_bytes(HEADER, rows)
