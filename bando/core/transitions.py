"""What every state machine's caller shares: the refusal of a transition, a lost race on a
versioned row, and the flush that turns the latter into the former."""

from sqlalchemy.orm.exc import StaleDataError

from bando.core.extensions import db
from workflows.machine import Refusal


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


def flush_or_conflict() -> None:
    """Flushes; a write based on a stale read becomes ConcurrentChange, rolled back."""
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise ConcurrentChange() from None
