"""Idempotency-Key on submission: a client's retry gets the first answer, the work is done
once; a key reused for another request, or malformed, is refused and changes nothing."""

import hashlib
import threading

import pytest
from sqlalchemy import func, select

from bando import create_app
from bando.applications.models import Application, Attachment
from bando.core.extensions import db
from bando.core.models import AuditEvent, IdempotentRequest
from tests.access_world import token
from tests.conftest import RequestClient
from tests.factories import create_edition, create_user
from tests.lifecycle_factories import PDF, create_application


@pytest.fixture
def drafts(app, client):
    edition = create_edition(max_applications_per_organisation=3)
    owner = create_user("applicant")
    rows = [create_application(edition, owner.organisation, owner) for _ in range(2)]
    db.session.commit()
    return [row.id for row in rows], token(client, owner.email)


def submit(client, application_id, headers, key=None, **kwargs):
    if key is not None:
        headers = {**headers, "Idempotency-Key": key}
    return client.post(f"/api/v1/applications/{application_id}/submit", headers=headers, **kwargs)


def submissions():
    counted = select(func.count(AuditEvent.id)).where(AuditEvent.trigger == "submit")
    return db.session.scalar(counted)


def test_a_retry_with_the_same_key_gets_the_same_answer(client, drafts):
    (first, _), headers = drafts
    answer = submit(client, first, headers, key="6f1c2a9e-prova")
    assert answer.status_code == 200, answer.get_json()
    assert "Idempotent-Replayed" not in answer.headers
    for _ in range(2):
        again = submit(client, first, headers, key="6f1c2a9e-prova")
        assert again.status_code == 200
        assert again.get_json() == answer.get_json()
        assert again.headers["Idempotent-Replayed"] == "true"
    assert submissions() == 1
    # Without the key, submitting twice is the state machine's refusal, as before.
    refused = submit(client, first, headers)
    assert refused.status_code == 409


def test_a_key_used_for_another_request_is_refused(client, drafts):
    (first, second), headers = drafts
    assert submit(client, first, headers, key="chiave-1").status_code == 200
    reused = submit(client, second, headers, key="chiave-1")
    assert reused.status_code == 422
    assert "Idempotency-Key" in reused.get_json()["errors"]
    assert db.session.get(Application, second).state == "draft"
    # Another body to the same path is another request too.
    assert submit(client, first, headers, key="chiave-1", json={"reason": "x"}).status_code == 422


@pytest.mark.parametrize("key", ["", "con spazio", "è", "x" * 101, "a\tb"])
def test_a_malformed_key_is_a_400_and_nothing_is_done(client, drafts, key):
    (first, _), headers = drafts
    response = submit(client, first, headers, key=key)
    assert response.status_code == 400
    assert db.session.get(Application, first).state == "draft"
    assert db.session.scalar(select(func.count(IdempotentRequest.id))) == 0


def test_a_refusal_is_not_kept_the_corrected_retry_goes_through(client, drafts):
    (first, _), headers = drafts
    application = db.session.get(Application, first)
    missing = application.attachments[0]
    kind, owner_id = missing.kind, missing.uploaded_by_id
    db.session.delete(missing)
    db.session.commit()
    refused = submit(client, first, headers, key="dopo-la-correzione")
    assert refused.status_code == 409
    assert db.session.scalar(select(func.count(IdempotentRequest.id))) == 0
    db.session.add(
        Attachment(
            application_id=first,
            kind=kind,
            filename=f"{kind}.pdf",
            size=len(PDF),
            sha256=hashlib.sha256(PDF).hexdigest(),
            data=PDF,
            uploaded_by_id=owner_id,
        )
    )
    db.session.commit()
    assert submit(client, first, headers, key="dopo-la-correzione").status_code == 200


def test_another_user_cannot_replay_someone_elses_key(client, drafts):
    (first, _), headers = drafts
    assert submit(client, first, headers, key="segreta").status_code == 200
    stranger = token(client, create_user("applicant").email)
    db.session.commit()
    response = submit(client, first, stranger, key="segreta")
    assert response.status_code == 404  # not theirs: the key reveals nothing


def test_twin_requests_racing_submit_once(app, drafts, postgres_only, tmp_path):
    """Two processes' worth of the same request at the same instant (the client retried
    before the first answer came): one submission, the same answer to both."""
    (first, _), headers = drafts
    served = create_app(dict(app.config), instance_path=str(tmp_path / "twins"))
    served.test_client_class = RequestClient
    answers = []
    start = threading.Barrier(2)

    def twin():
        with served.app_context():
            start.wait()
            answers.append(submit(served.test_client(), first, headers, key="gemelli"))
            db.session.remove()

    threads = [threading.Thread(target=twin) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200, 200], [a.get_json() for a in answers]
    assert answers[0].get_json() == answers[1].get_json()
    db.session.expire_all()
    assert submissions() == 1
    with served.app_context():
        db.engine.dispose()
