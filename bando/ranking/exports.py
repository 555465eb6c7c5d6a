"""The ranking as files: CSV and XLSX for whoever works on it, and the minute of its
approval (verbale) as a PDF, with every proposal's points per criterion, its total, its
position and its outcome, the committee and the dates of their declarations."""

import io
from decimal import Decimal
from xml.sax.saxutils import escape

from babel.numbers import format_decimal
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from bando.calls.models import Edition
from bando.core.csvfile import csv_bytes
from bando.core.formatting import moment
from bando.core.timeutil import utcnow
from bando.core.xlsxfile import Sheet, xlsx_bytes
from bando.ranking.models import RankingEntry
from workflows.timezone import on

# The aggregation as the minute names it, in Italian.
AGGREGATION_WORDS = {"mean": "media", "median": "mediana"}


def _points_it(value) -> str:
    """Points as an Italian reads them in the minute, "28,00" (the files keep "28.00")."""
    if value in (None, ""):
        return ""
    return format_decimal(Decimal(str(value)), format="#,##0.00", locale="it")


def outcome(entry: RankingEntry) -> str:
    return "idonea" if entry.fundable else "non idonea (sotto la soglia)"


def table(edition: Edition, entries: list[RankingEntry]) -> tuple[list[str], list[list]]:
    """The header and the rows every export shares (points as the API writes them)."""
    codes = [c.code for c in edition.criteria]
    header = [
        "posizione",
        "posizione nel quartiere",
        "protocollo",
        "ente",
        "codice fiscale",
        "quartiere",
        "titolo",
        *(f"punti {code}" for code in codes),
        "totale",
        "esito",
        "criterio di parità",
    ]
    rows = []
    for entry in entries:
        application = entry.application
        rows.append(
            [
                entry.position,
                entry.neighbourhood_position,
                application.protocol,
                application.organisation.name,
                application.organisation.tax_code,
                application.neighbourhood.name if application.neighbourhood else "",
                application.title,
                *(entry.points.get(code, "") for code in codes),
                entry.total,
                outcome(entry),
                entry.decided_by or "",
            ]
        )
    return header, rows


def ranking_csv(edition: Edition, entries: list[RankingEntry]) -> bytes:
    return csv_bytes(*table(edition, entries))


def ranking_xlsx(edition: Edition, entries: list[RankingEntry]) -> bytes:
    header, rows = table(edition, entries)
    by_hood = sorted(rows, key=lambda r: (r[5], r[1]))
    return xlsx_bytes([Sheet("Graduatoria", header, rows), Sheet("Per quartiere", header, by_hood)])


def _p(text, style):
    return Paragraph(escape(str(text or "")).replace("\n", "<br/>"), style)


def minute_pdf(edition: Edition, entries: list[RankingEntry], committee: list[dict]) -> bytes:
    """The verbale: `committee` is [{name, email, declared_at}]."""
    styles = getSampleStyleSheet()
    body = styles["BodyText"]
    small = body.clone("small", fontSize=7.5, leading=9)
    header, rows = table(edition, entries)
    story = [
        _p(edition.office or "Comune di Milano", small),
        _p("Verbale di approvazione della graduatoria", styles["Title"]),
        _p(edition.title, styles["Heading3"]),
        _p(
            f"Base giuridica: {edition.legal_basis or '—'}. Graduatoria approvata "
            f"{on('il', edition.ranking_published_at) if edition.ranking_published_at else '—'} "
            f"secondo i criteri del bando, con la soglia di finanziabilità di "
            f"{edition.threshold}/100 e la "
            f"{AGGREGATION_WORDS.get(edition.aggregation, edition.aggregation)} dei punteggi "
            f"dei commissari ({edition.reviews_required} valutazioni per domanda).",
            body,
        ),
        Spacer(1, 3 * mm),
        _p("Criteri di valutazione", styles["Heading4"]),
        _p(
            "; ".join(
                f"{c.label} ({c.code}): fino a {c.max_points} punti" for c in edition.criteria
            ),
            body,
        ),
        _p("La commissione", styles["Heading4"]),
    ]
    # The minute is public: a member is named, never by their e-mail address (a member
    # made without a name is numbered instead).
    names = [
        member["name"] or f"Componente n. {number}" for number, member in enumerate(committee, 1)
    ]
    story += [
        _p(
            f"{name} — dichiarazione di assenza di conflitti di interessi firmata il "
            f"{moment(member['declared_at'])}"
            if member["declared_at"]
            else f"{name} — dichiarazione non firmata",
            body,
        )
        for name, member in zip(names, committee, strict=True)
    ]
    story += [Spacer(1, 3 * mm), _p("Graduatoria", styles["Heading4"])]
    shown = [0, 2, 3, 5] + list(range(7, len(header) - 1))  # position… points, total, outcome
    numbers = range(7, 8 + len(edition.criteria))  # the points and the total
    data = [[_p(header[i], small) for i in shown]]
    data += [
        [_p(_points_it(row[i]) if i in numbers else row[i], small) for i in shown] for row in rows
    ]
    grid = Table(data, repeatRows=1)
    grid.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.lightgrey),
            ]
        )
    )
    story += [
        grid,
        Spacer(1, 6 * mm),
        _p(
            "Il presente verbale è generato da bando il "
            f"{moment(utcnow())} (ora di Roma). Il responsabile del procedimento",
            small,
        ),
    ]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Verbale della graduatoria — {edition.title}",
        author=edition.office or "bando",
    )
    document.build(story)
    return buffer.getvalue()
