"""The ranking's candidates read as plain rows (bando.ranking.operations.candidates) are
what the rows say through the ORM: the counted reviews' points, the co-financing share of
the total cost, the neighbourhood; on SQLite and PostgreSQL alike."""

from fractions import Fraction

from bando.calls.models import Criterion
from bando.core.extensions import db
from bando.core.timeutil import utcnow
from bando.evaluation.models import Review, Score
from bando.ranking.operations import candidates, scored_applications
from tests.factories import create_edition, create_organisation, create_user
from tests.lifecycle_factories import create_application, put_in_state


def through_the_orm(edition):
    """The candidates as the ORM objects give them (what the ranking read before)."""
    result = []
    for application in scored_applications(edition):
        total = application.total_cost_cents
        result.append(
            (
                application.id,
                application.protocol,
                application.protocol_number,
                application.neighbourhood.slug if application.neighbourhood else "",
                Fraction(application.cofinancing_cents, total) if total else Fraction(0),
                sorted(
                    tuple(sorted((s.criterion.code, s.points) for s in review.scores))
                    for review in application.reviews
                    if review.counts
                ),
            )
        )
    return result


def test_candidates_read_as_rows_match_the_orm(app):
    edition = create_edition(state="closed")
    other = create_edition(state="closed")  # its proposals never mix in
    criteria = db.session.query(Criterion).filter_by(edition_id=edition.id).all()
    evaluators = [create_user("evaluator") for _ in range(4)]
    for n, call in enumerate([edition] * 5 + [other]):
        organisation = create_organisation()
        owner = create_user("applicant", organisation=organisation)
        application = put_in_state(create_application(call, organisation, owner), "scored")
        application.cofinancing_cents = 1_000_00 * (n + 1)
        if n == 1:
            application.neighbourhood = None
        if n == 2:
            application.budget_lines = []  # no total cost: no share
        if n == 3:
            application.state = "eligible"  # not scored: not a candidate
        for r, evaluator in enumerate(evaluators):
            review = Review(
                application=application,
                evaluator_id=evaluator.id,
                # The last evaluator's review is not sent, and the third declared a conflict
                # on the first proposal: neither counts.
                submitted_at=None if r == 3 else utcnow(),
                conflict_of_interest=(n == 0 and r == 2),
            )
            db.session.add(review)
            for c, criterion in enumerate(criteria):
                if n == 4 and r == 1 and c == 2:
                    continue  # a review with a criterion left out
                review.scores.append(Score(criterion=criterion, points=(n + r + c) % 10))
    db.session.commit()
    db.session.expire_all()

    read = [
        (
            c.id,
            c.protocol,
            c.protocol_number,
            c.neighbourhood,
            c.cofinancing_share,
            sorted(tuple(sorted(review.items())) for review in c.reviews),
        )
        for c in candidates(edition)
    ]
    assert read == through_the_orm(edition)
    assert len(read) == 4
    assert [len(row[5]) for row in read] == [2, 3, 3, 3]
    assert read[1][3] == "" and read[2][4] == 0
    assert read[0][4] == Fraction(1_000_00, 12_000_00)


def test_candidates_see_empty_reviews_and_what_the_session_has_pending(app):
    edition = create_edition(state="closed")
    evaluators = [create_user("evaluator") for _ in range(2)]
    organisation = create_organisation()
    owner = create_user("applicant", organisation=organisation)
    application = put_in_state(create_application(edition, organisation, owner), "scored")
    # A sent review without scores counts as an empty one (the ranking then refuses it);
    # a draft with scores does not count at all.
    db.session.add(
        Review(application=application, evaluator_id=evaluators[0].id, submitted_at=utcnow())
    )
    criterion = db.session.query(Criterion).filter_by(edition_id=edition.id).first()
    draft = Review(application=application, evaluator_id=evaluators[1].id, submitted_at=None)
    draft.scores.append(Score(criterion=criterion, points=5))
    db.session.add(draft)
    db.session.commit()
    # Not committed, not even flushed: the ranking reads it all the same.
    application.cofinancing_cents = 1_234_00
    draft.submitted_at = utcnow()
    with db.session.no_autoflush:
        assert edition.criteria  # already loaded: loading them does not flush either

    (candidate,) = candidates(edition)
    assert candidate.reviews == ({}, {criterion.code: 5})
    assert candidate.cofinancing_share == Fraction(1_234_00, application.total_cost_cents)
