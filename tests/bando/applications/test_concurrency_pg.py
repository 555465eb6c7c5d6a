"""The concurrency guarantees of the lifecycle, proved on PostgreSQL with real threads,
each with its own app context, session and connection."""

import threading

import pytest
from sqlalchemy import func, select

from bando.accounts.models import User
from bando.accounts.operations import issue_token
from bando.applications.lifecycle import fire
from bando.applications.models import Application
from bando.calls.lifecycle import lock_edition
from bando.calls.models import Edition
from bando.core import audit
from bando.core.extensions import db
from bando.core.models import AuditEvent
from bando.core.timeutil import utcnow
from bando.core.transitions import ConcurrentChange
from tests.factories import create_edition, create_organisation
from tests.lifecycle_factories import create_application, put_in_state

pytestmark = pytest.mark.postgres


def quick_user(role, organisation=None, n=0):
    user = User(
        email=f"{role}{n}@example.it",
        password_hash="!",
        role=role,
        organisation=organisation,
        email_confirmed_at=utcnow(),
    )
    db.session.add(user)
    db.session.flush()
    return user


def run_together(count, work):
    """Runs work(i) in `count` threads released at the same instant; returns the results."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def runner(i):
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as error:  # collected and asserted on in the test
            results[i] = error

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_fifty_concurrent_submissions_get_fifty_gap_free_protocols(app, postgres_only):
    edition = create_edition("cdq-rush")
    ids, owners = [], []
    for n in range(50):
        organisation = create_organisation()
        owner = quick_user("applicant", organisation, n)
        ids.append(create_application(edition, organisation, owner, title=f"Progetto {n}").id)
        owners.append(owner.id)
    db.session.commit()  # the threads see only committed rows

    def submit(i):
        with app.app_context():
            application = db.session.get(Application, ids[i])
            fire(application, "submit", db.session.get(User, owners[i]))
            db.session.commit()
            return application.protocol_number

    results = run_together(50, submit)
    assert all(isinstance(r, int) for r in results), results
    assert sorted(results) == list(range(1, 51))
    db.session.expire_all()
    protocols = db.session.scalars(
        select(Application.protocol).where(Application.edition_id == edition.id)
    ).all()
    assert sorted(protocols) == [f"CDQRUSH/{n:04d}" for n in range(1, 51)]
    assert db.session.get(Edition, edition.id).protocol_counter == 50
    # Fifty appends, one chain: no two events share a predecessor.
    prev_hashes = db.session.scalars(select(AuditEvent.prev_hash)).all()
    assert len(prev_hashes) == len(set(prev_hashes)) == 50
    assert audit.verify_chain().ok


def test_two_officers_decide_at_once_one_wins_one_gets_409(app, postgres_only):
    edition = create_edition("cdq-race")
    organisation = create_organisation()
    owner = quick_user("applicant", organisation)
    application = put_in_state(create_application(edition, organisation, owner), "submitted")
    officers = [quick_user("officer", n=n) for n in (1, 2)]
    tokens = [issue_token(officer, 1) for officer in officers]
    db.session.commit()
    url = f"/api/v1/applications/{application.id}/eligibility"
    decisions = [
        {"decision": "eligible", "reason": "requisiti presenti"},
        {"decision": "ineligible", "reason": "manca lo statuto"},
    ]

    def decide(i):
        client = app.test_client()
        response = client.post(
            url,
            json=decisions[i],
            headers={"Authorization": f"Bearer {tokens[i]}"},
        )
        return response.status_code, response.get_json()

    results = run_together(2, decide)
    assert sorted(status for status, _ in results) == [200, 409], results
    winner = next(body for status, body in results if status == 200)
    loser = next(body for status, body in results if status == 409)
    assert loser["error"]
    db.session.expire_all()
    assert db.session.get(Application, application.id).state == winner["state"]
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.application_id == application.id)
    ).all()
    assert len(events) == 1
    assert events[0].to_state == winner["state"]


def test_stale_read_loses_even_when_both_read_before_either_writes(app, postgres_only):
    """Both sessions load the same version, then write at once: the version column decides."""
    edition = create_edition("cdq-stale")
    organisation = create_organisation()
    owner = quick_user("applicant", organisation)
    application = put_in_state(create_application(edition, organisation, owner), "submitted")
    officers = [quick_user("officer", n=n).id for n in (1, 2)]
    db.session.commit()
    application_id, version = application.id, application.version_id
    loaded = threading.Barrier(2)

    def decide(i):
        with app.app_context():
            mine = db.session.get(Application, application_id)
            assert mine.version_id == version
            loaded.wait()
            trigger = ("declare_eligible", "request_integration")[i]
            try:
                fire(mine, trigger, db.session.get(User, officers[i]), "motivazione")
                db.session.commit()
                return "ok"
            except ConcurrentChange:
                return "conflict"

    assert sorted(run_together(2, decide)) == ["conflict", "ok"]
    db.session.expire_all()
    events = db.session.scalar(
        select(func.count(AuditEvent.id)).where(AuditEvent.application_id == application.id)
    )
    assert events == 1
    assert db.session.get(Application, application.id).version_id == version + 1
    assert audit.verify_chain().ok


def test_an_event_about_a_call_is_written_while_another_transaction_holds_the_call(
    app, postgres_only
):
    """One transaction holds the audit head and then writes an event about a call; another
    has locked that call's row to move it and waits for the head. The call's lock lets the
    event's reference to the call through, so the first commits and the second appends
    after it: no deadlock (before, PostgreSQL aborted one of them)."""
    edition_id = create_edition("cdq-locks").id
    audit.append(subject="audit", trigger="start")  # the chain's head exists
    db.session.commit()
    head_held, call_locked = threading.Event(), threading.Event()

    def work(i):
        with app.app_context():
            if i == 0:  # e.g. an officer's decisions, one event after the other
                audit.append(subject="audit", trigger="first")
                head_held.set()
                assert call_locked.wait(30)
                audit.append(subject="edition", trigger="about_the_call", edition_id=edition_id)
            else:  # e.g. the call closing: its row first, then its event
                assert head_held.wait(30)
                lock_edition(edition_id)
                call_locked.set()
                audit.append(subject="edition", trigger="move", edition_id=edition_id)
            db.session.commit()
            return "committed"

    assert run_together(2, work) == ["committed", "committed"]
    triggers = db.session.scalars(select(AuditEvent.trigger).order_by(AuditEvent.id)).all()
    assert triggers == ["start", "first", "about_the_call", "move"]
    assert audit.verify_chain().ok
