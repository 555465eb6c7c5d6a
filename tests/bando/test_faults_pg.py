"""A gunicorn worker killed (SIGKILL) in the middle of an allocation run and of a
submission, on PostgreSQL: the database is left consistent (nothing half-written, the cap
kept, the audit chain intact) and the operation, repeated, is done once. How the worker is
stopped at a precise point of its transaction: tests/faults.py.
"""

import uuid

import pytest
from sqlalchemy import func, select

from bando.applications.models import Application
from bando.budget.models import Award
from bando.calls.models import Edition
from bando.core.extensions import db
from bando.core.models import AuditEvent
from tests.access_world import token
from tests.allocation_factories import ranked_world
from tests.factories import create_edition, create_user
from tests.faults import (
    audit_verified,
    kill_in_the_middle,
    pause_before_insert,
    request,
    resume,
    serving,
)
from tests.lifecycle_factories import create_application


@pytest.fixture
def server(app, tmp_path, postgres_only):
    with serving(tmp_path) as server:
        yield server


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

    resume()  # the fault is over
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

    resume()
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
