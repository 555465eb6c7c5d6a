"""What the operations of every capability share: the refusal of an operation and the
commit of a unit of work."""

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from bando.core.extensions import db

CONFLICT = (
    "i dati sono stati modificati da un'altra operazione nello stesso momento: "
    "ricaricare la pagina e riprovare"
)


class OperationError(Exception):
    """An operation refused: an HTTP-like status, an Italian message, messages by field.
    Nothing was written (the handler, or the page that catches it, rolls back)."""

    def __init__(self, status: int, message: str, errors: dict | None = None, *, code=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or {}
        # For programs, where the refusal has a name; every 409 has one, as ApiError's.
        self.code = code or ("conflict" if status == 409 else None)


def commit(message: str = CONFLICT, code: str = "concurrent_update") -> None:
    """Commits the unit of work; a lost race (a unique row, a stale version) becomes a 409
    with nothing written, instead of an internal error."""
    try:
        db.session.commit()
    except (IntegrityError, StaleDataError):
        db.session.rollback()
        raise OperationError(409, message, code=code) from None
