"""The letters through the API: one letter as PDF (finance; the organisation for its own
letters once issued), and every letter of a call as one ZIP that streams (finance)."""

from flask import Response, current_app, stream_with_context

from bando.applications import rules
from bando.applications.models import Application
from bando.calls.api import edition_or_404
from bando.core.api import ApiError, endpoint
from bando.core.extensions import db
from bando.core.operations import commit
from bando.finance import operations
from bando.finance.models import LETTER_KINDS
from bando.finance.schemas import EditionLetters

PDF = {"application/pdf": {}}
ZIP = {"application/zip": {}}


def letter_for(user, application_id, kind: str | None):
    """The letter this user may read, issuing it for finance when the proposal's state
    calls for it; None when there is none to read. Someone else's is None too (→ 404)."""
    if kind is not None and kind not in LETTER_KINDS:
        return None
    try:
        application_id = int(application_id)
    except (TypeError, ValueError):
        return None
    if not 0 < application_id < 2**31:
        return None
    application = db.session.get(Application, application_id)
    if application is None:
        return None
    if getattr(user, "role", None) == "finance":
        if application.state == "draft":
            return None
        kind = kind or operations.kind_of(application)
        if kind is None:
            return None
        if (
            operations.letter_of(application, kind) is None
            and operations.kind_of(application) == kind
        ):
            operations.issue([application], user)
            commit()
        return operations.letter_of(application, kind)
    if not rules.is_member(user, application):
        return None
    if kind is None:  # the latest letter issued to the organisation
        issued = operations.letters_of(application)
        return issued[-1] if issued else None
    return operations.letter_of(application, kind)


def pdf_response(letter) -> Response:
    return Response(
        operations.letter_pdf(letter, current_app.config),
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{operations.letter_filename(letter)}"'
        },
    )


@endpoint(
    "GET",
    "/applications/<int:application_id>/letters/<kind>.pdf",
    summary="A letter of the application as PDF (kind: award, reserve, not_funded, "
    "not_admissible, rejection_notice, integration_request); finance issues it when the "
    "proposal's state calls for it, the organisation reads the letters issued to it",
    tag="letters",
    roles=("finance", "applicant"),
    ok=(200, "the letter", PDF),
)
def application_letter(user, application_id, kind):
    letter = letter_for(user, application_id, kind)
    if letter is None:
        raise ApiError(404, "letter not found")
    return pdf_response(letter)


@endpoint(
    "GET",
    "/applications/<int:application_id>/letter.pdf",
    summary="The application's letter as PDF: the one its state calls for (finance), or the "
    "latest issued to the organisation",
    tag="letters",
    roles=("finance", "applicant"),
    ok=(200, "the letter", PDF),
)
def application_current_letter(user, application_id):
    letter = letter_for(user, application_id, None)
    if letter is None:
        raise ApiError(404, "letter not found")
    return pdf_response(letter)


@endpoint(
    "GET",
    "/editions/<code>/letters.zip",
    summary="Every letter of the call in one ZIP (the letters missing are issued first, "
    "their protocols given once); streamed, one letter at a time",
    tag="letters",
    roles=("finance",),
    ok=(200, "the ZIP of the letters", ZIP),
    errors={409: "no proposal of the call has a letter to get yet"},
)
def edition_letters_zip(user, code):
    edition = edition_or_404(code)
    operations.issue_edition(edition, user)
    commit()
    ids = operations.edition_letter_ids(edition)
    if not ids:
        raise ApiError(409, "nessuna domanda di questo bando ha ancora una lettera da ricevere")
    config = current_app.config
    return Response(
        stream_with_context(operations.zip_stream(operations.edition_entries(ids, config))),
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="lettere-{edition.code}.zip"'},
    )


def edition_letters(edition, issued_now: int = 0) -> EditionLetters:
    rows = operations.edition_rows(edition)
    return EditionLetters.of(
        {
            "edition": edition.code,
            "issued_now": issued_now,
            "missing": sum(1 for *_, letter in rows if letter is None),
            "letters": [
                {
                    "application_id": application.id,
                    "application_protocol": application.protocol,
                    "organisation": application.organisation.name,
                    "kind": kind,
                    "protocol": letter.protocol if letter else None,
                    "issued_at": letter.issued_at if letter else None,
                }
                for application, kind, letter in rows
            ],
        }
    )


@endpoint(
    "GET",
    "/editions/<code>/letters",
    summary="The letter each proposal of the call gets and its protocol once issued "
    "(reading issues nothing)",
    tag="letters",
    roles=("finance",),
    ok=(200, "the letters of the call", EditionLetters),
)
def list_edition_letters(user, code):
    return edition_letters(edition_or_404(code))


@endpoint(
    "POST",
    "/editions/<code>/letters",
    summary="Issue the letters still missing, each with its protocol (gap-free, given once: "
    "a second call issues nothing)",
    tag="letters",
    roles=("finance",),
    ok=(200, "the letters of the call, with how many were issued now", EditionLetters),
)
def issue_edition_letters(user, code):
    edition = edition_or_404(code)
    issued = operations.issue_edition(edition, user)
    commit()
    return edition_letters(edition, len(issued))
