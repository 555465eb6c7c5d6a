"""The one entry point that changes an application's (or an edition's) state.

`fire(application, trigger, actor, reason)` builds the facts from the rows, asks the
machine of workflows/application.py, and on success — in the current database
transaction — applies the side effects of the trigger (protocol number, integration
deadline…), writes the audit event and queues the notifications.

Transactions: fire() and fire_edition() flush but never commit; the caller commits (or
rolls back) the whole unit of work, so a change and everything that goes with it (award
rows, audit event, notifications) land together or not at all. A refusal writes nothing.

Concurrency:
- submit locks the edition row (SELECT … FOR UPDATE on PostgreSQL; SQLite serialises
  writers) before bumping Edition.protocol_counter: protocol numbers are unique and
  gap-free, since a rolled-back submission rolls its number back too.
- Application has a version column: a change based on a stale read fails at flush
  and becomes ConcurrentChange (HTTP 409), after a rollback, with nothing written.
- Locks are always taken in the same order — edition, application, audit head — so two
  transactions never wait on each other in a circle.

`actor=None` is the system (the scheduled `bando tick`).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from workflows import application as application_machine
from workflows import edition as edition_machine
from workflows.machine import Refusal, Refused

from . import audit
from .extensions import db
from .models import Application, AuditEvent, Edition, Notification, User
from .submission import submission_problems
from .timeutil import ROME, to_rome, utcnow


class TransitionRefused(Exception):
    """A trigger that may not fire: `reason` in Italian, `code` for programs."""

    def __init__(self, reason: str, code: str = "refused", refusals=()):
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.refusals = list(refusals) or [Refusal(code, reason)]


class ConcurrentChange(TransitionRefused):
    """Someone else changed the same row first; the session has been rolled back."""

    def __init__(self):
        super().__init__(
            "la domanda è stata modificata da un'altra operazione nello stesso momento: "
            "ricarica la pagina e riprova",
            "concurrent_update",
        )


def integration_deadline(now: datetime, days: int) -> datetime:
    """The last second of the `days`-th day after the request, in Europe/Rome.

    A request made on 15/03 with 10 days is answered until 25/03 at 23:59:59 (Rome
    wall time, whatever the daylight-saving change in between), then it expires.
    """
    last_day = to_rome(now).date() + timedelta(days=days)
    return datetime.combine(last_day, time(23, 59, 59), tzinfo=ROME)


def _is_owner(application: Application, actor) -> bool:
    return (
        actor is not None
        and actor.role == "applicant"
        and actor.organisation_id is not None
        and actor.organisation_id == application.organisation_id
    )


def application_facts(
    application: Application, trigger: str, actor, reason: str = "", *, now: datetime
) -> application_machine.Facts:
    """What the guards see, read from the rows."""
    edition = application.edition
    return application_machine.Facts(
        now=now,
        actor_role=None if actor is None else actor.role,
        is_owner=_is_owner(application, actor),
        reason=reason,
        edition_state=edition.state,
        opens_at=edition.opens_at,
        closes_at=edition.closes_at,
        integration_deadline=application.integration_deadline,
        # Only submit looks at completeness; the check reads attachments, so skip it otherwise.
        submission_problems=tuple(submission_problems(application)) if trigger == "submit" else (),
    )


def check(application: Application, trigger: str, actor, reason: str = "", *, now=None):
    """The refusals `fire` would give, without changing anything (for showing buttons)."""
    now = now or utcnow()
    facts = application_facts(application, trigger, actor, reason, now=now)
    return application_machine.check(application.state, trigger, facts)


def _lock_edition(edition_id: int) -> Edition:
    return db.session.scalar(
        select(Edition)
        .where(Edition.id == edition_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _flush_or_conflict() -> None:
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise ConcurrentChange() from None


def fire(
    application: Application,
    trigger: str,
    actor: User | None,
    reason: str = "",
    payload: dict | None = None,
    *,
    now: datetime | None = None,
) -> AuditEvent:
    """Moves the application by `trigger`, or raises TransitionRefused having written nothing.

    Flushes, does not commit: the caller commits.
    """
    now = now or utcnow()
    reason = (reason or "").strip()
    edition = application.edition
    if trigger == "submit":
        # Under the lock, the edition's state and counter are the committed ones.
        edition = _lock_edition(application.edition_id)
    facts = application_facts(application, trigger, actor, reason, now=now)
    try:
        dest = application_machine.advance(application.state, trigger, facts)
    except Refused as refused:
        raise TransitionRefused(refused.reason, refused.code, refused.refusals) from None

    from_state = application.state
    details = dict(payload or {})
    if trigger == "submit":
        edition.protocol_counter += 1
        application.protocol_number = edition.protocol_counter
        application.protocol = f"{edition.protocol_prefix}/{edition.protocol_counter:04d}"
        application.submitted_at = now
        details["protocol"] = application.protocol
    elif trigger == "request_integration":
        application.integration_deadline = integration_deadline(now, edition.integration_days)
        application.integration_request = reason
        details["integration_deadline"] = application.integration_deadline.isoformat()
    application.state = dest
    _flush_or_conflict()

    event = audit.append(
        subject="application",
        trigger=trigger,
        actor=actor,
        application_id=application.id,
        edition_id=application.edition_id,
        from_state=from_state,
        to_state=dest,
        reason=reason,
        payload=details,
        at=now,
    )
    _queue_notifications(application, trigger, reason, now)
    return event


def fire_edition(
    edition: Edition,
    trigger: str,
    actor: User | None,
    reason: str = "",
    payload: dict | None = None,
    *,
    now: datetime | None = None,
) -> AuditEvent:
    """Moves the edition by `trigger` (open, close, rank, allocate, archive). Flushes only."""
    now = now or utcnow()
    reason = (reason or "").strip()
    locked = _lock_edition(edition.id)
    unscored = 0
    if trigger == "rank":
        unscored = db.session.scalar(
            select(func.count(Application.id)).where(
                Application.edition_id == edition.id, Application.state == "eligible"
            )
        )
    facts = edition_machine.Facts(
        now=now,
        actor_role=None if actor is None else actor.role,
        reason=reason,
        opens_at=locked.opens_at,
        closes_at=locked.closes_at,
        unscored_eligible=unscored,
    )
    try:
        dest = edition_machine.advance(locked.state, trigger, facts)
    except Refused as refused:
        raise TransitionRefused(refused.reason, refused.code, refused.refusals) from None
    from_state = locked.state
    locked.state = dest
    _flush_or_conflict()
    return audit.append(
        subject="edition",
        trigger=trigger,
        actor=actor,
        edition_id=locked.id,
        from_state=from_state,
        to_state=dest,
        reason=reason,
        payload=payload,
        at=now,
    )


def expire_if_overdue(application: Application, *, now: datetime | None = None):
    """Lazy expiry: an unanswered request for documents past its deadline makes the
    application ineligible. Call it when loading an application to show or act on it,
    then commit. Returns the audit event, or None when nothing was due."""
    now = now or utcnow()
    deadline = application.integration_deadline
    if application.state != "integration_requested" or deadline is None or now < deadline:
        return None
    reason = (
        "integrazione non pervenuta entro il termine "
        f"({application_machine.rome(deadline)}): domanda non ammissibile"
    )
    try:
        return fire(application, "expire_integration", None, reason, now=now)
    except ConcurrentChange:
        return None  # another request expired it a moment ago


def open_if_due(edition: Edition, *, now: datetime | None = None):
    """A call loaded before its opening opens when opens_at comes (lazily, when someone
    starts a proposal, and through the tick). Flushes only; returns the event or None."""
    now = now or utcnow()
    if edition.state != "draft" or not edition.opens_at <= now < edition.closes_at:
        return None
    try:
        return fire_edition(edition, "open", None, "data di apertura del bando", now=now)
    except ConcurrentChange:
        return None  # opened by another request a moment ago


def tick(now: datetime | None = None) -> list[str]:
    """For cron: opens calls whose opens_at has come, expires overdue requests for
    documents and closes calls past closes_at. Each change is its own transaction,
    committed here. Returns what was done."""
    now = now or utcnow()
    done = []
    due = db.session.scalars(
        select(Edition.id)
        .where(Edition.state == "draft", Edition.opens_at <= now, Edition.closes_at > now)
        .order_by(Edition.id)
    ).all()
    for edition_id in due:
        edition = db.session.get(Edition, edition_id)
        if open_if_due(edition, now=now) is not None:
            done.append(f"edition {edition.code}: opened")
        db.session.commit()
    overdue = db.session.scalars(
        select(Application.id)
        .where(
            Application.state == "integration_requested",
            Application.integration_deadline <= now,
        )
        .order_by(Application.id)
    ).all()
    for application_id in overdue:
        application = db.session.get(Application, application_id)
        try:
            event = expire_if_overdue(application, now=now)
            db.session.commit()
        except TransitionRefused as refused:
            db.session.rollback()
            done.append(f"skipped application {application_id}: {refused.reason}")
            continue
        if event is not None:
            done.append(f"application {application.protocol}: integration expired, ineligible")
    past = db.session.scalars(
        select(Edition.id)
        .where(Edition.state == "open", Edition.closes_at <= now)
        .order_by(Edition.id)
    ).all()
    for edition_id in past:
        edition = db.session.get(Edition, edition_id)
        try:
            fire_edition(edition, "close", None, "termine per le domande scaduto", now=now)
            db.session.commit()
        except TransitionRefused as refused:
            db.session.rollback()
            done.append(f"skipped edition {edition_id}: {refused.reason}")
            continue
        done.append(f"edition {edition.code}: closed")
    return done


# --- notifications ----------------------------------------------------------------------

NOTICES = {
    "submit": (
        "Domanda presentata — protocollo {protocol}",
        "La domanda «{title}» per il {edition} è stata presentata il {when} "
        "con numero di protocollo {protocol}.",
    ),
    "request_integration": (
        "Richiesta di integrazione — domanda {protocol}",
        "Per la domanda «{title}» (protocollo {protocol}) l'ufficio chiede di integrare "
        "la documentazione:\n\n{reason}\n\nL'integrazione va inviata entro il {deadline}; "
        "in mancanza la domanda non sarà ammissibile.",
    ),
    "integrate": (
        "Integrazione ricevuta — domanda {protocol}",
        "L'integrazione della domanda «{title}» (protocollo {protocol}) è stata ricevuta "
        "il {when}.",
    ),
    "declare_eligible": (
        "Domanda ammissibile — protocollo {protocol}",
        "La domanda «{title}» (protocollo {protocol}) è ammissibile e passa alla "
        "valutazione della commissione.",
    ),
    "declare_ineligible": (
        "Domanda non ammissibile — protocollo {protocol}",
        "La domanda «{title}» (protocollo {protocol}) non è ammissibile.\n\nMotivazione: {reason}",
    ),
    "expire_integration": (
        "Domanda non ammissibile — protocollo {protocol}",
        "L'integrazione richiesta per la domanda «{title}» (protocollo {protocol}) non è "
        "pervenuta entro il termine: la domanda non è ammissibile.",
    ),
    "allocate_funded": (
        "Domanda finanziata — protocollo {protocol}",
        "La domanda «{title}» (protocollo {protocol}) è stata ammessa al contributo.",
    ),
    "fund": (
        "Domanda finanziata per scorrimento — protocollo {protocol}",
        "Per scorrimento della graduatoria la domanda «{title}» (protocollo {protocol}) "
        "è stata ammessa al contributo.",
    ),
    "allocate_reserve": (
        "Domanda in riserva — protocollo {protocol}",
        "La domanda «{title}» (protocollo {protocol}) è idonea ma non finanziata per "
        "esaurimento dei fondi: resta in graduatoria di riserva.",
    ),
    "allocate_not_funded": (
        "Domanda non finanziata — protocollo {protocol}",
        "La domanda «{title}» (protocollo {protocol}) non è stata ammessa al contributo.",
    ),
    "revoke": (
        "Revoca del contributo — protocollo {protocol}",
        "Il contributo per la domanda «{title}» (protocollo {protocol}) è revocato.\n\n"
        "Motivazione: {reason}",
    ),
    "approve_report": (
        "Rendicontazione approvata — protocollo {protocol}",
        "La rendicontazione della domanda «{title}» (protocollo {protocol}) è approvata.",
    ),
}


def recipients(application: Application) -> list[str]:
    """The organisation's PEC and its active users' addresses, each once."""
    organisation = application.organisation
    addresses = [organisation.pec] + [u.email for u in organisation.users if u.active]
    seen, result = set(), []
    for address in addresses:
        if address and address.lower() not in seen:
            seen.add(address.lower())
            result.append(address)
    return result


def _queue_notifications(application: Application, trigger: str, reason: str, now) -> None:
    notice = NOTICES.get(trigger)
    if notice is None:
        return
    deadline = application.integration_deadline
    values = {
        "protocol": application.protocol or "—",
        "title": application.title or "senza titolo",
        "edition": application.edition.title,
        "when": application_machine.rome(now),
        "deadline": application_machine.rome(deadline) if deadline else "—",
        "reason": reason,
    }
    subject, body = (part.format(**values) for part in notice)
    for address in recipients(application):
        db.session.add(
            Notification(
                to_address=address, subject=subject, body=body, application_id=application.id
            )
        )
    db.session.flush()
