"""The one entry point that changes an application's state: `fire(application, trigger,
actor, reason)`.

It reads the facts from the rows and lets the Machine of workflows/application.py decide
and move the row; the side effects of a trigger (the protocol number, the integration
deadline, the notifications) are the Machine's callbacks registered below with
`effect`. Then it writes the audit event.

Transactions: fire() flushes but never commits; the caller commits (or rolls back) the
whole unit of work, so a change and everything that goes with it (audit event,
notifications) land together or not at all. A refusal writes nothing.

Concurrency:
- every row the guards and the effects read is read first (the facts, as plain queries,
  and who is told), and the checks run, before any lock is taken;
- then the protocol effect takes the edition's row lock with the one UPDATE that bumps
  Edition.protocol_counter (re-checking there that the call is open and its deadline not
  passed): protocol numbers are unique and gap-free, since a rolled-back submission rolls
  its number back too. From that UPDATE to the commit the transaction only writes: the
  application, its notifications, the audit event. Submissions to one call queue on that
  short span only.
- Application has a version column: a change based on a stale read fails at flush and
  becomes ConcurrentChange (HTTP 409), after a rollback, with nothing written.
- Locks are always taken in the same order — edition, application, audit head — so two
  transactions never wait on each other in a circle.

`actor=None` is the system (the scheduled `bando tick`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta

from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.orm.attributes import set_committed_value

from bando.accounts.models import User
from bando.applications.facts import application_facts
from bando.applications.models import Application
from bando.applications.notifications import NOTICES, queue_notification, recipients
from bando.calls.models import Edition
from bando.core import audit
from bando.core.extensions import db
from bando.core.models import AuditEvent
from bando.core.tick import tick_job
from bando.core.timeutil import ROME, to_rome, utcnow
from bando.core.transitions import (
    ConcurrentChange,
    Move,
    TransitionRefused,
    refused,
    stale_is_conflict,
)
from workflows import application as application_machine
from workflows.machine import Refusal, Refused
from workflows.timezone import rome, within

MACHINE = application_machine.MACHINE


def integration_deadline(now: datetime, days: int) -> datetime:
    """The last second of the `days`-th day after the request, in Europe/Rome.

    A request made on 15/03 with 10 days is answered until 25/03 at 23:59:59 (Rome
    wall time, whatever the daylight-saving change in between), that second included;
    then it expires.
    """
    last_day = to_rome(now).date() + timedelta(days=days)
    return datetime.combine(last_day, time(23, 59, 59), tzinfo=ROME)


def check(application: Application, trigger: str, actor, reason: str = "", *, now=None):
    """The refusals `fire` would give, without changing anything (for showing buttons)."""
    now = now or utcnow()
    facts = application_facts(application, trigger, actor, reason, now=now)
    return MACHINE.check(application.state, trigger, facts)


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
    # Everything the guards and the effects read, read now, before any lock is taken.
    facts = application_facts(application, trigger, actor, reason, now=now)
    told = recipients(application) if trigger in NOTICES else []
    move = Move(
        trigger=trigger,
        actor=actor,
        now=now,
        reason=reason,
        facts=facts,
        details=dict(payload or {}),
        told=told,
    )
    from_state = application.state
    try:
        with stale_is_conflict():
            MACHINE.fire(application, trigger, facts, move)
            if application.state == from_state:
                # A move that stays (accept) writes the row all the same: its version moves,
                # so two moves based on the same read never both succeed.
                application.updated_at = now
            db.session.flush()
    except Refused as error:  # the guards, or an effect before the move, said no
        raise refused(error) from None
    event = audit.append(
        subject="application",
        trigger=trigger,
        actor=actor,
        application_id=application.id,
        edition_id=application.edition_id,
        from_state=from_state,
        to_state=application.state,
        reason=reason,
        payload=move.details,
        at=now,
    )
    return event


# --- the effects of the moves, run by the Machine -----------------------------------------


# Built once: every submission sends it. See take_protocol_number.
NEXT_PROTOCOL = (
    update(Edition)
    .where(
        Edition.id == bindparam("edition_id"),
        Edition.state == "open",
        Edition.closes_at > bindparam("now", type_=Edition.closes_at.type),
    )
    .values(
        protocol_counter=Edition.protocol_counter + 1,
        # The row changed: edits of the call based on an earlier read are stale, as they
        # were when the counter was bumped through the ORM.
        version_id=Edition.version_id + 1,
    )
    .returning(Edition.protocol_counter, Edition.protocol_prefix, Edition.version_id)
    .execution_options(synchronize_session=False)
)


def take_protocol_number(edition_id: int, now: datetime) -> tuple[int, str] | None:
    """Bumps the call's protocol counter if the call still takes submissions at `now`:
    (the number, the call's prefix), or None having changed nothing.

    One UPDATE … RETURNING: it takes the edition's row lock (held until the commit), and
    its WHERE asks again, on the row as committed, what the guards asked before the lock
    (the call open, its deadline not passed), so a call closed meanwhile refuses."""
    row = db.session.execute(NEXT_PROTOCOL, {"edition_id": edition_id, "now": now}).one_or_none()
    if row is None:
        return None
    edition = db.session.identity_map.get(db.session.identity_key(Edition, edition_id))
    if edition is not None:  # the session's copy as the database now has it
        set_committed_value(edition, "protocol_counter", row.protocol_counter)
        set_committed_value(edition, "version_id", row.version_id)
    return row.protocol_counter, row.protocol_prefix


@MACHINE.effect("submit")
def assign_protocol(application: Application, move: Move) -> None:
    """The next protocol number of the call, taken under the edition's row lock."""
    taken = take_protocol_number(application.edition_id, move.now)
    if taken is None:
        # The call closed (or its deadline moved) while this submission was checked: the
        # same guards, asked on the edition as committed, say why.
        edition = db.session.scalar(
            select(Edition)
            .where(Edition.id == application.edition_id)
            .execution_options(populate_existing=True)
        )
        facts = replace(move.facts, edition_state=edition.state, closes_at=edition.closes_at)
        late = [
            refusal
            for name in ("edition_open", "before_closing")
            if (refusal := application_machine.GUARDS[name](facts)) is not None
        ]
        raise Refused(late or [Refusal("edition_not_open", "il bando non accetta più domande")])
    number, prefix = taken
    application.protocol_number = number
    application.protocol = f"{prefix}/{number:04d}"
    application.submitted_at = move.now
    move.details["protocol"] = application.protocol


@MACHINE.effect("request_integration")
def set_integration_deadline(application: Application, move: Move) -> None:
    application.integration_deadline = integration_deadline(
        move.now, application.edition.integration_days
    )
    application.integration_request = move.reason
    move.details["integration_deadline"] = application.integration_deadline.isoformat()


@MACHINE.effect("notify_rejection")
def set_notice_deadline(application: Application, move: Move) -> None:
    """The reasons for rejecting, and the days the call gives to answer them."""
    application.notice_deadline = integration_deadline(
        move.now, application.edition.rejection_notice_days
    )
    application.notice_reasons = move.reason
    application.notice_answer = ""
    application.notice_answered_at = None
    move.details["notice_deadline"] = application.notice_deadline.isoformat()


@MACHINE.effect("answer_notice")
def record_observations(application: Application, move: Move) -> None:
    application.notice_answer = move.reason
    application.notice_answered_at = move.now


@MACHINE.effect(*NOTICES, when="after")
def notify(application: Application, move: Move) -> None:
    """The organisation is told of the move (mailed after the commit)."""
    queue_notification(application, move.trigger, move.reason, move.now, move.told)


# --- time ---------------------------------------------------------------------------------


def expire_if_overdue(application: Application, *, now: datetime | None = None):
    """Lazy expiry: an unanswered request for documents past its deadline makes the
    application ineligible. Call it when loading an application to show or act on it,
    then commit. Returns the audit event, or None when nothing was due."""
    now = now or utcnow()
    deadline = application.integration_deadline
    if application.state != "integration_requested" or deadline is None or within(now, deadline):
        return None
    reason = (
        f"integrazione non pervenuta entro il termine ({rome(deadline)}): domanda non ammissibile"
    )
    try:
        return fire(application, "expire_integration", None, reason, now=now)
    except ConcurrentChange:
        return None  # another request expired it a moment ago


def integration_overdue(now: datetime):
    """The SQL form of what expire_if_overdue moves: a request for documents whose deadline
    has passed at `now` (its last second is still in time)."""
    return and_(
        Application.state == "integration_requested",
        Application.integration_deadline <= now - timedelta(seconds=1),
    )


@tick_job(20)
def expire_overdue_integrations(now: datetime) -> list[str]:
    """Requests for documents past their deadline: the application becomes ineligible.
    Each change is its own transaction, committed here."""
    done = []
    overdue = db.session.scalars(
        select(Application.id).where(integration_overdue(now)).order_by(Application.id)
    ).all()
    for application_id in overdue:
        application = db.session.get(Application, application_id)
        try:
            event = expire_if_overdue(application, now=now)
            db.session.commit()
        except TransitionRefused as refusal:
            db.session.rollback()
            done.append(f"skipped application {application_id}: {refusal.reason}")
            continue
        if event is not None:
            done.append(f"application {application.protocol}: integration expired, ineligible")
    return done
