"""Data for the applicant's tests: a real PDF, a valid proposal, a registration."""

import io
from itertools import count

from reportlab.pdfgen import canvas

from tests.factories import PASSWORD, entity_tax_code

_seq = count(500)


def pdf_bytes(text: str = "Statuto dell'associazione") -> bytes:
    """A small, real PDF made with ReportLab."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, text)
    page.showPage()
    page.save()
    return buffer.getvalue()


def registration(**organisation) -> dict:
    """The body of POST /api/v1/accounts for a new, valid organisation."""
    n = next(_seq)
    return {
        "email": f"volontaria{n}@example.it",
        "password": PASSWORD,
        "full_name": "Giulia Bianchi",
        "organisation": {
            "name": f"Associazione Quartiere Vivo {n}",
            "tax_code": entity_tax_code(n),
            "legal_form": "aps",
            "pec": f"quartierevivo{n}@pec.example.it",
            "address": "via dei Missaglia 1, 20142 Milano",
            "legal_representative": "Giulia Bianchi",
            "runts_number": "12345",
            "withholding_exempt": False,
            **organisation,
        },
    }


def proposal(edition, **fields) -> dict:
    """A complete, valid proposal for the first neighbourhood of `edition`:
    € 16.000,00 requested, € 4.000,00 co-financing, € 20.000,00 of budget lines."""
    hood = edition.neighbourhoods[0]
    start = edition.project_starts_on
    return {
        "edition": edition.code,
        "neighbourhood": hood.slug,
        "title": "Cortili aperti",
        "summary": "Laboratori nei cortili delle case popolari, con gli inquilini.",
        "description": "Dodici pomeriggi di attività nei cortili.",
        "objectives": "Conoscersi tra vicini.",
        "places": "Cortili di via Selinunte",
        "timeline": "Da settembre a dicembre",
        "guidelines": [hood.guidelines[0].code],
        "partners": [{"name": "Comitato inquilini", "tax_code": None, "role": "ospita"}],
        "budget": [
            {"category": "personale", "description": "Educatori", "amount": "12000.00"},
            {"category": "materiali", "description": "Attrezzi e colori", "amount": "8000.00"},
        ],
        "requested_amount": "16000.00",
        "cofinancing_amount": "4000.00",
        "start_date": start.isoformat(),
        "end_date": edition.project_ends_on.isoformat(),
        **fields,
    }


def token_for(client, email, password=PASSWORD) -> dict:
    response = client.post("/api/v1/tokens", json={"email": email, "password": password})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def submitted_application(edition, user=None, *, now=None, **fields):
    """A complete application of a new organisation, submitted through the operations."""
    from bando.applications.attachments import store_attachment
    from bando.applications.operations import create_draft, submit
    from tests.factories import create_user

    user = user or create_user("applicant")
    application = create_draft(user, proposal(edition, **fields))
    for kind in edition.required_attachments:
        store_attachment(application, kind, f"{kind}.pdf", pdf_bytes(kind), user, 1_000_000)
    submit(application, user, now=now)
    return application
