"""What every state machine's caller shares: the context a move's effects receive, the
refusal of a transition, a lost race on a versioned row, and the flush that turns the
latter into the former."""

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from bando.core.extensions import db
from workflows.machine import Refusal, Refused


@dataclass
class Move:
    """What the effects of a move get besides its subject: who, when, why, the facts the
    guards saw, who is told of it (addresses read before any lock), and `details`, which
    the effects fill in for the audit event."""

    trigger: str
    actor: Any  # a User, or None for the system
    now: datetime
    reason: str
    facts: Any
    details: dict = field(default_factory=dict)
    told: list[str] = field(default_factory=list)


class TransitionRefused(Exception):
    """A trigger that may not fire: `reason` in Italian, `code` for programs, and
    `errors` by field where the reason has parts (what a submission lacks)."""

    def __init__(self, reason: str, code: str = "refused", refusals=(), errors=None):
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.refusals = list(refusals) or [Refusal(code, reason)]
        self.errors = errors or {}


def refused(error: Refused) -> TransitionRefused:
    """The machine's refusal as the exception every page and endpoint handles; the parts
    of a refusal (what a submission lacks) become messages by field."""
    errors = {r.field: list(r.details) for r in error.refusals if r.field}
    return TransitionRefused(error.reason, error.code, error.refusals, errors)


class ConcurrentChange(TransitionRefused):
    """Someone else changed the same row first; the session has been rolled back."""

    def __init__(self):
        super().__init__(
            "la domanda è stata modificata da un'altra operazione nello stesso momento: "
            "ricaricare la pagina e riprovare",
            "concurrent_update",
        )


@contextmanager
def stale_is_conflict():
    """A write based on a stale read (flushed here or by an autoflush inside) becomes
    ConcurrentChange, with the session rolled back: nothing of it is kept."""
    try:
        yield
    except StaleDataError:
        db.session.rollback()
        raise ConcurrentChange() from None
