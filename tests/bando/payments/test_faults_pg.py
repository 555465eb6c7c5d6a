"""A gunicorn worker killed (SIGKILL) while it records a payment, on PostgreSQL: after the
kill no payment row, no audit event, the call's money as before and the audit chain
intact; the client's retry with its Idempotency-Key records the payment once. How the
worker is stopped mid-transaction: tests/faults.py."""

import uuid

import pytest
from sqlalchemy import func, select

from bando.budget.figures import figures
from bando.budget.models import Payment
from bando.calls.models import Edition
from bando.core.extensions import db
from bando.core.models import AuditEvent
from tests.access_world import token
from tests.faults import (
    audit_verified,
    kill_in_the_middle,
    pause_before_insert,
    request,
    resume,
    serving,
)
from tests.finance_factories import funded_world


@pytest.fixture
def server(app, tmp_path, postgres_only):
    with serving(tmp_path) as server:
        yield server


def money(edition_id):
    db.session.expire_all()
    return figures(db.session.get(Edition, edition_id))


def count(query):
    db.session.expire_all()
    return db.session.scalar(query)


PAYMENTS = select(func.count(Payment.id))
EVENTS = select(func.count(AuditEvent.id))
PAID = select(func.count(AuditEvent.id)).where(AuditEvent.trigger == "pay_advance")


# Before the payment row, and after it (its audit event, in the same transaction, waits).
PAUSES = {
    "payment_row": ("payment", "NEW.kind = 'advance'"),
    "audit_event": ("audit_event", "NEW.trigger = 'pay_advance'"),
}


@pytest.mark.parametrize("pause", PAUSES)
def test_a_worker_killed_mid_payment(app, client, runner, server, pause):
    application, _, finance, _ = funded_world(10_000)
    application_id, edition_id = application.id, application.edition_id
    headers = {**token(client, finance.email), "Idempotency-Key": "bonifico-" + uuid.uuid4().hex}
    path = f"/api/v1/applications/{application_id}/payments"
    body = {"kind": "advance", "reference": "Mandato n. 118"}
    before = money(edition_id)
    events = count(EVENTS)
    audit_verified(runner)
    pause_before_insert(*PAUSES[pause])

    kill_in_the_middle(server, lambda: request(server.port, "POST", path, headers, body))

    assert count(PAYMENTS) == 0  # nothing half-written: not even a row already flushed
    assert count(EVENTS) == events
    assert money(edition_id) == before
    audit_verified(runner)

    resume()
    status, _, first = request(server.port, "POST", path, headers, body)
    assert status == 201, first
    assert first["kind"] == "advance" and first["application_id"] == application_id
    status, _, again = request(server.port, "POST", path, headers, body)
    assert status == 200 and again == first  # replayed: the payment already recorded
    assert count(PAYMENTS) == 1
    assert count(PAID) == 1
    after = money(edition_id)
    amount = db.session.scalar(select(Payment.amount_cents))
    assert amount > 0 and after["paid"] == before["paid"] + amount
    assert after["committed"] == before["committed"]  # a payment on an award commits nothing new
    audit_verified(runner)
