"""The SQL statements a block of code sends, for the tests that hold a page or an operation
to a fixed number of queries or check what runs under a lock."""

from contextlib import contextmanager

from sqlalchemy import event

from bando.core.extensions import db


@contextmanager
def recorded_statements():
    """Yields the list the statements sent inside the block are appended to (as text, on
    one line each)."""
    sent = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
