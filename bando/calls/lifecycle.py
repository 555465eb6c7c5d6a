"""The one entry point that changes an edition's state: fire_edition(edition, trigger, actor).

Flushes, never commits (the caller commits). The edition row is locked first (SELECT …
FOR UPDATE on PostgreSQL): locks are always taken edition → application → audit head.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select

from bando.accounts.models import User
from bando.calls.models import Edition
from bando.core import audit
from bando.core.extensions import db
from bando.core.models import AuditEvent
from bando.core.tick import tick_job
from bando.core.timeutil import utcnow
from bando.core.transitions import (
    ConcurrentChange,
    Move,
    TransitionRefused,
    refused,
    stale_is_conflict,
)
from workflows import edition as edition_machine
from workflows.machine import Refused

MACHINE = edition_machine.MACHINE

# Facts about an edition kept in the tables of later packages (e.g. how many eligible
# applications still wait for their scores): each package registers its reader here, so
# this package never imports them.
FACT_READERS: dict[str, Callable[[Edition], object]] = {}


def edition_fact(name: str):
    """Registers a reader of one field of workflows.edition.Facts."""

    def register(read):
        FACT_READERS[name] = read
        return read

    return register


def lock_edition(edition_id: int) -> Edition:
    """The call's row, locked until the commit (and read again as committed).

    FOR NO KEY UPDATE: whoever writes the call waits, but a row that only refers to it (an
    audit event, a draft) does not. With FOR UPDATE, a transaction holding the audit head
    and writing an event about the call deadlocked with the one holding the call and
    waiting for that head."""
    return db.session.scalar(
        select(Edition)
        .where(Edition.id == edition_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )


def edition_facts(edition: Edition, actor: User | None, reason: str, now: datetime):
    """What the edition's guards see, read from the rows."""
    return edition_machine.Facts(
        now=now,
        actor_role=None if actor is None else actor.role,
        reason=reason,
        opens_at=edition.opens_at,
        closes_at=edition.closes_at,
        **{name: read(edition) for name, read in FACT_READERS.items()},
    )


def check_edition(edition: Edition, trigger: str, actor: User | None, *, now=None):
    """The refusals fire_edition would give, without changing anything (for showing buttons)."""
    return MACHINE.check(edition.state, trigger, edition_facts(edition, actor, "", now or utcnow()))


def fire_edition(
    edition: Edition,
    trigger: str,
    actor: User | None,
    reason: str = "",
    payload: dict | None = None,
    *,
    now: datetime | None = None,
    facts: dict | None = None,
) -> AuditEvent:
    """Moves the edition by `trigger` (open, close, rank, allocate, archive, reload), or
    raises TransitionRefused having written nothing. Flushes only.

    `facts` overrides what the guards see (a reload shows them the new file's dates).
    """
    now = now or utcnow()
    reason = (reason or "").strip()
    locked = lock_edition(edition.id)
    seen = edition_facts(locked, actor, reason, now)
    if facts:
        seen = replace(seen, **facts)
    move = Move(trigger=trigger, actor=actor, now=now, reason=reason, facts=seen)
    move.details.update(payload or {})
    from_state = locked.state
    try:
        with stale_is_conflict():
            MACHINE.fire(locked, trigger, seen, move)
            db.session.flush()
    except Refused as error:
        raise refused(error) from None
    return audit.append(
        subject="edition",
        trigger=trigger,
        actor=actor,
        edition_id=locked.id,
        from_state=from_state,
        to_state=locked.state,
        reason=reason,
        payload=move.details,
        at=now,
    )


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


@tick_job(10)
def open_due_editions(now: datetime) -> list[str]:
    """Calls loaded before their opening date open when it comes."""
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
    return done


@tick_job(30)
def close_past_editions(now: datetime) -> list[str]:
    """Calls past their deadline close (after the overdue requests have expired)."""
    done = []
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
