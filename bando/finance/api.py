"""The letters through the API: one letter as PDF (finance; the organisation for its own
letters once issued), and every letter of a call as one ZIP that streams (finance).

Reading never issues: a letter gets its outgoing protocol only from the POST that issues
the call's missing letters (a GET, a link followed or prefetched, changes nothing)."""

from flask import Response, current_app, stream_with_context

from bando.applications import rules
from bando.applications.models import Application
from bando.applications.operations import expire_due_in, expire_if_due
from bando.calls.api import edition_or_404
from bando.core.api import ApiError, endpoint
from bando.core.downloads import download
from bando.core.extensions import db
from bando.core.operations import commit
from bando.core.types import row_id
from bando.finance import operations
from bando.finance.models import LETTER_KINDS
from bando.finance.schemas import EditionLetters

PDF = {"application/pdf": {}}
ZIP = {"application/zip": {}}


class LetterNotIssued(Exception):
    """Finance asked for the letter the proposal's state calls for, before it was issued."""

    def __init__(self, edition_code: str):
        super().__init__(edition_code)
        self.edition_code = edition_code


def letter_for(user, application_id, kind: str | None):
    """The letter this user may read; None when there is none to read. Someone else's is
    None too (→ 404). LetterNotIssued when finance asks for the letter the proposal's state
    calls for and it has no protocol yet."""
    if kind is not None and kind not in LETTER_KINDS:
        return None
    try:
        application_id = int(application_id)
    except (TypeError, ValueError):
        return None
    if not row_id(application_id):
        return None
    application = db.session.get(Application, application_id)
    if application is None:
        return None
    if getattr(user, "role", None) == "finance":
        if application.state == "draft":
            return None
        if expire_if_due(application):
            commit()
        due = operations.kind_of(application)
        kind = kind or due
        if kind is None:
            return None
        letter = operations.letter_of(application, kind)
        if letter is None and kind == due:
            raise LetterNotIssued(application.edition.code)
        return letter
    if not rules.is_member(user, application):
        return None
    if kind is None:  # the latest letter issued to the organisation
        issued = operations.letters_of(application)
        return issued[-1] if issued else None
    return operations.letter_of(application, kind)


def not_issued(error: LetterNotIssued) -> ApiError:
    return ApiError(
        409,
        "lettera non ancora emessa: la emette, con il suo protocollo, "
        f"POST /api/v1/editions/{error.edition_code}/letters",
        refusal="letter_not_issued",
    )


def pdf_response(letter) -> Response:
    return download(
        operations.letter_pdf(letter, current_app.config),
        "application/pdf",
        operations.letter_filename(letter),
    )


@endpoint(
    "GET",
    "/applications/<int:application_id>/letters/<kind>.pdf",
    summary="A letter of the application as PDF (kind: award, reserve, not_funded, "
    "not_admissible, rejection_notice, integration_request), once issued: finance reads "
    "every one, the organisation those issued to it",
    tag="letters",
    roles=("finance", "applicant"),
    ok=(200, "the letter", PDF),
    errors={409: "the letter the proposal's state calls for is not issued yet"},
)
def application_letter(user, application_id, kind):
    try:
        letter = letter_for(user, application_id, kind)
    except LetterNotIssued as error:
        raise not_issued(error) from None
    if letter is None:
        raise ApiError(404, "letter not found")
    return pdf_response(letter)


@endpoint(
    "GET",
    "/applications/<int:application_id>/letter.pdf",
    summary="The application's letter as PDF: the one its state calls for, once issued "
    "(finance), or the latest issued to the organisation",
    tag="letters",
    roles=("finance", "applicant"),
    ok=(200, "the letter", PDF),
    errors={409: "the letter the proposal's state calls for is not issued yet"},
)
def application_current_letter(user, application_id):
    try:
        letter = letter_for(user, application_id, None)
    except LetterNotIssued as error:
        raise not_issued(error) from None
    if letter is None:
        raise ApiError(404, "letter not found")
    return pdf_response(letter)


@endpoint(
    "GET",
    "/editions/<code>/letters.zip",
    summary="Every letter issued for the call in one ZIP, streamed one letter at a time "
    "(GET /editions/{code}/letters counts those still missing, POST issues them)",
    tag="letters",
    roles=("finance",),
    ok=(200, "the ZIP of the letters", ZIP),
    errors={409: "no letter of the call is issued yet"},
)
def edition_letters_zip(user, code):
    edition = edition_or_404(code)
    expire_due_in(edition)
    ids = operations.edition_letter_ids(edition)
    if not ids:
        raise ApiError(
            409,
            "nessuna lettera di questo bando è ancora emessa: le emette "
            f"POST /api/v1/editions/{edition.code}/letters",
            refusal="no_letters_issued",
        )
    config = current_app.config
    return download(
        stream_with_context(operations.zip_stream(operations.edition_entries(ids, config))),
        "application/zip",
        f"lettere-{edition.code}.zip",
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
    edition = edition_or_404(code)
    expire_due_in(edition)
    return edition_letters(edition)


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
    expire_due_in(edition)
    issued = operations.issue_edition(edition, user)
    commit()
    return edition_letters(edition, len(issued))
