"""The letters of a call as PDFs, in the form of an Italian administration's letter:
letterhead, protocol and date, the addressee with its PEC, «Oggetto», the text of the
kind, legal basis, procedure manager, appeal route, transparency and privacy notices and
the signature block.

Pure rendering: `render(LetterData)` needs no database and no Flask (bando.finance.
operations builds the data from the rows). The same data gives the same bytes: ReportLab
runs in invariant mode and the PDF's dates are the letter's own date. The fonts are
ReportLab's own Bitstream Vera (shipped inside the reportlab package, so every machine
that installs bando has them, embedded in each PDF), which has the euro sign and the
accented letters the base-14 fonts cannot be trusted with once embedded fonts are asked for.
"""

from __future__ import annotations

import io
import threading
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from xml.sax.saxutils import escape

from babel.numbers import format_decimal
from num2words import num2words
from pydantic import TypeAdapter
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import TimeStamp
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont, TTFontFace
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from scoring.money import euro as _euro
from workflows.timezone import ROME, day, on

FONT = "BandoSans"
FONT_BOLD = "BandoSans-Bold"
FONT_ITALIC = "BandoSans-Italic"
FONT_BOLD_ITALIC = "BandoSans-BoldItalic"
# Bitstream Vera ships in reportlab/fonts (licence: bitstream-vera-license.txt there).
FONT_FILES = {
    FONT: "Vera.ttf",
    FONT_BOLD: "VeraBd.ttf",
    FONT_ITALIC: "VeraIt.ttf",
    FONT_BOLD_ITALIC: "VeraBI.ttf",
}

KIND_SUBJECTS = {
    "award": "comunicazione di concessione del contributo",
    "reserve": "comunicazione di idoneità – progetto non finanziato per esaurimento delle risorse",
    "not_funded": "comunicazione di esito – progetto non finanziato",
    "not_admissible": "comunicazione di non ammissibilità della domanda",
    "rejection_notice": "comunicazione dei motivi ostativi all'accoglimento dell'istanza "
    "(art. 10-bis L. 241/1990)",
    "integration_request": "richiesta di integrazione documentale (soccorso istruttorio)",
}
# Letters that close the procedure carry the appeal route; a notice or a request does not.
FINAL_KINDS = ("award", "reserve", "not_funded", "not_admissible")


@dataclass(frozen=True)
class LetterData:
    """Everything a letter says, as plain values."""

    kind: str
    protocol: str
    issued_at: datetime  # UTC, aware
    administration: str
    office: str
    office_address: str
    office_pec: str
    signatory_name: str
    signatory_role: str
    procedure_manager: str
    edition_title: str
    legal_basis: str
    application_protocol: str
    submitted_at: datetime | None
    project_title: str
    neighbourhood: str
    organisation_name: str
    tax_code: str
    address: str
    pec: str
    legal_representative: str
    cup: str | None = None
    # award, reserve, not funded
    position: int | None = None
    points: str | None = None
    amount_cents: int = 0
    requested_cents: int = 0
    cofinancing_cents: int = 0
    total_cost_cents: int = 0
    advance_share_bp: int = 0
    withholding_exempt: bool = False
    withholding_reason: str = ""
    accept_by: datetime | None = None
    accepted_at: datetime | None = None  # already accepted when the letter was issued
    project_ends_on: date | None = None
    report_due_on: date | None = None
    report_due_days: int = 0
    reserve_position: int | None = None
    reason: str = ""  # why not funded / not admissible; the notice's reasons; the request
    deadline: datetime | None = None  # the notice's or the request's
    signed: bool = False
    privacy_url: str = ""
    portal_url: str = ""
    extra: dict = field(default_factory=dict)


# What a letter says, kept as issued (Letter.content): a protocolled letter is a record of
# what was sent, and the rows it was read from go on changing (a reserve funded later, an
# exemption declared, an address moved).
_RECORD = TypeAdapter(LetterData)


def as_record(data: LetterData) -> dict:
    """The letter's data as JSON values (times as ISO 8601 in UTC)."""
    return _RECORD.dump_python(data, mode="json")


def from_record(record: dict) -> LetterData:
    """The data as_record wrote: the same letter, the same bytes."""
    return _RECORD.validate_python(record)


WITHHOLDING_BP = 400  # 4 % (art. 28, comma 2, D.P.R. 600/1973)


# The same few amounts and scores recur in every letter of a call: babel's formatting and
# num2words are done once per value.
@lru_cache(maxsize=1024)
def euro(cents: int) -> str:
    """An amount as the letters write it, "€ 16.000,00" (scoring.money.euro)."""
    return _euro(cents)


@lru_cache(maxsize=1024)
def amount_in_words(cents: int) -> str:
    """16_000_00 → "euro sedicimila/00" (the cents in figures, as Italian deeds write)."""
    cents = int(cents)
    return f"euro {num2words(cents // 100, lang='it')}/{cents % 100:02d}"


def share_cents(cents: int, basis_points: int) -> int:
    """A share in basis points of an amount, rounded half up to the cent."""
    return (int(cents) * int(basis_points) + 5000) // 10000


def advance_cents(data: LetterData) -> int:
    return share_cents(data.amount_cents, data.advance_share_bp)


def withholding_cents(cents: int) -> int:
    return share_cents(cents, WITHHOLDING_BP)


def filename(data: LetterData) -> str:
    return f"{data.kind}-{data.protocol.replace('/', '-')}.pdf"


# --- fonts and styles -----------------------------------------------------------------------


class _Remembered(OrderedDict):
    """A bounded dict that forgets the least recently used entry: what every letter of a
    batch repeats stays, what one letter alone says passes through. Locked: letters may be
    made in several threads at once."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size
        self.lock = threading.Lock()

    def get(self, key, default=None):
        with self.lock:
            value = super().get(key, default)
            if value is not default:
                self.move_to_end(key)
            return value

    def __setitem__(self, key, value):
        with self.lock:
            super().__setitem__(key, value)
            self.move_to_end(key)
            if len(self) > self.size:
                self.popitem(last=False)


class _Flate:
    """zlib as ReportLab's stream filter, remembering the result: the same font subset is
    compressed once, not once per letter."""

    pdfname = "FlateDecode"

    def __init__(self):
        self.done = _Remembered(32)

    def encode(self, content: bytes | str) -> bytes:
        packed = self.done.get(content)
        if packed is None:
            raw = content.encode("utf8") if isinstance(content, str) else content
            packed = self.done[content] = zlib.compress(raw)
        return packed


_FLATE = _Flate()


class _SubsetFace(TTFontFace):
    """A TrueType face that makes each subset (the same glyphs in the same order give the
    same bytes) once: the letters of a batch use nearly the same characters."""

    def makeSubset(self, subset):
        made = self.__dict__.setdefault("_subsets", _Remembered(32))
        key = tuple(subset)
        font = made.get(key)
        if font is None:
            font = made[key] = super().makeSubset(subset)
        return font

    def addSubsetObjects(self, doc, fontname, subset):
        descriptor = super().addSubsetObjects(doc, fontname, subset)
        if doc.compression:
            doc.idToObject[f"fontFile:{self.filename}({fontname})"].filters = [_FLATE]
        return descriptor


class _Formatted(pdfdoc.PDFObject):
    """A PDF object already written out: a font's widths, the same in every letter."""

    def __init__(self, written: bytes):
        self.written = written

    def format(self, document) -> bytes:
        return self.written


_WIDTHS = _Remembered(32)


class _Font(TTFont):
    """The TrueType font of the letters, whose per-document objects (a few hundred widths
    written number by number, the ToUnicode map compressed) are written once per subset,
    not once per letter; the subsets themselves are remembered by the face (_SubsetFace)."""

    def __init__(self, name: str, path: str):
        super().__init__(name, path)
        self.face.__class__ = _SubsetFace  # same face, its subsets remembered

    def splitString(self, text, doc, encoding="utf-8"):
        """ReportLab's, character by character in Python, for the text drawn in a letter;
        here a run whose characters all have a code in the first subset already (nearly
        every run after a letter's first lines) is translated in one step, to the same
        bytes. Anything else goes the long way, which assigns the new codes."""
        state = self.state.get(doc)
        if state is None or not isinstance(text, str):
            return super().splitString(text, doc, encoding)
        known = state.__dict__.get("_first_subset")
        if known is None or known[0] != len(state.assignments):
            table = {code: n for code, n in state.assignments.items() if n < 256}
            if 32 in table:
                table[0xA0] = table[32]  # a no-break space is drawn as a space
            known = state._first_subset = (
                len(state.assignments),
                table,
                frozenset(map(chr, table)),
            )
        if not known[2].issuperset(text):
            return super().splitString(text, doc, encoding)
        return [(0, text.translate(known[1]).encode("latin-1"))] if text else []

    def addObjects(self, doc):
        state = self.state.get(doc)
        if state is None:
            return super().addObjects(doc)
        names = [self.getSubsetInternalName(n, doc)[1:] for n in range(len(state.subsets))]
        super().addObjects(doc)
        for name in names:
            font = doc.idToObject[name]
            key = tuple(font.Widths.sequence)
            written = _WIDTHS.get(key)
            if written is None:
                written = _WIDTHS[key] = font.Widths.format(doc)
            font.Widths = _Formatted(written)
            if doc.compression:
                doc.idToObject[font.ToUnicode.name].filters = [_FLATE]


_REGISTERED = False


def register_fonts() -> None:
    """Once per process: the TrueType family, embedded (subset) in every PDF."""
    global _REGISTERED
    if _REGISTERED:
        return
    for name, path in FONT_FILES.items():
        pdfmetrics.registerFont(_Font(name, path))
    pdfmetrics.registerFontFamily(
        FONT, normal=FONT, bold=FONT_BOLD, italic=FONT_ITALIC, boldItalic=FONT_BOLD_ITALIC
    )
    _REGISTERED = True


def _make_styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=13, alignment=TA_JUSTIFY)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5),
        "right": ParagraphStyle("right", parent=base, alignment=TA_RIGHT),
        "head": ParagraphStyle(
            "head", parent=base, fontName=FONT_BOLD, fontSize=9.5, spaceBefore=6, spaceAfter=2
        ),
        "subject": ParagraphStyle(
            "subject", parent=base, alignment=TA_LEFT, leftIndent=16 * mm, firstLineIndent=-16 * mm
        ),
        "cell": ParagraphStyle("cell", parent=base, alignment=0),
        "sign": ParagraphStyle("sign", parent=base, alignment=1, leading=12),
    }


# Made once: the paragraphs' remembered parses and line breaks are keyed by these objects.
STYLES = _make_styles()


def _styles() -> dict[str, ParagraphStyle]:
    return STYLES


# Parses and line breaks of the paragraphs lately written, by (text, style[, width]): the
# legal notices, the headings, the obligations and the table's labels are the same in every
# letter of a call, and ReportLab's markup parser and line breaker are most of a letter's cost.
_PARSED = _Remembered(512)
_BROKEN = _Remembered(512)


class _Paragraph(Paragraph):
    """A Paragraph that takes its parse and its lines from the last paragraph with the same
    text and style (and width). Only what ReportLab computes from those alone is shared;
    the halves of a split paragraph (made from fragments) are ordinary paragraphs."""

    _key = None

    def __init__(self, text, style=None, bulletText=None, frags=None, **kwargs):
        if frags is not None or text is None or bulletText or kwargs or style is None:
            super().__init__(text, style, bulletText, frags, **kwargs)
            return
        key = (text, style)
        parsed = _PARSED.get(key)
        if parsed is None:
            super().__init__(text, style)
            _PARSED[key] = (self.text, self.frags, self.style, self.bulletText)
        else:
            self.caseSensitive, self.encoding, self.debug = 1, "utf8", 0
            self.text, self.frags, self.style, self.bulletText = parsed
        self._key = key

    def wrap(self, availWidth, availHeight):
        if self._key is None or availWidth < rl_config._FUZZ:
            return super().wrap(availWidth, availHeight)
        key = (*self._key, availWidth)
        broken = _BROKEN.get(key)
        if broken is None:
            result = super().wrap(availWidth, availHeight)
            _BROKEN[key] = (self.blPara, self.height, self._wrapWidths)
            return result
        self.width = availWidth
        self.blPara, self.height, widths = broken
        self._wrapWidths = list(widths)
        return self.width, self.height

    def split(self, availWidth, availHeight):
        # ReportLab's split rewrites the words of the lines it cuts (a trailing space added):
        # a paragraph cut at a page's end is parsed and broken afresh, sharing nothing.
        if self._key is None:
            return super().split(availWidth, availHeight)
        text, style = self._key
        return Paragraph(text, style).split(availWidth, availHeight)


def _p(text: str, style) -> Paragraph:
    """A paragraph of plain text (escaped); **bold** is the only markup this module adds."""
    return _Paragraph(text, style)


def t(value) -> str:
    """Plain text made safe for a Paragraph."""
    return escape(str(value or "")).replace("\n", "<br/>")


@lru_cache(maxsize=1024)
def _number(value: Decimal, pattern: str) -> str:
    return format_decimal(value, format=pattern, locale="it")


def _points(value: str | None) -> str:
    if not value:
        return "—"
    return _number(Decimal(value), "#,##0.00")


def _moment(value: datetime) -> str:
    local = value.astimezone(ROME)
    return f"{on('entro il', local)} alle ore {local:%H:%M}"


# --- the page: letterhead and footer --------------------------------------------------------


def _decorate(data: LetterData):
    stamp = int(data.issued_at.timestamp())

    def first(canvas, doc):
        _fix_dates(canvas, stamp)
        _letterhead(canvas, data)
        _footer(canvas, doc, data)

    def later(canvas, doc):
        _footer(canvas, doc, data)

    return first, later


def _fix_dates(canvas, stamp: int) -> None:
    """The PDF's CreationDate and ModDate are the letter's date, not the moment it was
    drawn: the same letter gives the same bytes."""
    fixed = TimeStamp(invariant=1)
    fixed.t = stamp
    fixed.lt = time.gmtime(stamp)
    fixed.YMDhms = tuple(fixed.lt)[:6]
    canvas._doc._timeStamp = fixed


def _letterhead(canvas, data: LetterData) -> None:
    width, height = A4
    canvas.saveState()
    # The city's red band and name, as the Comune's letterheads have them.
    canvas.setFillColor(colors.HexColor("#B71918"))
    canvas.rect(20 * mm, height - 30 * mm, 3 * mm, 16 * mm, stroke=0, fill=1)
    canvas.setFillColor(colors.black)
    canvas.setFont(FONT_BOLD, 15)
    canvas.drawString(26 * mm, height - 19.5 * mm, data.administration)
    canvas.setFont(FONT, 8.5)
    y = height - 24.5 * mm
    for line in _wrap(data.office, FONT, 8.5, 120 * mm):
        canvas.drawString(26 * mm, y, line)
        y -= 3.6 * mm
    canvas.setFont(FONT, 7.5)
    canvas.setFillColor(colors.HexColor("#444444"))
    contact = data.office_address
    if data.office_pec:
        contact += f" · PEC {data.office_pec}"
    canvas.drawString(26 * mm, y, contact)
    canvas.setStrokeColor(colors.HexColor("#B71918"))
    canvas.setLineWidth(0.6)
    canvas.line(20 * mm, height - 36 * mm, width - 20 * mm, height - 36 * mm)
    canvas.restoreState()


def _footer(canvas, doc, data: LetterData) -> None:
    width, _ = A4
    canvas.saveState()
    canvas.setFont(FONT, 7)
    canvas.setFillColor(colors.HexColor("#555555"))
    canvas.line(20 * mm, 15 * mm, width - 20 * mm, 15 * mm)
    canvas.drawString(20 * mm, 11 * mm, f"{data.administration} — Prot. {data.protocol}")
    canvas.drawRightString(width - 20 * mm, 11 * mm, f"Pagina {doc.page}")
    canvas.restoreState()


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    words, lines, line = (text or "").split(), [], ""
    for word in words:
        candidate = f"{line} {word}".strip()
        if pdfmetrics.stringWidth(candidate, font, size) <= width or not line:
            line = candidate
        else:
            lines.append(line)
            line = word
    return [*lines, line] if line else lines or [""]


# --- the text of each kind ------------------------------------------------------------------


def _opening(data: LetterData) -> str:
    submitted = f" {on('il', data.submitted_at)}" if data.submitted_at else ""
    hood = f", nel quartiere {t(data.neighbourhood)}" if data.neighbourhood else ""
    return (
        f"Con riferimento alla domanda di contributo presentata da codesto Ente{submitted} "
        f"(prot. {t(data.application_protocol)}) nell'ambito dell'avviso pubblico in oggetto, "
        f"per il progetto «{t(data.project_title)}»{hood},"
    )


def _award(data: LetterData, s) -> list:
    advance = advance_cents(data)
    balance = data.amount_cents - advance
    share = _number(Decimal(data.advance_share_bp) / 100, "#,##0.##")
    rows = [
        (
            "Contributo concesso",
            f"<b>{euro(data.amount_cents)}</b> ({amount_in_words(data.amount_cents)})",
        ),
    ]
    if data.requested_cents and data.requested_cents != data.amount_cents:
        rows.append(("Contributo richiesto", euro(data.requested_cents)))
    if data.total_cost_cents:
        rows.append(("Costo totale del progetto", euro(data.total_cost_cents)))
        cof_share = _number(
            Decimal(data.cofinancing_cents) * 100 / Decimal(data.total_cost_cents), "#,##0.#"
        )
        rows.append(
            (
                "Cofinanziamento a carico dell'Ente",
                f"{euro(data.cofinancing_cents)} ({cof_share} % del costo totale)",
            )
        )
    else:
        rows.append(("Cofinanziamento a carico dell'Ente", euro(data.cofinancing_cents)))
    if data.cup:
        rows.append(("CUP", t(data.cup)))
    story = [
        _p(
            f"{_opening(data)} si comunica che, a seguito dell'approvazione della graduatoria, "
            f"il progetto si è collocato in <b>posizione {data.position or '—'}</b> con "
            f"<b>punti {_points(data.points)}</b> su 100 ed è stato ammesso al contributo "
            "nella misura sotto indicata.",
            s["body"],
        ),
        Spacer(1, 2 * mm),
        _table(rows, s),
        _p("Modalità di erogazione", s["head"]),
        _p(
            f"a) <b>anticipo</b> pari al {share} % del contributo, <b>{euro(advance)}</b>, "
            "erogato a seguito dell'accettazione del contributo;<br/>"
            f"b) <b>saldo</b>, fino a <b>{euro(balance)}</b>, erogato dopo l'approvazione della "
            "rendicontazione finale delle attività e delle spese sostenute; il contributo "
            "finale è ridotto in proporzione qualora le spese ammesse risultino inferiori al "
            "costo del progetto, e le somme anticipate in eccedenza sono restituite.<br/>"
            "I pagamenti sono disposti sul conto corrente dedicato indicato dall'Ente "
            "(tracciabilità dei flussi finanziari, L. 136/2010).",
            s["body"],
        ),
        _p("Ritenuta d'acconto", s["head"]),
    ]
    if data.withholding_exempt:
        reason = f": {t(data.withholding_reason)}" if data.withholding_reason else ""
        story.append(
            _p(
                "Sulla base della dichiarazione resa dall'Ente, il contributo non è assoggettato "
                "alla ritenuta d'acconto del 4 % di cui all'art. 28, comma 2, del D.P.R. "
                f"29 settembre 1973, n. 600{reason}. L'Ente è tenuto a comunicare "
                "tempestivamente ogni variazione che faccia venir meno l'esenzione.",
                s["body"],
            )
        )
    else:
        story.append(
            _p(
                "Su ciascuna erogazione il Comune opera la ritenuta d'acconto del 4 % prevista "
                "dall'art. 28, comma 2, del D.P.R. 29 settembre 1973, n. 600 (sull'anticipo: "
                f"{euro(withholding_cents(advance))}, netto erogato "
                f"{euro(advance - withholding_cents(advance))}).",
                s["body"],
            )
        )
    report = (
        f"<b>{on('entro il', data.report_due_on)}</b> ({data.report_due_days} giorni dalla "
        "conclusione del progetto)"
        if data.report_due_on
        else f"entro {data.report_due_days} giorni dalla conclusione del progetto"
    )
    ends = f" entro {on('il', data.project_ends_on)}" if data.project_ends_on else ""
    story += [
        _p("Obblighi del beneficiario", s["head"]),
        _p(
            f"L'Ente si impegna a: realizzare il progetto come presentato{ends}; riportare su "
            "tutti i materiali di comunicazione e promozione la dicitura "
            "<b>«Con il contributo del Comune di Milano»</b>; presentare la rendicontazione "
            "finale (relazione sulle attività svolte, persone raggiunte, spese per categoria "
            f"con i relativi giustificativi) {report}; comunicare senza ritardo ogni "
            "variazione del progetto; conservare la documentazione di spesa per i controlli. "
            "Il mancato rispetto degli obblighi comporta la revoca, totale o parziale, del "
            "contributo e la restituzione delle somme percepite.",
            s["body"],
        ),
        _p("Accettazione", s["head"]),
        _p(
            f"Il contributo è stato accettato dall'Ente {on('il', data.accepted_at)} "
            "dall'area riservata del portale.",
            s["body"],
        )
        if data.accepted_at
        else _p(
            "Il contributo deve essere accettato "
            + (f"<b>{_moment(data.accept_by)}</b>" if data.accept_by else "nel termine indicato")
            + " dall'area riservata del portale («Le mie domande», poi «Esito e contributo»). "
            "La mancata accettazione nel termine equivale a rinuncia: il contributo è "
            "assegnato per scorrimento della graduatoria.",
            s["body"],
        ),
    ]
    return story


def _reserve(data: LetterData, s) -> list:
    place = (
        f" in posizione {data.reserve_position} dell'elenco delle domande in riserva"
        if data.reserve_position
        else " nell'elenco delle domande in riserva"
    )
    reason = f" ({t(data.reason)})" if data.reason else ""
    return [
        _p(
            f"{_opening(data)} si comunica che il progetto si è collocato in posizione "
            f"{data.position or '—'} della graduatoria con punti {_points(data.points)} su 100 "
            "e risulta <b>idoneo ma non finanziato</b> per esaurimento delle risorse "
            f"disponibili{reason}.",
            s["body"],
        ),
        Spacer(1, 2 * mm),
        _p(
            f"Il progetto è inserito{place}: potrà essere finanziato per scorrimento della "
            "graduatoria qualora si rendano disponibili risorse a seguito di rinunce, revoche "
            "o economie. In tal caso l'Ente riceverà la comunicazione di concessione con le "
            "indicazioni per l'accettazione.",
            s["body"],
        ),
    ]


def _not_funded(data: LetterData, s) -> list:
    reason = f": {t(data.reason)}" if data.reason else "."
    return [
        _p(
            f"{_opening(data)} si comunica che il progetto, collocato in posizione "
            f"{data.position or '—'} della graduatoria con punti {_points(data.points)} su 100, "
            f"<b>non è stato ammesso al contributo</b>{reason}",
            s["body"],
        )
    ]


def _not_admissible(data: LetterData, s) -> list:
    return [
        _p(
            f"{_opening(data)} si comunica che, a conclusione dell'istruttoria formale, la "
            "domanda è stata dichiarata <b>non ammissibile</b> per i seguenti motivi:",
            s["body"],
        ),
        Spacer(1, 2 * mm),
        _p(t(data.reason) or "—", s["body"]),
        Spacer(1, 2 * mm),
        _p("La domanda non è pertanto ammessa alla valutazione della commissione.", s["body"]),
    ]


def _rejection_notice(data: LetterData, s) -> list:
    deadline = f"<b>{_moment(data.deadline)}</b>" if data.deadline else "nel termine previsto"
    return [
        _p(
            f"{_opening(data)} ai sensi dell'art. 10-bis della Legge 7 agosto 1990, n. 241, si "
            "comunicano i motivi che ostano all'accoglimento della domanda:",
            s["body"],
        ),
        Spacer(1, 2 * mm),
        _p(t(data.reason) or "—", s["body"]),
        Spacer(1, 2 * mm),
        _p(
            f"L'Ente ha il diritto di presentare per iscritto le proprie osservazioni, "
            f"eventualmente corredate da documenti, {deadline}, dall'area riservata del portale "
            "(«Le mie domande»). La presente comunicazione sospende i termini del "
            "procedimento, che riprendono a decorrere dalla presentazione delle osservazioni o "
            "dalla scadenza del termine. Dell'eventuale mancato accoglimento delle osservazioni "
            "sarà data ragione nel provvedimento finale.",
            s["body"],
        ),
    ]


def _integration_request(data: LetterData, s) -> list:
    deadline = f"<b>{_moment(data.deadline)}</b>" if data.deadline else "nel termine previsto"
    return [
        _p(
            f"{_opening(data)} nel corso dell'istruttoria formale è emersa la necessità di "
            "integrare la documentazione (soccorso istruttorio). Si chiede pertanto di "
            "trasmettere quanto segue:",
            s["body"],
        ),
        Spacer(1, 2 * mm),
        _p(t(data.reason) or "—", s["body"]),
        Spacer(1, 2 * mm),
        _p(
            f"Le integrazioni vanno caricate {deadline} dall'area riservata del portale "
            "(«Le mie domande», poi «Rispondi alla richiesta»); l'integrazione riguarda i soli "
            "documenti e non può modificare la proposta. Decorso inutilmente il termine, la "
            "domanda sarà dichiarata non ammissibile.",
            s["body"],
        ),
    ]


BODIES = {
    "award": _award,
    "reserve": _reserve,
    "not_funded": _not_funded,
    "not_admissible": _not_admissible,
    "rejection_notice": _rejection_notice,
    "integration_request": _integration_request,
}


def _table(rows, s) -> Table:
    table = Table(
        [[_p(label, s["cell"]), _p(value, s["cell"])] for label, value in rows],
        colWidths=[55 * mm, 115 * mm],
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#BBBBBB")),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#F2F2F2")),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _closing(data: LetterData, s) -> list:
    story = [_p("Riferimenti normativi", s["head"])]
    basis = f"{t(data.legal_basis)}; " if data.legal_basis else ""
    story.append(
        _p(
            f"{basis}art. 12 della Legge 7 agosto 1990, n. 241; avviso pubblico «"
            f"{t(data.edition_title)}».",
            s["body"],
        )
    )
    story += [
        _p("Responsabile del procedimento", s["head"]),
        _p(
            f"{t(data.procedure_manager)} — {t(data.office)}"
            + (f", PEC {t(data.office_pec)}" if data.office_pec else "")
            + ". Gli atti del procedimento possono essere visionati ai sensi degli artt. 22 "
            "e seguenti della L. 241/1990.",
            s["body"],
        ),
    ]
    if data.kind in FINAL_KINDS:
        story += [
            _p("Ricorsi", s["head"]),
            _p(
                "Avverso il presente provvedimento è ammesso ricorso giurisdizionale al "
                "Tribunale Amministrativo Regionale per la Lombardia entro 60 giorni dalla "
                "ricezione, oppure ricorso straordinario al Presidente della Repubblica entro "
                "120 giorni (D.Lgs. 2 luglio 2010, n. 104; D.P.R. 24 novembre 1971, n. 1199).",
                s["body"],
            ),
        ]
    if data.kind == "award":
        story += [
            _p("Trasparenza", s["head"]),
            _p(
                "Il contributo è pubblicato nella sezione «Amministrazione trasparente» del "
                "sito istituzionale (artt. 26 e 27 del D.Lgs. 14 marzo 2013, n. 33): "
                "beneficiario e codice fiscale, importo, norma a base dell'attribuzione, "
                "ufficio e responsabile del procedimento, modalità di individuazione del "
                "beneficiario, progetto.",
                s["body"],
            ),
        ]
    privacy = (
        f" L'informativa completa è disponibile su {t(data.privacy_url)}."
        if data.privacy_url
        else ""
    )
    story += [
        _p("Trattamento dei dati personali", s["head"]),
        _p(
            f"I dati personali sono trattati dal {t(data.administration)}, titolare del "
            "trattamento, per le sole finalità del procedimento e nel rispetto del "
            "Regolamento (UE) 2016/679 e del D.Lgs. 30 giugno 2003, n. 196." + privacy,
            s["body"],
        ),
        Spacer(1, 4 * mm),
        _p("Distinti saluti.", s["body"]),
        Spacer(1, 6 * mm),
    ]
    signed = (
        "Documento firmato digitalmente ai sensi del D.Lgs. 7 marzo 2005, n. 82"
        if data.signed
        else "Firma autografa sostituita a mezzo stampa ai sensi dell'art. 3, comma 2, "
        "del D.Lgs. 12 febbraio 1993, n. 39"
    )
    name = f"<br/>{t(data.signatory_name)}" if data.signatory_name else ""
    block = Table(
        [
            [
                _p("", s["cell"]),
                _p(f"{t(data.signatory_role)}{name}<br/><font size='7'>{signed}</font>", s["sign"]),
            ]
        ],
        colWidths=[90 * mm, 80 * mm],
        # Every table names our font: a cell never falls back to Helvetica (not embedded).
        style=[("FONTNAME", (0, 0), (-1, -1), FONT)],
    )
    story.append(KeepTogether([block]))
    return story


def _heading(data: LetterData, s) -> list:
    addressee = (
        f"Spett.le<br/><b>{t(data.organisation_name)}</b><br/>"
        f"c.a. del legale rappresentante {t(data.legal_representative)}<br/>"
        f"{t(data.address)}<br/>Codice fiscale {t(data.tax_code)}<br/>"
        f"PEC: {t(data.pec)}<br/><i>Trasmessa via PEC</i>"
    )
    dated = (
        f"Milano, {day(data.issued_at)}<br/>Prot. n. <b>{t(data.protocol)}</b><br/>"
        f"Rif. domanda prot. {t(data.application_protocol)}"
    )
    table = Table([[_p(dated, s["cell"]), _p(addressee, s["cell"])]], colWidths=[80 * mm, 90 * mm])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("LEFTPADDING", (0, 0), (0, 0), 0),
            ]
        )
    )
    subject = (
        f"<b>Oggetto:</b> {t(data.edition_title)} — {KIND_SUBJECTS[data.kind]}. Progetto "
        f"«{t(data.project_title)}»" + (f". CUP {t(data.cup)}" if data.cup else "") + "."
    )
    return [table, Spacer(1, 6 * mm), _p(subject, s["subject"]), Spacer(1, 4 * mm)]


def story_of(data: LetterData) -> list:
    s = _styles()
    return [*_heading(data, s), *BODIES[data.kind](data, s), *_closing(data, s)]


def render(data: LetterData) -> bytes:
    """The letter as PDF bytes; the same data gives the same bytes."""
    register_fonts()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=42 * mm,
        bottomMargin=22 * mm,
        title=f"Prot. {data.protocol} — {KIND_SUBJECTS[data.kind]}",
        author=f"{data.administration} — {data.office}",
        subject=data.edition_title,
        creator="bando",
        invariant=1,
        # Nothing falls back to a base-14 font (never embedded): the canvas starts in ours.
        initialFontName=FONT,
        initialFontSize=9.5,
    )
    first, later = _decorate(data)
    document.build(story_of(data), onFirstPage=first, onLaterPages=later)
    return buffer.getvalue()
