"""The committee through the API: declaration first, linked organisations never shown,
recusal, others' scores only after one's own, the last review moves to scored."""

import pytest
from sqlalchemy import func, select

from bando.applications.models import Application
from bando.calls.models import Edition
from bando.core import audit
from bando.core.extensions import db
from bando.core.models import AuditEvent
from tests.evaluation_factories import committee_world, scores, token


def url(application, tail=""):
    return f"/api/v1/applications/{application.id}{tail}"


def test_an_evaluator_sees_nothing_before_declaring_then_never_a_linked_organisation(app, client):
    edition, officer, (first, second, _), (a, b, c, d) = committee_world()
    headers = token(client, first)
    # Before the declaration: no proposal at all, not even to score it.
    assert client.get(url(a), headers=headers).status_code == 404
    response = client.post(
        url(a, "/reviews"), headers=headers, json={"scores": scores(edition, 30, 20, 20)}
    )
    assert response.status_code == 404
    # The declaration names the organisation of proposal b.
    declared = client.post(
        f"/api/v1/editions/{edition.code}/conflict-declaration",
        headers=headers,
        json={"linked_organisations": [b.organisation.tax_code]},
    )
    assert declared.status_code == 201, declared.get_json()
    assert declared.get_json()["linked_organisations"] == [b.organisation.tax_code]
    assert "art. 6-bis" in declared.get_json()["text"]
    again = client.post(f"/api/v1/editions/{edition.code}/conflict-declaration", headers=headers)
    assert again.status_code == 409 and again.get_json()["code"] == "already_declared"
    assert client.get(url(a), headers=headers).status_code == 200
    for path in ("", "/events", "/reviews", "/attachments"):
        assert client.get(url(b, path), headers=headers).status_code == 404, path
    # Another evaluator, not linked, sees b once declared.
    other = token(client, second)
    client.post(f"/api/v1/editions/{edition.code}/conflict-declaration", headers=other, json={})
    assert client.get(url(b), headers=other).status_code == 200
    # Someone not on the committee signs nothing.
    from tests.factories import create_user

    outsider = create_user("evaluator")
    db.session.commit()
    refused = client.post(
        f"/api/v1/editions/{edition.code}/conflict-declaration", headers=token(client, outsider)
    )
    assert refused.status_code == 403 and refused.get_json()["code"] == "not_on_committee"
    declarations = db.session.scalars(
        select(AuditEvent).where(AuditEvent.trigger == "sign_declaration")
    ).all()
    assert len(declarations) == 2


def test_recusal_hides_the_proposal_from_then_on(app, client):
    edition, _, (first, *_), (a, *_) = committee_world()
    headers = token(client, first)
    client.post(f"/api/v1/editions/{edition.code}/conflict-declaration", headers=headers, json={})
    response = client.post(
        url(a, "/reviews"),
        headers=headers,
        json={"conflict_of_interest": True, "reason": "sono socio dell'ente"},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["conflict_of_interest"] is True
    assert client.get(url(a), headers=headers).status_code == 404
    assert client.post(url(a, "/reviews"), headers=headers, json={"scores": {}}).status_code == 404


def test_others_scores_only_after_submitting_ones_own_and_the_last_review_scores(app, client):
    edition, officer, members, (a, *_) = committee_world()
    headers = [token(client, m) for m in members]
    for h in headers:
        client.post(f"/api/v1/editions/{edition.code}/conflict-declaration", headers=h, json={})
    first = client.post(
        url(a, "/reviews"),
        headers=headers[0],
        json={"scores": scores(edition, 30, 20, 25), "comment": "buono"},
    )
    assert first.status_code == 200 and first.get_json()["total"] == 75
    # The second evaluator's draft: saved, not submitted; sees only their own.
    draft = client.post(
        url(a, "/reviews"),
        headers=headers[1],
        json={"scores": {"coherence": 35}, "submit": False},
    )
    assert draft.status_code == 200 and draft.get_json()["submitted_at"] is None
    mine = client.get(url(a, "/reviews"), headers=headers[1]).get_json()["reviews"]
    assert [r["evaluator"] for r in mine] == [members[1].email]
    # Submitting: a low score needs a comment, and every criterion its points.
    low = client.post(
        url(a, "/reviews"), headers=headers[1], json={"scores": scores(edition, 35, 10, 20)}
    )
    assert low.status_code == 422 and "comment" in low.get_json()["errors"]
    missing = client.post(
        url(a, "/reviews"), headers=headers[1], json={"scores": {"coherence": 35}}
    )
    assert missing.status_code == 422 and "scores.network" in missing.get_json()["errors"]
    above = client.post(
        url(a, "/reviews"), headers=headers[1], json={"scores": scores(edition, 41, 20, 20)}
    )
    assert above.status_code == 422 and "scores.coherence" in above.get_json()["errors"]
    sent = client.post(
        url(a, "/reviews"),
        headers=headers[1],
        json={"scores": scores(edition, 35, 10, 20), "comment": "rete debole"},
    )
    assert sent.status_code == 200
    everyone = client.get(url(a, "/reviews"), headers=headers[1]).get_json()["reviews"]
    assert {r["evaluator"] for r in everyone} == {members[0].email, members[1].email}
    # The third one sees only their own until they submit; then the proposal is scored.
    assert len(client.get(url(a, "/reviews"), headers=headers[2]).get_json()["reviews"]) == 0
    assert db.session.get(Application, a.id).state == "eligible"
    last = client.post(
        url(a, "/reviews"), headers=headers[2], json={"scores": scores(edition, 20, 20, 20)}
    )
    assert last.status_code == 200
    db.session.expire_all()
    assert db.session.get(Application, a.id).state == "scored"
    moved = db.session.scalars(
        select(AuditEvent).where(AuditEvent.trigger == "complete_scoring")
    ).one()
    assert (moved.application_id, moved.actor_id) == (a.id, None)
    # The officer reopens a review, saying why; the evaluator sends it again.
    review_id = last.get_json()["id"]
    officer_headers = token(client, officer)
    assert (
        client.post(
            f"/api/v1/reviews/{review_id}/reopen", headers=officer_headers, json={}
        ).status_code
        == 422
    )
    reopened = client.post(
        f"/api/v1/reviews/{review_id}/reopen",
        headers=officer_headers,
        json={"reason": "punteggio della rete da motivare"},
    )
    assert reopened.status_code == 200 and reopened.get_json()["submitted_at"] is None
    again = client.post(
        url(a, "/reviews"),
        headers=headers[2],
        json={"scores": scores(edition, 20, 14, 20), "comment": "ok"},
    )
    assert again.status_code == 200
    db.session.expire_all()
    assert db.session.get(Application, a.id).state == "scored"
    assert audit.verify() is None


# Each evaluator's points on the three criteria; the third far below the others.
DISAGREEING = [(40, 30, 30), (38, 28, 28), (10, 5, 5)]


def review_all(client, edition, members, applications):
    """Each member declares, then scores every proposal with DISAGREEING's points."""
    for member, points in zip(members, DISAGREEING, strict=True):
        h = token(client, member)
        client.post(f"/api/v1/editions/{edition.code}/conflict-declaration", headers=h, json={})
        for application in applications:
            response = client.post(
                url(application, "/reviews"),
                headers=h,
                json={"scores": scores(edition, *points), "comment": "motivazione"},
            )
            assert response.status_code == 200, response.get_json()


def test_the_statistics_show_where_the_committee_disagrees(app, client):
    edition, officer, members, applications = committee_world(proposals=2)
    review_all(client, edition, members, applications)
    figures = client.get(
        f"/api/v1/editions/{edition.code}/statistics", headers=token(client, officer)
    ).get_json()
    flagged = {e["evaluator"] for e in figures["evaluators"] if e["flagged"]}
    assert members[2].email in flagged and members[0].email not in flagged
    assert all(p["spread"] == 100 - 20 for p in figures["proposals"])
    assert all(p["flagged"] for p in figures["proposals"])


@pytest.mark.parametrize("proposals", [2, 6])
def test_the_statistics_read_one_query_whatever_the_committee_scored(app, client, proposals):
    from bando.evaluation.operations import statistics
    from tests.statements import recorded_statements

    edition, _officer, members, applications = committee_world(proposals=proposals)
    review_all(client, edition, members, applications)
    db.session.expire_all()
    with recorded_statements() as seen:
        figures = statistics(db.session.get(Edition, edition.id))
    assert len(seen) == 2  # the call (expired above), then the reviews with their totals
    assert [e["evaluator"] for e in figures["evaluators"]] == [m.email for m in members]
    assert [e["mean"] for e in figures["evaluators"]] == ["100.00", "94.00", "20.00"]
    assert {p["protocol"] for p in figures["proposals"]} == {a.protocol for a in applications}
    assert {(p["reviews"], p["min"], p["max"]) for p in figures["proposals"]} == {(3, 20, 100)}


def test_the_officer_composes_the_committee(app, client):
    edition, officer, members, _ = committee_world(evaluators=0)
    from tests.factories import create_user

    evaluator, applicant = create_user("evaluator"), create_user("applicant")
    db.session.commit()
    headers = token(client, officer)
    path = f"/api/v1/editions/{edition.code}/committee"
    added = client.post(path, headers=headers, json={"evaluator": evaluator.email})
    assert added.status_code == 201
    assert [m["email"] for m in added.get_json()["evaluators"]] == [evaluator.email]
    twice = client.post(path, headers=headers, json={"evaluator": evaluator.email})
    assert twice.status_code == 409
    wrong = client.post(path, headers=headers, json={"evaluator": applicant.email})
    assert wrong.status_code == 422
    assert client.get(path, headers=token(client, evaluator)).status_code == 403
    # Once the ranking is approved, a member added would only read every proposal.
    latecomer = create_user("evaluator")
    edition.state = "ranked"
    db.session.commit()
    late = client.post(path, headers=headers, json={"evaluator": latecomer.email})
    assert late.status_code == 409 and late.get_json()["code"] == "committee_closed"


def test_the_officer_takes_an_evaluator_off_the_committee_until_they_review(app, client):
    edition, officer, (first, second, _), (a, *_rest) = committee_world()
    headers = token(client, officer)
    path = f"/api/v1/editions/{edition.code}/committee"
    for missing in (
        f"{path}/987654",
        f"{path}/{officer.id}",
        f"/api/v1/editions/nessuno/committee/{first.id}",
    ):
        assert client.delete(missing, headers=headers).status_code == 404, missing
    assert client.delete(f"{path}/{first.id}", headers=token(client, first)).status_code == 403
    # The first evaluator reviews: from then on they stay on the record.
    mine = token(client, first)
    client.post(f"/api/v1/editions/{edition.code}/conflict-declaration", headers=mine)
    sent = client.post(
        url(a, "/reviews"), headers=mine, json={"scores": scores(edition, 30, 20, 20)}
    )
    assert sent.status_code in (200, 201), sent.get_json()
    events = db.session.scalar(select(func.count(AuditEvent.id)))
    kept = client.delete(f"{path}/{first.id}", headers=headers)
    assert kept.status_code == 409 and kept.get_json()["code"] == "has_reviews"
    assert db.session.scalar(select(func.count(AuditEvent.id))) == events

    removed = client.delete(f"{path}/{second.id}", headers=headers)
    assert removed.status_code == 200, removed.get_json()
    members = [m["email"] for m in removed.get_json()["evaluators"]]
    assert second.email not in members and first.email in members
    assert (
        client.get(path, headers=headers).get_json()["evaluators"]
        == removed.get_json()["evaluators"]
    )
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.trigger == "remove_evaluator" and event.payload["evaluator"] == second.email
    assert client.delete(f"{path}/{second.id}", headers=headers).status_code == 404


def test_the_organisation_does_not_read_the_committees_work_in_its_trail(app, client):
    from bando.accounts.models import User
    from tests.bando.ranking.test_api import score_all

    edition, officer, members, (a, *_rest) = committee_world(proposals=1)
    score_all(client, edition, members, [a], [(35, 25, 20)])
    path = f"/api/v1/applications/{a.id}/events"
    staff = {
        e["trigger"] for e in client.get(path, headers=token(client, officer)).get_json()["events"]
    }
    assert "submit_review" in staff
    owner = db.session.get(User, a.created_by_id)
    seen = {
        e["trigger"] for e in client.get(path, headers=token(client, owner)).get_json()["events"]
    }
    assert not seen & {"submit_review", "recuse", "reopen_review", "tick_check"}
    assert "complete_scoring" in seen  # the move of its proposal, it does read
