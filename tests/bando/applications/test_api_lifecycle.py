"""The lifecycle endpoints: events, eligibility decisions, closing a call."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from bando.accounts.operations import issue_token
from bando.applications.models import Application
from bando.calls.models import Edition
from bando.core.extensions import db
from bando.core.models import AuditEvent
from bando.core.timeutil import to_rome, utcnow
from tests.factories import create_edition, create_organisation, create_user
from tests.lifecycle_factories import create_application, put_in_state


def bearer(user):
    return {"Authorization": f"Bearer {issue_token(user, 1)}"}


@pytest.fixture
def setting(app):
    edition = create_edition("cdq-api")
    organisation = create_organisation()
    owner = create_user("applicant", organisation=organisation)
    application = create_application(edition, organisation, owner)
    put_in_state(application, "submitted")
    people = {
        "owner": owner,
        "colleague": create_user("applicant", organisation=organisation),
        "stranger": create_user("applicant"),
        "officer": create_user("officer"),
        "evaluator": create_user("evaluator"),
    }
    headers = {name: bearer(user) for name, user in people.items()}
    db.session.commit()
    return {"edition": edition, "application": application, "headers": headers, **people}


def events_count():
    return db.session.scalar(select(func.count(AuditEvent.id)))


def test_officer_declares_eligible_and_the_owner_reads_the_event(client, setting):
    application = setting["application"]
    response = client.post(
        f"/api/v1/applications/{application.id}/eligibility",
        json={"decision": "eligible", "reason": "requisiti verificati"},
        headers=setting["headers"]["officer"],
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["state"] == "eligible"
    # An evaluator not on the call's committee does not see it (see tests/bando/evaluation).
    assert (
        client.get(
            f"/api/v1/applications/{application.id}/events", headers=setting["headers"]["evaluator"]
        ).status_code
        == 404
    )
    for reader in ("owner", "colleague", "officer"):
        events = client.get(
            f"/api/v1/applications/{application.id}/events", headers=setting["headers"][reader]
        )
        assert events.status_code == 200, reader
        [event] = events.get_json()["events"]
        assert (event["trigger"], event["from"], event["to"]) == (
            "declare_eligible",
            "submitted",
            "eligible",
        )
        assert event["reason"] == "requisiti verificati"
        # The staff see who; the organisation sees the office's role, never an address.
        staff = reader == "officer"
        assert event["actor"] == (setting["officer"].email if staff else "istruttore")
        assert len(event["hash"]) == 64


def test_events_are_404_for_strangers_and_unknown_ids(client, setting):
    application = setting["application"]
    stranger = setting["headers"]["stranger"]
    mine = client.get(f"/api/v1/applications/{application.id}/events", headers=stranger)
    unknown = client.get("/api/v1/applications/999999/events", headers=stranger)
    huge = client.get("/api/v1/applications/99999999999999/events", headers=stranger)
    assert mine.status_code == unknown.status_code == huge.status_code == 404
    assert mine.get_json() == unknown.get_json()
    assert client.get(f"/api/v1/applications/{application.id}/events").status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "ineligible"}, "reason"),
        ({"decision": "request_integration", "reason": "  "}, "reason"),
        ({"decision": "maybe", "reason": "x"}, "decision"),
        ({"reason": "x"}, "decision"),
        ({"decision": "eligible", "reason": 3}, "reason"),
    ],
)
def test_bad_decisions_are_422_and_change_nothing(client, setting, body, field):
    application = setting["application"]
    response = client.post(
        f"/api/v1/applications/{application.id}/eligibility",
        json=body,
        headers=setting["headers"]["officer"],
    )
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    assert events_count() == 0
    db.session.expire_all()
    assert db.session.get(Application, application.id).state == "submitted"


def test_only_officers_decide(client, setting):
    application = setting["application"]
    for who in ("owner", "evaluator"):
        response = client.post(
            f"/api/v1/applications/{application.id}/eligibility",
            json={"decision": "eligible"},
            headers=setting["headers"][who],
        )
        assert response.status_code == 403
    assert events_count() == 0


def test_a_refused_decision_is_409_with_the_reason(client, setting):
    application = setting["application"]
    headers = setting["headers"]["officer"]
    url = f"/api/v1/applications/{application.id}/eligibility"
    assert client.post(url, json={"decision": "eligible"}, headers=headers).status_code == 200
    again = client.post(url, json={"decision": "ineligible", "reason": "x"}, headers=headers)
    assert again.status_code == 409
    assert again.get_json()["code"] == "invalid_state"
    assert again.get_json()["error"]  # the reason, in Italian, for people
    assert events_count() == 1


def test_request_for_documents_sets_the_deadline_and_expires_lazily(client, setting):
    application = setting["application"]
    response = client.post(
        f"/api/v1/applications/{application.id}/eligibility",
        json={"decision": "request_integration", "reason": "Manca lo statuto firmato."},
        headers=setting["headers"]["officer"],
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["state"] == "integration_requested"
    deadline = to_rome(datetime.fromisoformat(body["integration_deadline"]))
    assert deadline.date() == to_rome(utcnow()).date() + timedelta(days=10)
    assert deadline.strftime("%H:%M:%S") == "23:59:59"
    # The deadline passes; the next read finds the application ineligible, with the reason.
    db.session.expire_all()
    application = db.session.get(Application, application.id)
    application.integration_deadline = utcnow() - timedelta(seconds=1)
    db.session.commit()
    events = client.get(
        f"/api/v1/applications/{application.id}/events", headers=setting["headers"]["owner"]
    ).get_json()
    assert events["state"] == "ineligible"
    assert [e["trigger"] for e in events["events"]] == ["request_integration", "expire_integration"]
    assert events["events"][-1]["actor"] == "sistema"


def test_officer_closes_a_call_early(client, setting):
    headers = setting["headers"]
    url = "/api/v1/editions/cdq-api/close"
    assert client.post(url, headers=headers["owner"]).status_code == 403
    assert client.post("/api/v1/editions/nope/close", headers=headers["officer"]).status_code == 404
    response = client.post(url, json={"reason": "fondi esauriti"}, headers=headers["officer"])
    assert response.status_code == 200
    assert response.get_json()["state"] == "closed"
    again = client.post(url, headers=headers["officer"])
    assert again.status_code == 409
    assert again.get_json()["code"] == "invalid_state"
    db.session.expire_all()
    assert db.session.scalar(select(Edition.state).where(Edition.code == "cdq-api")) == "closed"


def test_tick_command_expires_and_closes(app, runner):
    edition = create_edition("cdq-tick", closes_at=utcnow() + timedelta(days=1))
    past = create_edition("cdq-past")
    past.closes_at = utcnow() - timedelta(minutes=1)
    organisation = create_organisation()
    owner = create_user("applicant", organisation=organisation)
    overdue = put_in_state(
        create_application(edition, organisation, owner),
        "integration_requested",
        integration_deadline=utcnow() - timedelta(seconds=1),
    )
    waiting = put_in_state(
        create_application(edition, organisation, owner, title="In attesa"),
        "integration_requested",
        integration_deadline=utcnow() + timedelta(days=1),
    )
    db.session.commit()
    result = runner.invoke(args=["tick"])
    assert result.exit_code == 0, result.output
    assert f"application {overdue.protocol}: integration expired, ineligible" in result.output
    assert "edition cdq-past: closed" in result.output
    assert "tick: 2 change(s)" in result.output
    db.session.expire_all()
    assert db.session.get(Application, overdue.id).state == "ineligible"
    assert db.session.get(Application, waiting.id).state == "integration_requested"
    assert db.session.get(Edition, edition.id).state == "open"
    again = runner.invoke(args=["tick"])
    assert "tick: 0 change(s)" in again.output
