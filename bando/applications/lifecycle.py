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

from sqlalchemy import select

from bando.accounts.models import User
from bando.applications.facts import submission_problems
from bando.applications.models import Application
from bando.applications.notifications import queue_notifications
from bando.calls.lifecycle import lock_edition
from bando.core import audit
from bando.core.extensions import db
from bando.core.models import AuditEvent
from bando.core.tick import tick_job
from bando.core.timeutil import ROME, to_rome, utcnow
from bando.core.transitions import ConcurrentChange, TransitionRefused, flush_or_conflict
from workflows import application as application_machine
from workflows.machine import Refused


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
        edition = lock_edition(application.edition_id)
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
    flush_or_conflict()

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
    queue_notifications(application, trigger, reason, now)
    return event


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


@tick_job(20)
def expire_overdue_integrations(now: datetime) -> list[str]:
    """Requests for documents past their deadline: the application becomes ineligible.
    Each change is its own transaction, committed here."""
    done = []
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
    return done
