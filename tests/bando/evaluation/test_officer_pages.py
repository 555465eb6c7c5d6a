"""The officer's pages of the committee: members and their declarations, adding and
removing evaluators, the statistics with what is far off highlighted, the reviews of a
proposal and reopening one."""

import html as html_module
import re

from sqlalchemy import select

from bando.core.extensions import db
from bando.core.models import AuditEvent
from bando.core.timeutil import to_rome
from bando.evaluation import operations
from bando.evaluation.models import Assignment, Review
from tests.evaluation_factories import committee_world, scores
from tests.factories import PASSWORD, create_user


def login(client, user):
    client.post("/esci")
    response = client.post("/accedi", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302


def text(response) -> str:
    return html_module.unescape(response.get_data(as_text=True))


def review_all(edition, members, applications, given):
    """Each member declares and sends a review of every proposal with its points."""
    for member, points in zip(members, given, strict=True):
        operations.sign_declaration(edition, member, [])
        for application in applications:
            operations.save_review(
                application, member, scores(edition, *points), "motivazione", submit=True
            )
    db.session.commit()


def test_the_committee_page_lists_members_and_their_declarations(app, client):
    edition, officer, (first, second, third), _ = committee_world()
    signed = operations.sign_declaration(edition, first, [])
    db.session.commit()
    when = to_rome(signed.signed_at).strftime("%d/%m/%Y ore %H:%M")
    login(client, officer)
    page = client.get(f"/istruttoria/bandi/{edition.code}/commissione")
    assert page.status_code == 200
    html = text(page)
    for member in (first, second, third):
        assert f'data-member="{member.email}"' in html and member.full_name in html
    row = html[html.index(f'data-member="{first.email}"') :]
    assert when in row[: row.index("</tr>")]
    row = html[html.index(f'data-member="{second.email}"') :]
    assert "non ancora firmata" in row[: row.index("</tr>")]
    assert "Nessuna valutazione inviata finora." in html


def test_the_officer_adds_and_removes_an_evaluator(app, client):
    edition, officer, members, _ = committee_world(evaluators=0)
    evaluator = create_user("evaluator")
    applicant = create_user("applicant")
    db.session.commit()
    login(client, officer)
    path = f"/istruttoria/bandi/{edition.code}/commissione"
    html = text(client.get(path))
    assert f'<option value="{evaluator.id}">' in html
    assert f'<option value="{applicant.id}">' not in html  # only evaluators are offered
    added = client.post(path, data={"evaluator": evaluator.id}, follow_redirects=True)
    assert f"{evaluator.full_name} fa ora parte della commissione." in text(added)
    assert f'data-member="{evaluator.email}"' in text(added)
    assert db.session.scalar(select(Assignment.evaluator_id)) == evaluator.id
    # Twice, or someone who is not an evaluator: refused with the reason, nothing added.
    twice = client.post(path, data={"evaluator": evaluator.id}, follow_redirects=True)
    assert "Valutatore non aggiunto: già componente della commissione." in text(twice)
    wrong = client.post(path, data={"evaluator": applicant.id}, follow_redirects=True)
    assert "Valutatore non aggiunto: scegliere un valutatore attivo." in text(wrong)
    empty = client.post(path, data={"evaluator": ""})
    assert empty.status_code == 422 and "Scegliere un valutatore." in text(empty)
    assert client.post(path, data={"evaluator": 2**40}).status_code == 422
    assert len(db.session.scalars(select(Assignment)).all()) == 1
    # Removing asks first; then the evaluator leaves the committee.
    remove = f"{path}/componenti/{evaluator.id}/rimuovi"
    asked = client.get(remove)
    assert asked.status_code == 200 and "Rimuovere" in text(asked)
    assert db.session.scalar(select(Assignment.id)) is not None
    client.post(remove, data={})  # no confirmation: the question again, nothing removed
    assert db.session.scalar(select(Assignment.id)) is not None
    done = client.post(remove, data={"confirm": "1"}, follow_redirects=True)
    assert f"{evaluator.full_name} non fa più parte della commissione." in text(done)
    assert db.session.scalar(select(Assignment.id)) is None
    assert client.get(remove).status_code == 404
    triggers = db.session.scalars(select(AuditEvent.trigger).order_by(AuditEvent.id)).all()
    assert triggers == ["assign_evaluator", "remove_evaluator"]


def test_an_evaluator_who_reviewed_is_not_removed(app, client):
    edition, officer, members, applications = committee_world(proposals=1)
    review_all(edition, members[:1], applications, [(30, 20, 20)])
    login(client, officer)
    path = f"/istruttoria/bandi/{edition.code}/commissione/componenti/{members[0].id}/rimuovi"
    done = client.post(path, data={"confirm": "1"}, follow_redirects=True)
    assert done.status_code == 200
    assert "Valutatore non rimosso: il valutatore ha già valutato delle domande" in text(done)
    assert len(db.session.scalars(select(Assignment)).all()) == 3


def test_the_statistics_highlight_who_and_what_is_far_off(app, client):
    edition, officer, members, applications = committee_world(proposals=2)
    review_all(edition, members, applications, [(40, 30, 30), (38, 28, 28), (10, 5, 5)])
    login(client, officer)
    html = text(client.get(f"/istruttoria/bandi/{edition.code}/commissione"))
    stats = html[html.index("data-evaluator-stats") :]
    far = stats[stats.index(f'data-evaluator="{members[2].email}"') - 40 :]
    far = far[: far.index("</tr>")]
    assert 'class="table-warning"' in far and 'data-flagged="true"' in far
    assert "da verificare" in far and members[2].full_name in far
    assert "20,00" in far and "−74,00" in far  # mean total, deviation from the panel
    near = stats[stats.index(f'data-evaluator="{members[0].email}"') - 40 :]
    near = near[: near.index("</tr>")]
    assert "table-warning" not in near and 'data-flagged="false"' in near
    assert "100,00" in near and "+6,00" in near
    proposals = html[html.index("data-proposal-stats") :]
    for application in applications:
        row = proposals[proposals.index(f'data-proposal="{application.id}"') - 40 :]
        row = row[: row.index("</tr>")]
        assert 'class="table-warning"' in row and application.protocol in row
        assert ">20<" in row and ">100<" in row and ">80<" in row  # min, max, spread


def test_the_officer_reads_the_reviews_and_reopens_one(app, client):
    edition, officer, members, (application,) = committee_world(proposals=1)
    review_all(edition, members, [application], [(40, 30, 30), (38, 28, 28), (30, 20, 20)])
    login(client, officer)
    path = f"/istruttoria/bandi/{edition.code}/commissione/domande/{application.id}"
    html = text(client.get(path))
    assert html.count("data-review=") == 3
    # "Inviata il 15/12/2026", or elided before 1, 8 and 11: "Inviata l'08/12/2026".
    assert re.search(r"Inviata (il |l')\d\d/\d\d/\d{4} ore \d\d:\d\d", html)
    assert "Riapri la valutazione" in html
    review = db.session.scalar(select(Review).where(Review.evaluator_id == members[2].id))
    reopen = f"/istruttoria/bandi/{edition.code}/commissione/valutazioni/{review.id}/riapri"
    # Without a reason: refused beside its field, nothing changes.
    refused = client.post(reopen, data={"reason": "  "})
    assert refused.status_code == 422 and "Indicare il motivo." in text(refused)
    # A control character, as the API would: refused beside its field.
    control = client.post(reopen, data={"reason": "punteggio\x08 da motivare"})
    assert control.status_code == 422 and "il carattere U+0008" in text(control)
    db.session.expire_all()
    assert db.session.get(Review, review.id).submitted_at is not None
    done = client.post(
        reopen, data={"reason": "punteggio della rete da motivare"}, follow_redirects=True
    )
    assert "è stata riaperta" in text(done)
    db.session.expire_all()
    assert db.session.get(Review, review.id).submitted_at is None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.trigger == "reopen_review"))
    assert event.reason == "punteggio della rete da motivare" and event.actor_id == officer.id
    html = text(client.get(path))
    assert "In bozza: non ancora inviata" in html
    assert html.count("Riapri la valutazione") == 2
    # Reopening a draft is refused by the operation, with its reason.
    again = client.post(reopen, data={"reason": "ancora"}, follow_redirects=True)
    assert "Valutazione non riaperta: la valutazione non è stata inviata." in text(again)


def test_the_committee_pages_are_for_officers_only(app, client):
    edition, officer, members, (application, *_) = committee_world(proposals=1)
    review_all(edition, members[:1], [application], [(30, 20, 20)])
    review = db.session.scalar(select(Review))
    base = f"/istruttoria/bandi/{edition.code}/commissione"
    gets = [base, f"{base}/domande/{application.id}", f"{base}/componenti/{members[0].id}/rimuovi"]
    posts = [base, f"{base}/valutazioni/{review.id}/riapri", gets[2]]
    for path in gets:
        assert client.get(path).status_code == 302  # to the sign-in page
    for role in ("applicant", "evaluator", "finance", "admin"):
        login(client, members[0] if role == "evaluator" else create_user(role))
        db.session.commit()
        for path in gets:
            assert client.get(path).status_code == 403, (role, path)
        for path in posts:
            assert client.post(path, data={"reason": "x", "confirm": "1"}).status_code == 403
    login(client, officer)
    assert client.get("/istruttoria/bandi/nessuno/commissione").status_code == 404
    other, *_ = committee_world(proposals=0)
    # A proposal of another call, or a review id that does not exist: not found.
    elsewhere = f"/istruttoria/bandi/{other.code}/commissione/domande/{application.id}"
    assert client.get(elsewhere).status_code == 404
    missing = client.post(f"{base}/valutazioni/{2**40}/riapri", data={"reason": "x"})
    assert missing.status_code == 404
    assert client.get(f"{base}/componenti/{2**40}/rimuovi").status_code == 404
    assert db.session.scalar(select(Review.submitted_at)) is not None
