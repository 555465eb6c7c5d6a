"""A gunicorn worker killed (SIGKILL) at a precise point of its transaction, on PostgreSQL.

The worker is stopped by a trigger installed for the test only: before the row named is
inserted it waits for an advisory lock the test holds. The test sees the worker's session
waiting, kills the worker, releases the lock: PostgreSQL finds the client gone and rolls
the transaction back. The helpers of the fault tests (tests/bando/**/test_faults_pg.py).
"""

import http.client
import json
import os
import signal
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from bando.core.extensions import db
from tests.conftest import PG_URL
from tests.serving import Gunicorn

PAUSE = 771_201  # the advisory lock the paused transaction waits for
TRIGGER = "test_fault_pause"


@contextmanager
def serving(tmp_path):
    """bando served by one gunicorn worker on the test's PostgreSQL; the pauses are
    removed afterwards."""
    server = Gunicorn(
        tmp_path / "served",
        {"SQLALCHEMY_DATABASE_URI": PG_URL, "SECRET_KEY": "faults-" + uuid.uuid4().hex * 2},
    )
    with server:
        yield server
    resume()
    with db.engine.begin() as connection:
        connection.execute(text(f"DROP FUNCTION IF EXISTS {TRIGGER}()"))


def pause_before_insert(table: str, condition: str) -> None:
    """Inserts into `table` wait for the lock PAUSE while `condition` (plpgsql) holds."""
    db.session.rollback()  # the test's own reads hold no lock the DDL would wait for
    with db.engine.begin() as connection:
        connection.execute(
            text(
                f"""
                CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger AS $$
                BEGIN
                    IF {condition} THEN PERFORM pg_advisory_xact_lock({PAUSE}); END IF;
                    RETURN NEW;
                END $$ LANGUAGE plpgsql
                """
            )
        )
        connection.execute(
            text(
                f"CREATE TRIGGER {TRIGGER} BEFORE INSERT ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()"
            )
        )


def resume() -> None:
    """The fault is over: no insert waits any more."""
    db.session.rollback()
    with db.engine.begin() as connection:
        tables = connection.scalars(
            text(
                "SELECT tgrelid::regclass::text FROM pg_trigger "
                "WHERE tgname = :name AND NOT tgisinternal"
            ),
            {"name": TRIGGER},
        ).all()
        for table in tables:
            connection.execute(text(f"DROP TRIGGER {TRIGGER} ON {table}"))


def request(port, method, path, headers=None, body=None):
    """(status, headers, body): the body read as JSON, or as bytes when it is not JSON."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(
            method,
            path,
            body=json.dumps(body) if body is not None else None,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        response = connection.getresponse()
        content = response.read()
        if response.getheader("Content-Type", "").startswith("application/json") or not content:
            content = json.loads(content or b"{}")
        return response.status, dict(response.getheaders()), content
    finally:
        connection.close()


def workers_of(master: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                children.append(int(entry.name))
    return children


def waiting_backend(timeout=30.0) -> int:
    """The PostgreSQL session waiting for PAUSE (the worker's, mid-transaction)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.engine.connect() as connection:
            pid = connection.scalar(
                # pg_locks shows every database's: another run's pause is not this one.
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' "
                    "AND objid = :key AND NOT granted AND database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database())"
                ),
                {"key": PAUSE},
            )
        if pid:
            return pid
        time.sleep(0.05)
    with db.engine.connect() as connection:
        sessions = connection.execute(
            text(
                "SELECT pid, state, wait_event_type, wait_event, left(query, 120) "
                "FROM pg_stat_activity WHERE datname = current_database()"
            )
        ).all()
    raise AssertionError(f"no worker reached the pause: {sessions}")


def session_of(pid: int) -> list:
    """The state of a PostgreSQL session, [] once it has ended. A transaction of its own
    each time: within one, PostgreSQL answers from the snapshot of its first look."""
    with db.engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT state, wait_event_type, wait_event, left(query, 100) "
                "FROM pg_stat_activity WHERE pid = :pid"
            ),
            {"pid": pid},
        ).all()


def kill_in_the_middle(server, send) -> None:
    """Holds PAUSE, has `send` (a request, in a thread) reach it, kills the worker serving
    it, releases PAUSE and waits until PostgreSQL has ended that session."""
    holder = db.engine.connect()
    holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": PAUSE})
    outcome = []

    def client():
        try:
            outcome.append(send())
        except (OSError, http.client.HTTPException) as error:  # the worker died: no answer
            outcome.append(error)

    thread = threading.Thread(target=client)
    thread.start()
    backend = waiting_backend()
    (worker,) = workers_of(server.process.pid)
    os.kill(worker, signal.SIGKILL)
    thread.join(timeout=60)
    assert outcome and isinstance(outcome[0], Exception), outcome  # no answer came
    assert holder.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": PAUSE})
    holder.close()
    deadline = time.monotonic() + 30
    while session_of(backend):
        assert time.monotonic() < deadline, session_of(backend)
        time.sleep(0.05)
    for _ in range(300):  # the master starts a new worker
        if workers_of(server.process.pid):
            break
        time.sleep(0.1)


def audit_verified(runner):
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "chain intact" in result.output
    db.session.rollback()  # nothing of the check stays open
    return result.output
