"""The letters of a call: which letter each proposal gets, its protocol (given once, gap-free
per call, under the edition's row lock), its data read from the rows when it is issued and
kept as issued, its PDF (signed where a certificate is configured), and all of a call's
letters as a ZIP that streams.

Flush, never commit: the caller commits.
"""

from __future__ import annotations

import gc
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from bando.allocation.operations import latest_decision, write_lock
from bando.applications.models import Application
from bando.budget.models import Award
from bando.core import audit
from bando.core.extensions import db
from bando.core.models import AuditEvent
from bando.core.timeutil import utcnow
from bando.finance import letters, signing
from bando.finance.models import LETTER_KINDS, Letter
from bando.ranking.models import RankingEntry

# The letter a proposal gets now, by its state.
KIND_BY_STATE = {
    "funded": "award",
    "reported": "award",
    "closed": "award",
    "reserve": "reserve",
    "not_funded": "not_funded",
    "ineligible": "not_admissible",
    "rejection_notified": "rejection_notice",
    "integration_requested": "integration_request",
}
KIND_LABELS_IT = {
    "award": "Concessione del contributo",
    "reserve": "Idoneo non finanziato (riserva)",
    "not_funded": "Non finanziato",
    "not_admissible": "Non ammissibile",
    "rejection_notice": "Preavviso di rigetto",
    "integration_request": "Richiesta di integrazione",
}
GC_EVERY = 50
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed: the same letters give the same archive

DEFAULTS = {
    "LETTER_ADMINISTRATION": "Comune di Milano",
    # Empty: the office the call file names ([edition] office).
    "LETTER_OFFICE": "",
    "LETTER_OFFICE_ADDRESS": "Piazza della Scala 2 — 20121 Milano",
    "LETTER_OFFICE_PEC": "",
    "LETTER_SIGNATORY_NAME": "",
    "LETTER_SIGNATORY_ROLE": "Il Direttore di Progetto",
    # Empty: the signatory is the procedure manager.
    "LETTER_PROCEDURE_MANAGER": "",
    "LETTER_PRIVACY_URL": "",
    "LETTER_SIGN_KEY": None,
    "LETTER_SIGN_CERT": None,
    "LETTER_SIGN_KEY_PASSPHRASE": None,
    "LETTER_SIGN_CHAIN": (),
}


def kind_of(application: Application) -> str | None:
    """The letter the proposal's state calls for now (an award only while it is active)."""
    award = application.award
    return _current_kind(application.state, award.state if award is not None else None)


def protocol_of(edition, number: int) -> str:
    """The outgoing protocol: the call's prefix, U (uscita), the number: "CDQ2019/U/0007"."""
    return f"{edition.protocol_prefix}/U/{number:04d}"


def letter_of(application: Application, kind: str) -> Letter | None:
    return db.session.scalar(
        select(Letter).where(Letter.application_id == application.id, Letter.kind == kind)
    )


def letters_of(application: Application) -> list[Letter]:
    return list(
        db.session.scalars(
            select(Letter).where(Letter.application_id == application.id).order_by(Letter.number)
        )
    )


def _next_number(edition_id: int) -> int:
    last = db.session.scalar(select(func.max(Letter.number)).where(Letter.edition_id == edition_id))
    return (last or 0) + 1


def issue(applications: Iterable[Application], actor=None) -> list[Letter]:
    """The letter each application's state calls for, issued once: a protocol given before
    is kept. The numbers are taken under the edition's row lock, so they are gap-free and
    two officers issuing at the same moment never share one. Returns the letters issued now."""
    applications = [a for a in applications if kind_of(a) is not None]
    if not applications:
        return []
    issued = []
    locked = set()
    for application in applications:
        kind = kind_of(application)
        if application.edition_id not in locked:
            write_lock(application.edition)
            locked.add(application.edition_id)
        if letter_of(application, kind) is not None:
            continue
        number = _next_number(application.edition_id)
        letter = Letter(
            application_id=application.id,
            edition_id=application.edition_id,
            kind=kind,
            number=number,
            protocol=protocol_of(application.edition, number),
            issued_at=utcnow(),
        )
        letter.content = letters.as_record(letter_data(letter))
        db.session.add(letter)
        db.session.flush()
        audit.append(
            subject="letter",
            trigger="issue_letter",
            actor=actor,
            application_id=application.id,
            edition_id=application.edition_id,
            reason=KIND_LABELS_IT[kind],
            payload={"kind": kind, "protocol": letter.protocol},
            at=letter.issued_at,
        )
        issued.append(letter)
    return issued


def edition_applications(edition) -> list[Application]:
    """The proposals of the call that have a letter to get, in protocol order."""
    rows = db.session.scalars(
        select(Application)
        .where(Application.edition_id == edition.id, Application.state.in_(KIND_BY_STATE))
        .order_by(Application.protocol_number, Application.id)
    )
    return [a for a in rows if kind_of(a) is not None]


def edition_rows(edition) -> list[tuple[Application, str, Letter | None]]:
    """Each proposal of the call with the letter its state calls for, and that letter once
    issued (None before): finance's list, on the page and through the API."""
    issued = {
        (letter.application_id, letter.kind): letter
        for letter in db.session.scalars(select(Letter).where(Letter.edition_id == edition.id))
    }
    rows = []
    for application in edition_applications(edition):
        kind = kind_of(application)
        rows.append((application, kind, issued.get((application.id, kind))))
    return rows


def issue_edition(edition, actor=None) -> list[Letter]:
    """The call's missing letters. Run expire_due_in(edition) before, in a transaction of
    its own (its audit lock would come before the call's), so that the letters due are
    those of the states as they stand."""
    return issue(edition_applications(edition), actor)


def _current_kind(state: str, award_state: str | None) -> str | None:
    kind = KIND_BY_STATE.get(state)
    return None if kind == "award" and award_state != "active" else kind


def edition_letter_ids(edition) -> list[int]:
    """The ids of the letters each proposal of the call has now, in protocol order (plain
    tuples: no row objects, whatever the number of letters)."""
    rows = db.session.execute(
        select(Letter.id, Letter.kind, Application.state, Award.state)
        .join(Application, Application.id == Letter.application_id)
        .outerjoin(Award, Award.application_id == Application.id)
        .where(Letter.edition_id == edition.id)
        .order_by(Letter.number)
    ).all()
    return [
        letter_id for letter_id, kind, state, award in rows if _current_kind(state, award) == kind
    ]


# --- the data of a letter -------------------------------------------------------------------


def _ineligible_reason(application: Application) -> str:
    return (
        db.session.scalar(
            select(AuditEvent.reason)
            .where(AuditEvent.application_id == application.id)
            .where(AuditEvent.to_state == "ineligible")
            .order_by(AuditEvent.id.desc())
            .limit(1)
        )
        or ""
    )


def report_due_on(application: Application):
    """The last day to file the final report: the call's report_due_days after the
    project's end (the proposal's end date, or the call's window's end)."""
    end = application.end_date or application.edition.project_ends_on
    return None if end is None else end + timedelta(days=application.edition.report_due_days)


def _letter_rows(letter: Letter) -> tuple[Application, RankingEntry | None]:
    """The proposal with its call, neighbourhood, organisation, award and budget lines, and
    its ranking entry, in one statement, not one lazy load each (a ZIP makes thousands of
    letters, and the session's identity map holds the call only while a letter does)."""
    return (
        db.session.execute(
            select(Application, RankingEntry)
            .outerjoin(
                RankingEntry,
                (RankingEntry.application_id == Application.id)
                & (RankingEntry.edition_id == Application.edition_id),
            )
            .where(Application.id == letter.application_id)
            .options(
                joinedload(Application.edition),
                joinedload(Application.neighbourhood),
                joinedload(Application.organisation),
                joinedload(Application.award),
                joinedload(Application.budget_lines),
            )
        )
        .unique()
        .one()
    )


def letter_data(letter: Letter, config=None) -> letters.LetterData:
    config = config if config is not None else current_app.config
    setting = {k: config.get(k, v) for k, v in DEFAULTS.items()}
    application, entry = _letter_rows(letter)
    edition, org = application.edition, application.organisation
    award = application.award
    kind = letter.kind
    fields = {}
    if kind in ("award", "reserve", "not_funded"):
        fields.update(
            position=entry.position if entry else None, points=entry.total if entry else None
        )
    if kind == "award" and award is not None:
        fields.update(
            amount_cents=award.amount_cents,
            requested_cents=application.requested_cents,
            cofinancing_cents=application.cofinancing_cents,
            total_cost_cents=application.total_cost_cents,
            advance_share_bp=edition.advance_share_bp,
            withholding_exempt=bool(org.withholding_exempt),
            withholding_reason=org.withholding_reason or "",
            accept_by=award.accept_by,
            # Only an acceptance the letter could know of (a letter read from the rows was
            # issued before its content was kept).
            accepted_at=award.accepted_at
            if award.accepted_at and award.accepted_at <= letter.issued_at
            else None,
            project_ends_on=application.end_date or edition.project_ends_on,
            report_due_on=report_due_on(application),
            report_due_days=edition.report_due_days,
        )
    if kind in ("reserve", "not_funded"):
        decision = latest_decision(application)
        if decision is not None:
            fields.update(reason=decision.reason_text, reserve_position=decision.reserve_position)
    if kind == "not_admissible":
        fields["reason"] = _ineligible_reason(application)
    if kind == "rejection_notice":
        fields.update(reason=application.notice_reasons, deadline=application.notice_deadline)
    if kind == "integration_request":
        fields.update(
            reason=application.integration_request, deadline=application.integration_deadline
        )
    office = setting["LETTER_OFFICE"] or edition.office or "Comune di Milano"
    role, name = setting["LETTER_SIGNATORY_ROLE"], setting["LETTER_SIGNATORY_NAME"]
    manager = setting["LETTER_PROCEDURE_MANAGER"] or " ".join(x for x in (role, name) if x)
    return letters.LetterData(
        kind=kind,
        protocol=letter.protocol,
        issued_at=letter.issued_at,
        administration=setting["LETTER_ADMINISTRATION"],
        office=office,
        office_address=setting["LETTER_OFFICE_ADDRESS"],
        office_pec=setting["LETTER_OFFICE_PEC"],
        signatory_name=name,
        signatory_role=role,
        procedure_manager=manager,
        edition_title=edition.title,
        legal_basis=edition.legal_basis or "",
        application_protocol=application.protocol or "",
        submitted_at=application.submitted_at,
        project_title=application.title or "",
        neighbourhood=application.neighbourhood.name if application.neighbourhood else "",
        organisation_name=org.name,
        tax_code=org.tax_code,
        address=org.address,
        pec=org.pec,
        legal_representative=org.legal_representative,
        cup=application.cup or (edition.source or {}).get("edition", {}).get("cup"),
        signed=signing.configured(config),
        privacy_url=setting["LETTER_PRIVACY_URL"],
        **fields,
    )


def letter_pdf(letter: Letter, config=None) -> bytes:
    """The letter's PDF, as it was issued: the same bytes every time while the signing
    configuration stays (a signature carries its own time)."""
    config = config if config is not None else current_app.config
    data = (
        letters.from_record(letter.content)
        if letter.content is not None
        else letter_data(letter, config)  # issued before the content was kept
    )
    # The signature block says how this copy is signed: by the certificate configured now.
    data = replace(data, signed=signing.configured(config))
    pdf = letters.render(data)
    if data.signed:
        pdf = signing.sign(
            pdf, config, reason=f"Prot. {data.protocol} — {letters.KIND_SUBJECTS[data.kind]}"
        )
    return pdf


def letter_filename(letter: Letter) -> str:
    return f"{letter.kind}-{letter.protocol.replace('/', '-')}.pdf"


# --- all the letters as one ZIP, streamed ---------------------------------------------------


class _Sink:
    """A write-only file for zipfile that hands over what it got: the archive leaves in
    pieces, one per letter, and never sits whole in memory. No seek(): zipfile then writes
    each entry's sizes after its data (data descriptors)."""

    def __init__(self):
        self.chunks: list[bytes] = []
        self.position = 0

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        out, self.chunks = b"".join(self.chunks), []
        return out


def zip_stream(entries: Iterable[tuple[str, bytes]]) -> Iterator[bytes]:
    """A ZIP of (name, content) pairs as a stream of chunks; the entries are taken one at
    a time, so memory holds one letter, not the archive."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
            yield sink.drain()
    yield sink.drain()


def edition_entries(letter_ids: list[int], config=None) -> Iterator[tuple[str, bytes]]:
    """(file name, PDF) of each letter, read one by one: the session's identity map holds
    its rows weakly, so the letters already written are let go of. A ReportLab document is
    a web of cycles that only a full collection frees: one every GC_EVERY letters keeps
    that garbage bounded whatever the number of letters (it costs about one letter)."""
    for done, letter_id in enumerate(letter_ids, 1):
        letter = db.session.get(Letter, letter_id)
        pdf = letter_pdf(letter, config)
        yield letter_filename(letter), pdf
        if done % GC_EVERY == 0:
            gc.collect()


def edition_zip(edition, config=None) -> Iterator[bytes]:
    """The ZIP of the call's letters (issue them first: issue_edition, then commit)."""
    return zip_stream(edition_entries(edition_letter_ids(edition), config))


assert set(KIND_LABELS_IT) == set(LETTER_KINDS)
