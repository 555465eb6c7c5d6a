"""Attachments: PDF only, judged by their content, size-limited, stored in the database."""

import hashlib
import logging

from bando.accounts.models import User
from bando.applications.models import Application, Attachment
from bando.core import pdf as core_pdf
from bando.core.extensions import db
from bando.core.operations import OperationError
from bando.core.timeutil import utcnow

# Documents may be added or replaced while these states last.
ATTACHABLE_STATES = ("draft", "integration_requested", "rejection_notified")

# A document an applicant may add besides the ones the call requires.
EXTRA_KINDS = {"altro": "Altro documento"}

DEFAULT_LABELS = {
    "statuto": "Statuto / atto costitutivo",
    "atto_costitutivo": "Atto costitutivo",
    "documento_identita": "Documento d'identità del legale rappresentante",
    "piano_economico": "Piano economico firmato",
}


def _refused(status: int, field: str, message: str, code=None) -> OperationError:
    return OperationError(status, message, {field: [message]}, code=code)


def attachment_kinds(edition) -> dict[str, str]:
    """kind → label: the call's required documents first, then the optional ones."""
    labels = edition.attachment_labels
    kinds = {k: labels.get(k) or DEFAULT_LABELS.get(k) or k for k in edition.required_attachments}
    kinds.update({k: v for k, v in EXTRA_KINDS.items() if k not in kinds})
    return kinds


def next_missing_kind(application) -> str | None:
    """The first document the call requires that the application still lacks, if any."""
    present = {a.kind for a in application.attachments}
    return next((k for k in application.edition.required_attachments if k not in present), None)


def pdf_problem(data: bytes, max_bytes: int) -> str | None:
    """Why these bytes are not an acceptable PDF, in Italian; None when they are. Checked
    by bando.core.pdf within the budget of PDF_CHECK_SECONDS / PDF_CHECK_MEMORY_MB."""
    return core_pdf.pdf_problem(data, max_bytes)


def _clean_filename(filename: str) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable())[:200]
    return name or "documento.pdf"


def store_attachment(
    application: Application, kind: str, filename: str, data: bytes, actor: User, max_bytes: int
) -> Attachment:
    """Adds or replaces (does not commit) the document of that kind."""
    if application.state not in ATTACHABLE_STATES:
        raise _refused(
            409,
            "file",
            "i documenti si possono caricare o sostituire solo in bozza o quando è richiesta "
            "un'integrazione",
            code="not_attachable",
        )
    kinds = attachment_kinds(application.edition)
    if not isinstance(kind, str) or kind not in kinds:
        raise _refused(422, "kind", f"tipo di documento non previsto (ammessi: {', '.join(kinds)})")
    if problem := pdf_problem(data, max_bytes):
        raise _refused(413 if len(data) > max_bytes else 422, "file", problem)
    row = next((a for a in application.attachments if a.kind == kind), None)
    if row is None:
        row = Attachment(kind=kind)
        application.attachments.append(row)
    row.filename = _clean_filename(filename)
    row.content_type = "application/pdf"
    row.size = len(data)
    row.sha256 = hashlib.sha256(data).hexdigest()
    row.data = data
    row.uploaded_by_id = actor.id
    row.uploaded_at = utcnow()
    db.session.flush()
    logging.getLogger(__name__).info(
        "attachment %s of application %s: %s bytes", kind, application.id, row.size
    )
    return row
