"""The audit trail: a hash chain of events, one per state change.

Each event stores the hash of the previous one (prev_hash) and the sha256 of a canonical
JSON of its own content together with prev_hash, so editing, inserting or removing a row
breaks the chain where it happened. Appending locks the single AuditHead row: on
PostgreSQL concurrent transactions append one after the other and stay one chain; the
lock is held until the caller's commit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, insert, select, update

from bando.core.extensions import db
from bando.core.models import AuditEvent, AuditHead
from bando.core.timeutil import utcnow

GENESIS = "0" * 64
SYSTEM_LABEL = "sistema"


def canonical(event: AuditEvent) -> bytes:
    """The bytes the hash covers: sorted keys, no spaces, UTF-8, times in ISO UTC."""
    content = {
        "prev_hash": event.prev_hash,
        "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "subject": event.subject,
        "application_id": event.application_id,
        "edition_id": event.edition_id,
        "trigger": event.trigger,
        "from": event.from_state,
        "to": event.to_state,
        "reason": event.reason,
        "payload": event.payload or {},
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compute_hash(event: AuditEvent) -> str:
    return hashlib.sha256(canonical(event)).hexdigest()


def _insert_head_if_missing() -> None:
    """The head row exists before anyone locks it; two first appends may race to create it."""
    dialect = db.engine.dialect.name
    values = {"id": 1, "last_hash": GENESIS, "count": 0}
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - only the two supported databases
        if db.session.get(AuditHead, 1) is None:
            db.session.add(AuditHead(**values))
            db.session.flush()
        return
    db.session.execute(insert(AuditHead).values(**values).on_conflict_do_nothing())


HEAD = AuditHead.__table__
EVENTS = AuditEvent.__table__
# Built once: every state change sends them.
LOCK_HEAD = select(HEAD.c.last_hash).where(HEAD.c.id == 1).with_for_update()
ADD_EVENT = insert(EVENTS).returning(EVENTS.c.id)
MOVE_HEAD = (
    update(HEAD)
    .where(HEAD.c.id == 1)
    .values(last_hash=bindparam("new_hash", type_=HEAD.c.last_hash.type), count=HEAD.c.count + 1)
)


def _locked_head() -> str:
    """The head's last hash, its row locked until the commit."""
    last_hash = db.session.execute(LOCK_HEAD).scalar_one_or_none()
    if last_hash is None:
        _insert_head_if_missing()
        last_hash = db.session.execute(LOCK_HEAD).scalar_one()
    return last_hash


def chain_head() -> tuple[int, str]:
    """How many events the head counts and the hash of the last one ((0, GENESIS) before
    the first), read from the database: appends do not go through the session's objects."""
    head = db.session.execute(select(HEAD.c.count, HEAD.c.last_hash).where(HEAD.c.id == 1))
    return tuple(head.first() or (0, GENESIS))


def actor_label(actor) -> str:
    return SYSTEM_LABEL if actor is None else actor.email


def append(
    *,
    subject: str,
    trigger: str,
    actor=None,
    application_id: int | None = None,
    edition_id: int | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str = "",
    payload: dict | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Adds the next link of the chain (flushed, not committed: the caller commits). What
    the session holds is flushed first, so the event follows the changes it tells of."""
    db.session.flush()
    last_hash = _locked_head()
    event = AuditEvent(
        at=(at or utcnow()).astimezone(UTC),
        actor_id=None if actor is None else actor.id,
        actor=actor,
        actor_label=actor_label(actor),
        subject=subject,
        application_id=application_id,
        edition_id=edition_id,
        trigger=trigger,
        from_state=from_state,
        to_state=to_state,
        reason=reason or "",
        # A JSON round trip now, so the hash covers exactly what the database gives back.
        payload=json.loads(json.dumps(payload or {}, sort_keys=True, default=str)),
        prev_hash=last_hash,
    )
    event.hash = compute_hash(event)
    # Written as two plain statements: every state change passes here, and the unit of
    # work costs several times their price. The event returned stays out of the session
    # (a rollback has nothing of it to forget): what it says is what was written.
    row = {
        column.key: getattr(event, column.key) for column in EVENTS.columns if column.key != "id"
    }
    event.id = db.session.execute(ADD_EVENT, row).scalar_one()
    db.session.execute(MOVE_HEAD, {"new_hash": event.hash})
    return event


@dataclass
class Verification:
    count: int  # events read
    bad: AuditEvent | None  # the first event that does not match, if any
    problem: str  # "" when the chain is whole

    @property
    def ok(self) -> bool:
        return not self.problem


def verify_chain() -> Verification:
    """Walks the chain in order and stops at the first event that does not match."""
    expected_prev = GENESIS
    count = 0
    events = db.session.scalars(
        select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=500)
    )
    for event in events:
        count += 1
        if event.prev_hash != expected_prev:
            return Verification(count, event, "prev_hash does not match the previous event")
        if compute_hash(event) != event.hash:
            return Verification(count, event, "content does not match its hash")
        expected_prev = event.hash
    head_count, last_hash = chain_head()
    if last_hash != expected_prev or head_count != count:
        # Events removed from the end leave a valid-looking chain: the head remembers.
        return Verification(
            count, None, f"head says {head_count} events ending {last_hash[:12]}, found {count}"
        )
    return Verification(count, None, "")


def verify() -> AuditEvent | None:
    """The first event that does not match, or None when the chain is whole."""
    return verify_chain().bad


def events_of_application(application_id: int) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.application_id == application_id)
            .order_by(AuditEvent.id)
        )
    )


def event_view(event: AuditEvent, actor: str | None = None) -> dict:
    """An event as the API shows it; `actor` replaces the recorded label where the viewer
    may not see it (an applicant sees staff by role)."""
    return {
        "id": event.id,
        "at": event.at,
        "actor": event.actor_label if actor is None else actor,
        "actor_role": event.actor.role if event.actor else "system",
        "trigger": event.trigger,
        "from": event.from_state,
        "to": event.to_state,
        "reason": event.reason,
        "payload": event.payload or {},
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }
