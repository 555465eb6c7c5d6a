"""The submission receipt (ricevuta di presentazione), a PDF made with ReportLab."""

import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from bando.applications.attachments import attachment_kinds
from bando.calls.models import budget_category_label
from bando.core.formatting import moment, money
from bando.core.timeutil import utcnow
from workflows.organisation import NON_PROFIT_FORMS

SUMMARY_LIMIT = 1500


def receipt_filename(application) -> str:
    protocol = (application.protocol or f"domanda-{application.id}").replace("/", "-")
    return f"ricevuta-{protocol}.pdf"


def _p(text, style):
    return Paragraph(escape(str(text or "")).replace("\n", "<br/>"), style)


def _shorten(text: str, limit: int = SUMMARY_LIMIT) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def receipt_pdf(application) -> bytes:
    """The receipt of a submitted application: protocol, date and time (Europe/Rome),
    organisation, a summary of the proposal and its budget with totals."""
    styles = getSampleStyleSheet()
    # A section heading never ends a page apart from its table.
    styles["Heading3"].keepWithNext = 1
    body, small = styles["BodyText"], styles["BodyText"].clone("small", fontSize=8, leading=10)
    edition, org = application.edition, application.organisation
    it = "it"

    def pairs(rows):
        table = Table([[_p(k, body), _p(v, body)] for k, v in rows], colWidths=[50 * mm, 120 * mm])
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("FONTNAME", (0, 0), (0, -1), "Helvetica-Bold"),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                ]
            )
        )
        return table

    story = [
        _p(edition.office or "Comune di Milano", small),
        _p("Ricevuta di presentazione della domanda", styles["Title"]),
        _p(edition.title, styles["Heading3"]),
        pairs(
            [
                ("Protocollo", application.protocol),
                ("Data e ora di invio", f"{moment(application.submitted_at)} (ora di Roma)"),
                ("Stato", "inviata"),
            ]
        ),
        Spacer(1, 4 * mm),
        _p("Ente richiedente", styles["Heading3"]),
        pairs(
            [
                ("Denominazione", org.name),
                ("Codice fiscale", org.tax_code),
                ("Forma giuridica", NON_PROFIT_FORMS.get(org.legal_form, org.legal_form)),
                ("Legale rappresentante", org.legal_representative),
                ("Sede legale", org.address),
                ("PEC", org.pec),
            ]
        ),
        Spacer(1, 4 * mm),
        _p("Progetto", styles["Heading3"]),
        pairs(
            [
                ("Titolo", application.title),
                ("Quartiere", application.neighbourhood.name if application.neighbourhood else ""),
                (
                    "Linee di indirizzo",
                    "\n".join(f"{g.code} — {g.text}" for g in application.guidelines),
                ),
                (
                    "Periodo",
                    f"dal {_date(application.start_date)} al {_date(application.end_date)}",
                ),
                ("Sintesi", _shorten(application.summary)),
                (
                    "Partner",
                    "\n".join(p.name for p in application.partners) or "nessuno",
                ),
            ]
        ),
        Spacer(1, 4 * mm),
        _p("Piano economico", styles["Heading3"]),
    ]
    rows = [["Categoria", "Descrizione", "Importo"]]
    rows += [
        [
            _p(budget_category_label(line.category), body),
            _p(line.description, body),
            money(line.amount_cents, it),
        ]
        for line in application.budget_lines
    ]
    rows += [
        ["", "Costo totale del progetto", money(application.total_cost_cents, it)],
        ["", "Contributo richiesto", money(application.requested_cents, it)],
        ["", "Cofinanziamento dell'ente", money(application.cofinancing_cents, it)],
    ]
    budget = Table(rows, colWidths=[40 * mm, 95 * mm, 35 * mm], repeatRows=1)
    totals_from = len(rows) - 3
    budget.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTNAME", (1, totals_from), (-1, -1), "Helvetica-Bold"),
                ("ALIGN", (2, 0), (2, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                ("LINEABOVE", (0, totals_from), (-1, totals_from), 0.5, colors.black),
            ]
        )
    )
    story.append(budget)
    labels = attachment_kinds(edition)
    if application.attachments:
        story += [Spacer(1, 4 * mm), _p("Documenti allegati", styles["Heading3"])]
        story.append(
            pairs(
                [
                    (labels.get(a.kind, a.kind), f"{a.filename} — sha256 {a.sha256[:16]}…")
                    for a in application.attachments
                ]
            )
        )
    story += [
        Spacer(1, 4 * mm),
        _p("Che cosa succede ora", styles["Heading3"]),
        _p(
            "L'ufficio verifica l'ammissibilità della domanda; se manca un documento lo chiede "
            f"(soccorso istruttorio), con {edition.integration_days} giorni per rispondere. "
            "Le domande ammissibili sono valutate dalla commissione; seguono la graduatoria e "
            "l'assegnazione dei contributi. Ogni passaggio è comunicato per e-mail "
            f"all'indirizzo confermato di chi accede per l'ente e alla PEC {org.pec}; lo stato "
            "della domanda si vede sempre nella pagina «Le mie domande» del sito.",
            body,
        ),
    ]
    story += [
        Spacer(1, 6 * mm),
        _p(
            "La presente ricevuta attesta l'avvenuta presentazione della domanda con il "
            "numero di protocollo indicato. Generata il "
            f"{moment(utcnow())} (ora di Roma).",
            small,
        ),
    ]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"Ricevuta {application.protocol}",
        author=edition.office or "bando",
        subject=edition.title,
    )
    document.build(story)
    return buffer.getvalue()


def _date(value) -> str:
    return value.strftime("%d/%m/%Y") if value else "—"
