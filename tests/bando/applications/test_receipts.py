"""The receipt PDF, read back with pypdf."""

import io
from datetime import UTC, datetime, timedelta

from pypdf import PdfReader

from bando.applications.receipts import receipt_filename, receipt_pdf
from bando.core.extensions import db
from bando.core.timeutil import utcnow
from tests.bando.applications.data import submitted_application
from tests.factories import create_edition


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_receipt_holds_protocol_time_in_rome_organisation_and_budget(app):
    edition = create_edition(
        "cdq-2019",
        opens_at=datetime(2019, 3, 1, 8, 0, tzinfo=UTC),
        closes_at=utcnow() + timedelta(days=10),
    )
    # 21:30 UTC on 14 April 2019 is 23:30 in Rome (summer time).
    when = datetime(2019, 4, 14, 21, 30, tzinfo=UTC)
    application = submitted_application(edition, now=when, title="Biblioteca di cortile")
    db.session.commit()

    data = receipt_pdf(application)
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    assert "Ricevuta di presentazione della domanda" in text
    assert "CDQ2019/0001" in text
    assert "14/04/2019 23:30" in text
    assert application.organisation.name in text
    assert application.organisation.tax_code in text
    assert "Biblioteca di cortile" in text
    assert "€ 12.000,00" in text and "€ 8.000,00" in text  # the budget lines
    assert "€ 20.000,00" in text  # total cost
    assert "€ 16.000,00" in text  # requested
    assert "€ 4.000,00" in text  # co-financing
    assert receipt_filename(application) == "ricevuta-CDQ2019-0001.pdf"


def test_text_that_looks_like_markup_is_printed_as_written(app):
    edition = create_edition()
    application = submitted_application(
        edition, title="Cortili <b>aperti</b> & feste", summary="a < b > c"
    )
    db.session.commit()
    text = pdf_text(receipt_pdf(application))
    assert "Cortili <b>aperti</b> & feste" in text
    assert "a < b > c" in text


def test_a_long_proposal_runs_over_pages(app):
    edition = create_edition()
    application = submitted_application(
        edition,
        summary="Attività di quartiere. " * 60,
        budget=[
            {"category": "materiali", "description": f"Voce {i}", "amount": "500.00"}
            for i in range(40)
        ],
    )
    db.session.commit()
    reader = PdfReader(io.BytesIO(receipt_pdf(application)))
    assert len(reader.pages) >= 2
    assert "Voce 39" in pdf_text(receipt_pdf(application))


def test_characters_outside_latin_do_not_break_the_receipt(app):
    edition = create_edition()
    application = submitted_application(edition, title="Orti condivisi 🌳 Łódź ✓ — «quartiere»")
    db.session.commit()
    text = pdf_text(receipt_pdf(application))
    assert "Orti condivisi" in text and "«quartiere»" in text
    assert application.protocol in text
