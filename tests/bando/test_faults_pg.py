"""A gunicorn worker killed (SIGKILL) in the middle of an allocation run and of a
submission, on PostgreSQL: the database is left consistent (nothing half-written, the cap
kept, the audit chain intact) and the operation, repeated, is done once.

The worker is stopped at a precise point of its transaction by a trigger installed for
the test only: before the row named is inserted it waits for an advisory lock the test
holds. The test sees the worker's session waiting, kills the worker, releases the lock:
PostgreSQL finds the client gone and rolls the transaction back.
"""

import http.client
import json
import os
import signal
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bando.applications.models import Application
from bando.budget.models import Award
from bando.calls.models import Edition
from bando.core.extensions import db
from bando.core.models import AuditEvent
from tests.access_world import token
from tests.allocation_factories import ranked_world
from tests.conftest import PG_URL
from tests.factories import create_edition, create_user
from tests.lifecycle_factories import create_application
from tests.serving import Gunicorn

PAUSE = 771_201  # the advisory lock the paused transaction waits for


@pytest.fixture
def server(app, tmp_path, postgres_only):
    server = Gunicorn(
        tmp_path / "served",
        {"SQLALCHEMY_DATABASE_URI": PG_URL, "SECRET_KEY": "faults-" + uuid.uuid4().hex * 2},
    )
    with server:
        yield server
    db.session.rollback()
    with db.engine.begin() as connection:
        connection.execute(text("DROP TRIGGER IF EXISTS test_fault_pause ON award"))
        connection.execute(text("DROP TRIGGER IF EXISTS test_fault_pause ON audit_event"))
        connection.execute(text("DROP FUNCTION IF EXISTS test_fault_pause()"))


def pause_before_insert(table: str, condition: str) -> None:
    """Inserts into `table` wait for the lock PAUSE while `condition` (plpgsql) holds."""
    db.session.rollback()  # the test's own reads hold no lock the DDL would wait for
    with db.engine.begin() as connection:
        connection.execute(
            text(
                f"""
                CREATE OR REPLACE FUNCTION test_fault_pause() RETURNS trigger AS $$
                BEGIN
                    IF {condition} THEN PERFORM pg_advisory_xact_lock({PAUSE}); END IF;
                    RETURN NEW;
                END $$ LANGUAGE plpgsql
                """
            )
        )
        connection.execute(
            text(
                f"CREATE TRIGGER test_fault_pause BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION test_fault_pause()"
            )
        )


def request(port, method, path, headers=None, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(
            method,
            path,
            body=json.dumps(body) if body is not None else None,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read() or b"{}")
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
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' "
                    "AND objid = :key AND NOT granted"
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


def kill_in_the_middle(server, send) -> None:
    """Holds PAUSE, has `send` (a request, in a thread) reach it, kills the worker serving
    it, releases PAUSE and waits until PostgreSQL has ended that session."""
    import threading

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
    with db.engine.connect() as connection:
        while connection.scalar(
            text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": backend}
        ):
            assert time.monotonic() < deadline, connection.execute(
                text(
                    "SELECT state, wait_event_type, wait_event, left(query, 100) "
                    "FROM pg_stat_activity WHERE pid = :pid"
                ),
                {"pid": backend},
            ).all()
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


def outcomes(allocation):
    return [(d["application_id"], d["outcome"], d["amount"]) for d in allocation["decisions"]]


def committed_cents(edition_id):
    return db.session.scalar(
        select(func.coalesce(func.sum(Award.amount_cents), 0)).where(
            Award.edition_id == edition_id, Award.state == "active"
        )
    )


def test_a_worker_killed_mid_allocation(app, client, runner, server):
    edition, officer, rows = ranked_world([400, 300, 500, 200], cap_euro=1000)
    headers = token(client, officer.email)
    code, edition_id, cap = edition.code, edition.id, edition.budget_cap_cents
    audit_verified(runner)
    events_before = db.session.scalar(select(func.count(AuditEvent.id)))
    # The second award of the run waits: the first is written, in the same transaction.
    pause_before_insert(
        "award", "(SELECT count(*) FROM award WHERE edition_id = NEW.edition_id) >= 1"
    )

    kill_in_the_middle(
        server,
        lambda: request(server.port, "POST", f"/api/v1/editions/{code}/allocation", headers),
    )

    db.session.expire_all()
    assert db.session.scalar(select(func.count(Award.id))) == 0  # nothing half-written
    assert db.session.get(Edition, edition_id).state == "ranked"
    assert {a.state for a in db.session.scalars(select(Application))} == {"scored"}
    assert db.session.scalar(select(func.count(AuditEvent.id))) == events_before
    audit_verified(runner)

    with db.engine.begin() as connection:  # the fault is over
        connection.execute(text("DROP TRIGGER test_fault_pause ON award"))
    status, _, first = request(server.port, "POST", f"/api/v1/editions/{code}/allocation", headers)
    assert status == 200, first
    db.session.expire_all()
    awards = db.session.scalar(select(func.count(Award.id)))
    funded = [d for d in first["decisions"] if d["outcome"] == "funded"]
    assert awards == len(funded) >= 2
    assert committed_cents(edition_id) <= cap
    events = db.session.scalar(select(func.count(AuditEvent.id)))

    status, _, again = request(server.port, "POST", f"/api/v1/editions/{code}/allocation", headers)
    assert status == 200
    # The same outcome and amount for each (the reasons now say the awards are kept).
    assert outcomes(again) == outcomes(first)
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Award.id))) == awards  # no duplicates
    assert db.session.scalar(select(func.count(AuditEvent.id))) == events
    assert committed_cents(edition_id) <= cap
    audit_verified(runner)


def test_a_worker_killed_mid_submission(app, client, runner, server):
    edition = create_edition()
    owner = create_user("applicant")
    draft = create_application(edition, owner.organisation, owner)
    db.session.commit()
    headers = {**token(client, owner.email), "Idempotency-Key": "invio-" + uuid.uuid4().hex}
    path = f"/api/v1/applications/{draft.id}/submit"
    draft_id, edition_id = draft.id, edition.id
    pause_before_insert("audit_event", "NEW.trigger = 'submit'")

    kill_in_the_middle(server, lambda: request(server.port, "POST", path, headers))

    db.session.expire_all()
    application = db.session.get(Application, draft_id)
    assert application.state == "draft" and application.protocol is None
    assert db.session.get(Edition, edition_id).protocol_counter == 0  # no number used up
    audit_verified(runner)

    with db.engine.begin() as connection:
        connection.execute(text("DROP TRIGGER test_fault_pause ON audit_event"))
    # The client retries with its key: submitted once, the same answer every time.
    status, replayed, first = request(server.port, "POST", path, headers)
    assert status == 200, first
    assert "Idempotent-Replayed" not in replayed
    status, replayed, again = request(server.port, "POST", path, headers)
    assert status == 200 and again == first
    assert replayed["Idempotent-Replayed"] == "true"
    db.session.expire_all()
    assert db.session.get(Application, draft_id).protocol == first["protocol"]
    assert db.session.get(Edition, edition_id).protocol_counter == 1
    submitted = select(func.count(AuditEvent.id)).where(AuditEvent.trigger == "submit")
    assert db.session.scalar(submitted) == 1
    audit_verified(runner)
