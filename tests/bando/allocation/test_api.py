"""The allocation through the API: the run, the trap of a renunciation, idempotence, the
database's own guard of the cap, acceptance, revocation, simulation and the budget."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bando.allocation.models import AllocationRun
from bando.applications.models import Application
from bando.budget.models import Award, Payment
from bando.core import audit
from bando.core.extensions import db
from bando.core.models import AuditEvent
from bando.core.tick import tick
from bando.core.timeutil import utcnow
from tests.allocation_factories import ranked_world
from tests.evaluation_factories import token


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def states(rows):
    db.session.expire_all()
    return [db.session.get(Application, a.id).state for a, _ in rows]


def test_the_trap_a_renunciation_never_takes_a_later_award_away(app, client):
    # cap 1000: P1 600, W 300, A 400, B 100 under skip.
    edition, officer, rows = ranked_world([600, 300, 400, 100])
    (p1, _), (w, w_owner), (a, a_owner), (b, _) = rows
    response = client.post(
        f"/api/v1/editions/{edition.code}/allocation", headers=token(client, officer)
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [(d["outcome"], d["amount"]) for d in body["decisions"]] == [
        ("funded", "600.00"),
        ("funded", "300.00"),
        ("reserve", "0.00"),
        ("funded", "100.00"),
    ]
    assert body["residual"] == "0.00"
    assert states(rows) == ["funded", "funded", "reserve", "funded"]
    # W renounces: 300 are freed; A (400) does not fit; B keeps its 100.
    renounced = client.post(f"/api/v1/applications/{w.id}/renounce", headers=token(client, w_owner))
    assert renounced.status_code == 200, renounced.get_json()
    assert states(rows) == ["funded", "renounced", "reserve", "funded"]
    assert (
        db.session.scalar(select(Award.amount_cents).where(Award.application_id == b.id)) == 100_00
    )
    explained = client.get(
        f"/api/v1/applications/{a.id}/allocation", headers=token(client, a_owner)
    ).get_json()
    assert explained["outcome"] == "reserve" and explained["position"] == 3
    assert explained["reason_text"] == (
        "in riserva: posizione 1; le risorse residue (€ 300,00) non coprono la richiesta di "
        "€ 400,00"
    )
    budget = client.get(f"/api/v1/editions/{edition.code}/budget").get_json()
    assert (budget["cap"], budget["committed"], budget["available"]) == (
        "1000.00",
        "700.00",
        "300.00",
    )
    assert audit.verify() is None


def test_a_second_run_changes_nothing(app, client):
    edition, officer, rows = ranked_world([200, 300, 500, 100])
    headers = token(client, officer)
    first = client.post(f"/api/v1/editions/{edition.code}/allocation", headers=headers).get_json()
    # 200 + 300 + 500 fit exactly; 100 does not.
    assert [d["outcome"] for d in first["decisions"]] == ["funded", "funded", "funded", "reserve"]
    events, runs, awards = count(AuditEvent), count(AllocationRun), count(Award)
    again = client.post(f"/api/v1/editions/{edition.code}/allocation", headers=headers)
    assert again.status_code == 200
    assert [d["outcome"] for d in again.get_json()["decisions"]] == [
        d["outcome"] for d in first["decisions"]
    ]
    assert (count(AuditEvent), count(AllocationRun), count(Award)) == (events, runs, awards)


def test_the_database_refuses_an_award_above_the_cap_even_without_the_code(app):
    edition, officer, rows = ranked_world([600, 500])
    (first, _), (second, _) = rows
    db.session.add(Award(application=first, edition_id=edition.id, amount_cents=600_00))
    db.session.commit()
    db.session.add(Award(application=second, edition_id=edition.id, amount_cents=500_00))
    with pytest.raises(IntegrityError, match="cap"):
        db.session.commit()
    db.session.rollback()
    # …nor a payment that would push an ended award's committed money over it.
    award = db.session.scalar(select(Award))
    award.amount_cents = 700_00  # above its request too
    with pytest.raises(IntegrityError, match="request"):
        db.session.commit()
    db.session.rollback()
    assert count(Award) == 1 and count(Payment) == 0


def test_acceptance_in_time_and_the_unaccepted_award_renounced_by_the_tick(app, client):
    edition, officer, rows = ranked_world([600, 300, 400])
    client.post(f"/api/v1/editions/{edition.code}/allocation", headers=token(client, officer))
    (p1, p1_owner), (w, _), (a, _) = rows
    accepted = client.post(f"/api/v1/applications/{p1.id}/accept", headers=token(client, p1_owner))
    assert accepted.status_code == 200 and accepted.get_json()["accepted_at"]
    again = client.post(f"/api/v1/applications/{p1.id}/accept", headers=token(client, p1_owner))
    assert again.status_code == 409 and again.get_json()["code"] == "already_accepted"
    # W leaves its award unaccepted past the deadline: the tick renounces it, and the
    # 300 freed, with the 100 left, fund A (400) from the reserve list.
    award = db.session.scalar(select(Award).where(Award.application_id == w.id))
    # Its last second is still in time.
    assert not any("renounced" in line for line in tick(now=award.accept_by))
    done = tick(now=award.accept_by + timedelta(seconds=1))
    assert any("renounced" in line for line in done)
    assert states(rows) == ["funded", "renounced", "funded"]
    assert not any("renounced" in line for line in tick(now=award.accept_by + timedelta(seconds=2)))


def test_a_revocation_frees_the_money_for_the_reserve_list(app, client):
    edition, officer, rows = ranked_world([600, 400, 300], on_insufficient="stop")
    headers = token(client, officer)
    client.post(f"/api/v1/editions/{edition.code}/allocation", headers=headers)
    assert states(rows) == ["funded", "funded", "reserve"]
    (p1, _), (second, _), (third, _) = rows
    refused = client.post(f"/api/v1/applications/{second.id}/revoke", headers=headers, json={})
    assert refused.status_code == 422
    revoked = client.post(
        f"/api/v1/applications/{second.id}/revoke",
        headers=headers,
        json={"reason": "attività non svolte"},
    )
    assert revoked.status_code == 200, revoked.get_json()
    assert states(rows) == ["funded", "revoked", "funded"]
    triggers = [
        e.trigger
        for e in db.session.scalars(select(AuditEvent).where(AuditEvent.application_id == third.id))
    ]
    assert triggers[-2:] == ["allocate_reserve", "fund"]


def test_the_simulation_writes_nothing_and_the_run_does_what_it_showed(app, client):
    edition, officer, rows = ranked_world([600, 300, 400, 100], on_insufficient="skip")
    headers = token(client, officer)
    before = (count(AuditEvent), count(Award), count(AllocationRun))
    preview = client.get(
        f"/api/v1/editions/{edition.code}/allocation/simulation",
        headers=headers,
        query_string={"on_insufficient": "partial", "min_partial_share": "0.5"},
    )
    assert preview.status_code == 200, preview.get_json()
    own, alternative = preview.get_json()["simulations"]
    assert [d["outcome"] for d in own["decisions"]] == ["funded", "funded", "reserve", "funded"]
    # Partial: A gets the 100 left (a quarter of 400 < half): refused, B is funded.
    assert alternative["rules"]["on_insufficient"] == "partial"
    # Money as the API writes it everywhere: a string with two decimals, not a float.
    assert own["rules"]["cap"] == f"{edition.budget_cap_cents // 100}.00"
    assert alternative["rules"]["min_partial_share"] == 0.5
    assert [d["reason"] for d in alternative["decisions"]][2] == "PARTIAL_TOO_SMALL"
    assert (count(AuditEvent), count(Award), count(AllocationRun)) == before
    bad = client.get(
        f"/api/v1/editions/{edition.code}/allocation/simulation",
        headers=headers,
        query_string={"cap": "1,000"},
    )
    assert bad.status_code == 422 and "cap" in bad.get_json()["errors"]
    wrongs = [{"mode": "a_caso"}, {"on_insufficient": "x"}, {"min_partial_share": "2"}]
    # A share written with an exponent is refused by its form, before any arithmetic.
    wrongs += [{"min_partial_share": "1e99999999"}, {"min_partial_share": "0.12345"}]
    for wrong in wrongs:
        refused = client.get(
            f"/api/v1/editions/{edition.code}/allocation/simulation",
            headers=headers,
            query_string=wrong,
        )
        assert refused.status_code == 422, (wrong, refused.get_json())
        assert set(refused.get_json()["errors"]) == set(wrong), refused.get_json()
        assert " or " not in str(refused.get_json()["errors"])
    described = client.get("/api/v1/openapi.json").get_json()["paths"][
        "/editions/{code}/allocation/simulation"
    ]["get"]["parameters"]
    assert {"mode", "on_insufficient", "cap", "min_partial_share"} <= {
        p["name"] for p in described if p["in"] == "query"
    }
    run = client.post(f"/api/v1/editions/{edition.code}/allocation", headers=headers).get_json()
    assert run["decisions"] == own["decisions"]


def test_a_simulated_cap_below_what_is_committed_is_refused_not_an_error(app, client):
    edition, officer, _rows = ranked_world([600, 300], cap_euro=2000)
    headers = token(client, officer)
    url = f"/api/v1/editions/{edition.code}/allocation/simulation"
    run = client.post(f"/api/v1/editions/{edition.code}/allocation", headers=headers)
    assert run.status_code == 200, run.get_json()
    before = (count(AuditEvent), count(Award), count(AllocationRun))
    refused = client.get(url, headers=headers, query_string={"cap": "0.01"})
    assert refused.status_code == 422, refused.get_json()
    body = refused.get_json()
    assert body["errors"]["rules"] == [
        "contributi già impegnati (€ 900,00) oltre il tetto (€ 0,01)"
    ]
    assert (count(AuditEvent), count(Award), count(AllocationRun)) == before
    # A cap that holds what is committed can be simulated.
    assert client.get(url, headers=headers, query_string={"cap": "900.00"}).status_code == 200


def test_the_budget_by_neighbourhood_counts_what_was_paid(app, client):
    edition, officer, rows = ranked_world([600, 300], cap_euro=2000)
    client.post(f"/api/v1/editions/{edition.code}/allocation", headers=token(client, officer))
    award = db.session.scalar(select(Award).where(Award.application_id == rows[0][0].id))
    db.session.add(Payment(award=award, kind="advance", amount_cents=300_00, paid_at=utcnow()))
    db.session.commit()
    budget = client.get(f"/api/v1/editions/{edition.code}/budget").get_json()
    assert (budget["committed"], budget["paid"], budget["available"]) == (
        "900.00",
        "300.00",
        "1100.00",
    )
    hoods = {h["slug"]: h for h in budget["neighbourhoods"]}
    first_hood = rows[0][0].neighbourhood.slug
    assert hoods[first_hood]["committed"] == "600.00" and hoods[first_hood]["paid"] == "300.00"


def test_only_the_officer_allocates_and_only_once_ranked(app, client):
    edition, officer, rows = ranked_world([100])
    owner_headers = token(client, rows[0][1])
    assert (
        client.post(
            f"/api/v1/editions/{edition.code}/allocation", headers=owner_headers
        ).status_code
        == 403
    )
    edition.state = "closed"
    db.session.commit()
    refused = client.post(
        f"/api/v1/editions/{edition.code}/allocation", headers=token(client, officer)
    )
    assert refused.status_code == 409 and refused.get_json()["code"] == "not_ranked"
