"""Random rankings, rules and sequences of renunciations and revocations, on the real
database: every budget invariant holds after each step, and the preview is what the
committed run does."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bando.allocation import operations
from bando.budget.figures import committed_cents
from bando.budget.models import Award
from bando.core.extensions import db
from tests.allocation_factories import ranked_world
from tests.factories import create_user

requests = st.lists(st.integers(min_value=1, max_value=900), min_size=1, max_size=8)
policies = st.sampled_from(["stop", "skip", "partial"])
steps = st.lists(st.tuples(st.sampled_from(["renounce", "revoke"]), st.integers(0, 7)), max_size=4)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(requests=requests, cap=st.integers(100, 3000), policy=policies, steps=steps)
def test_every_invariant_holds_through_runs_and_endings(app, requests, cap, policy, steps):
    edition, officer, rows = ranked_world(
        requests, cap_euro=cap, on_insufficient=policy, min_partial_share_bp=5000
    )
    preview = operations.simulate(edition)
    committed_run = operations.run(edition, officer)
    db.session.commit()
    assert committed_run.decisions == preview.decisions  # the same code, the same result
    seen: dict[int, int] = {}

    def check():
        db.session.expire_all()
        awards = db.session.scalars(select(Award).where(Award.edition_id == edition.id)).all()
        assert committed_cents(edition.id) <= edition.budget_cap_cents
        for award in awards:
            assert 0 < award.amount_cents <= award.application.requested_cents
            assert award.amount_cents <= edition.max_grant_cents
            # Never reduced or removed: only renounce/revoke end it, only top-ups add.
            assert award.amount_cents >= seen.get(award.application_id, 0)
            seen[award.application_id] = award.amount_cents
        assert set(seen) <= {a.application_id for a in awards}

    check()
    for verb, index in steps:
        application, owner = rows[index % len(rows)]
        db.session.refresh(application)
        if application.state != "funded":
            continue
        if verb == "renounce":
            operations.renounce(application, owner)
        else:
            operations.revoke(application, create_user("officer"), "revoca di prova")
        db.session.commit()
        check()
        # A run with nothing new changes nothing.
        before = [
            (a.application_id, a.amount_cents, a.state)
            for a in db.session.scalars(select(Award).order_by(Award.id))
        ]
        operations.run(edition, officer)
        db.session.commit()
        after = [
            (a.application_id, a.amount_cents, a.state)
            for a in db.session.scalars(select(Award).order_by(Award.id))
        ]
        assert after == before
