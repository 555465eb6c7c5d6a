"""The audit chain: appended by fire, verified by `bando audit verify`."""

import pytest
from sqlalchemy import text

from bando.applications.lifecycle import fire
from bando.calls.lifecycle import fire_edition
from bando.core import audit
from bando.core.extensions import db
from bando.core.models import AuditEvent, AuditHead
from tests.factories import create_edition, create_organisation, create_user
from tests.lifecycle_factories import create_application


@pytest.fixture
def history(app):
    """Three applications submitted, one declared eligible, the call closed: 5 events."""
    edition = create_edition(max_applications_per_organisation=3)
    organisation = create_organisation()
    owner = create_user("applicant", organisation=organisation)
    officer = create_user("officer")
    applications = [
        create_application(edition, organisation, owner, title=f"Progetto {i}") for i in range(3)
    ]
    for application in applications:
        fire(application, "submit", owner)
    fire(applications[1], "declare_eligible", officer, "requisiti presenti")
    fire_edition(edition, "close", officer, "chiusura anticipata")
    db.session.commit()
    return applications


def test_events_form_a_chain(history):
    events = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id)).all()
    assert len(events) == 5
    assert events[0].prev_hash == audit.GENESIS
    for previous, event in zip(events, events[1:], strict=False):
        assert event.prev_hash == previous.hash
    for event in events:
        assert event.hash == audit.compute_hash(event)
    head = db.session.get(AuditHead, 1)
    assert (head.count, head.last_hash) == (5, events[-1].hash)
    assert audit.verify() is None


def test_cli_says_ok_with_the_count(history, runner):
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "OK: 5 events" in result.output


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET reason = 'falsificata' WHERE id = :id",
        "UPDATE audit_event SET to_state = 'ineligible' WHERE id = :id",
        "UPDATE audit_event SET actor_label = 'qualcun altro' WHERE id = :id",
        "UPDATE audit_event SET at = at + interval '1 hour' WHERE id = :id",
    ],
    ids=["reason", "to_state", "actor", "time"],
)
def test_editing_a_row_in_the_database_is_found_and_named(history, runner, statement):
    event = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id)).all()[3]
    if "interval" in statement and db.engine.dialect.name == "sqlite":
        statement = "UPDATE audit_event SET at = datetime(at, '+1 hour') WHERE id = :id"
    with db.engine.begin() as connection:
        connection.execute(text(statement), {"id": event.id})
    db.session.expire_all()
    bad = audit.verify()
    assert bad is not None and bad.id == event.id
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code != 0
    assert f"event {event.id}" in result.output
    assert f"application {event.application_id}" in result.output
    assert "declare_eligible" in result.output


def test_a_rewritten_hash_breaks_the_next_link(history, runner):
    """Forging an event and its own hash still leaves the next event pointing elsewhere."""
    events = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id)).all()
    forged = events[1]
    forged.reason = "falsificata"
    new_hash = audit.compute_hash(forged)
    db.session.rollback()
    with db.engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_event SET reason = 'falsificata', hash = :h WHERE id = :id"),
            {"h": new_hash, "id": forged.id},
        )
    db.session.expire_all()
    assert audit.verify().id == events[2].id


def test_deleting_the_last_event_is_found(history, runner):
    with db.engine.begin() as connection:
        connection.execute(
            text("DELETE FROM audit_event WHERE id = (SELECT max(id) FROM audit_event)")
        )
    db.session.expire_all()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code != 0
    assert "head" in result.output


def test_empty_chain_is_ok(app, runner):
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0
    assert "OK: 0 events" in result.output
