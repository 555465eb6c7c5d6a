"""The officer's admissibility work through the API: the checklist, manual ticks, and the
notice before rejection (art. 10-bis L. 241/1990) where the call sets it."""

from datetime import timedelta

from sqlalchemy import select

from bando.applications.models import Application
from bando.core.extensions import db
from bando.core.models import AuditEvent, Notification
from bando.core.timeutil import utcnow
from tests.evaluation_factories import token
from tests.factories import create_edition, create_organisation, create_user
from tests.lifecycle_factories import create_application, put_in_state


def setting(**source):
    edition = create_edition()
    edition.source = source
    organisation = create_organisation()
    owner = create_user("applicant", organisation=organisation)
    application = put_in_state(create_application(edition, organisation, owner), "submitted")
    officer = create_user("officer")
    db.session.commit()
    return application, owner, officer


def test_the_checklist_names_each_rule_and_holds_a_failing_proposal(app, client):
    application, owner, officer = setting(
        admissibility_checks=[
            {"code": "firma", "label": "Domanda firmata dal legale rappresentante"}
        ]
    )
    headers = token(client, officer)
    path = f"/api/v1/applications/{application.id}/checklist"
    checklist = client.get(path, headers=headers).get_json()
    codes = {c["code"]: c for c in checklist["checks"]}
    assert codes["non_profit"]["passed"] is True and codes["attachments"]["passed"] is True
    assert codes["firma"] == {
        "code": "firma",
        "label": "Domanda firmata dal legale rappresentante",
        "passed": None,
        "message": "",
        "manual": True,
    }
    assert checklist["admissible"] is False
    # Declaring eligible waits for the manual check: refused, saying which.
    decide = f"/api/v1/applications/{application.id}/eligibility"
    refused = client.post(decide, headers=headers, json={"decision": "eligible"})
    assert refused.status_code == 409 and refused.get_json()["code"] == "not_admissible"
    assert any("firmata" in m for m in refused.get_json()["errors"]["checklist"])
    ticked = client.post(
        path, headers=headers, json={"code": "firma", "passed": True, "note": "ok"}
    )
    assert ticked.status_code == 200 and ticked.get_json()["admissible"] is True
    assert (
        client.post(path, headers=headers, json={"code": "boh", "passed": True}).status_code == 422
    )
    assert client.post(decide, headers=headers, json={"decision": "eligible"}).status_code == 200
    ticks = db.session.scalars(select(AuditEvent).where(AuditEvent.trigger == "tick_check")).all()
    assert [t.payload for t in ticks] == [{"code": "firma", "passed": True}]
    # The checklist is the officer's: the organisation does not get it.
    assert client.get(path, headers=token(client, owner)).status_code == 403


def test_an_automatic_check_that_fails_holds_the_decision(app, client):
    application, _, officer = setting()
    application.submitted_at = application.edition.closes_at + timedelta(minutes=1)
    db.session.commit()
    refused = client.post(
        f"/api/v1/applications/{application.id}/eligibility",
        headers=token(client, officer),
        json={"decision": "eligible"},
    )
    assert refused.status_code == 409 and refused.get_json()["code"] == "not_admissible"
    assert any("dopo la scadenza" in m for m in refused.get_json()["errors"]["checklist"])


def test_the_notice_before_rejection_is_answered_and_the_answer_shown(app, client):
    application, owner, officer = setting(rules={"rejection_notice_days": 10})
    officer_headers, owner_headers = token(client, officer), token(client, owner)
    decide = f"/api/v1/applications/{application.id}/eligibility"
    # The call wants a notice first: rejecting straight away is refused, saying so.
    direct = client.post(
        decide, headers=officer_headers, json={"decision": "ineligible", "reason": "x"}
    )
    assert direct.status_code == 409 and direct.get_json()["code"] == "rejection_notice_required"
    notice = client.post(
        decide,
        headers=officer_headers,
        json={
            "decision": "notify_rejection",
            "reason": "Le attività non si svolgono nel quartiere.",
        },
    )
    assert notice.status_code == 200, notice.get_json()
    assert notice.get_json()["state"] == "rejection_notified"
    assert notice.get_json()["notice_deadline"].endswith(("+01:00", "+02:00"))
    mail = db.session.scalars(
        select(Notification).where(Notification.subject.like("Preavviso%"))
    ).all()
    assert mail and "10-bis" in mail[0].body and "quartiere" in mail[0].body
    # Before the answer and the deadline, the officer may not decide.
    early = client.post(
        decide, headers=officer_headers, json={"decision": "ineligible", "reason": "x"}
    )
    assert early.status_code == 409 and early.get_json()["code"] == "notice_pending"
    # The organisation answers with observations (and may add documents meanwhile).
    answer = client.post(
        f"/api/v1/applications/{application.id}/observations",
        headers=owner_headers,
        json={"observations": "Le attività si svolgono nel cortile di via Selinunte 4."},
    )
    assert answer.status_code == 200 and answer.get_json()["state"] == "rejection_notified"
    twice = client.post(
        f"/api/v1/applications/{application.id}/observations",
        headers=owner_headers,
        json={"observations": "ancora"},
    )
    assert twice.status_code == 409 and twice.get_json()["code"] == "notice_answered"
    # The officer reads the answer, then decides.
    read = client.get(f"/api/v1/applications/{application.id}", headers=officer_headers).get_json()
    assert read["notice_answer"].startswith("Le attività si svolgono")
    assert read["notice_answered_at"]
    decided = client.post(decide, headers=officer_headers, json={"decision": "eligible"})
    assert decided.status_code == 200 and decided.get_json()["state"] == "eligible"
    triggers = [
        e.trigger
        for e in db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.application_id == application.id)
            .order_by(AuditEvent.id)
        )
    ]
    assert triggers == ["notify_rejection", "answer_notice", "declare_eligible"]


def test_no_answer_in_time_lets_the_officer_decide(app, client):
    application, owner, officer = setting(rules={"rejection_notice_days": 10})
    put_in_state(application, "rejection_notified", notice_deadline=utcnow() - timedelta(seconds=2))
    db.session.commit()
    late = client.post(
        f"/api/v1/applications/{application.id}/observations",
        headers=token(client, owner),
        json={"observations": "troppo tardi"},
    )
    assert late.status_code == 409 and late.get_json()["code"] == "notice_deadline_passed"
    decided = client.post(
        f"/api/v1/applications/{application.id}/eligibility",
        headers=token(client, officer),
        json={"decision": "ineligible", "reason": "nessuna osservazione nel termine"},
    )
    assert decided.status_code == 200 and decided.get_json()["state"] == "ineligible"
    assert db.session.get(Application, application.id).state == "ineligible"
