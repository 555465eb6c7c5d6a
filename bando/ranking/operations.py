"""The ranking of a call: computed from the committee's reviews by scoring.ranking (the
same code every time, so a preview and the approved ranking agree), draws recorded when
the tie-break chain cannot part two fundable proposals, approval and publication.

Approving freezes the ranking as rows and moves the edition closed → ranked (its machine
checks that every eligible proposal is scored). Flush, never commit: the caller commits.
"""

from fractions import Fraction
from itertools import groupby
from operator import itemgetter

from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload, selectinload

from bando.accounts.models import User
from bando.applications.models import Application, BudgetLine
from bando.calls.lifecycle import fire_edition, lock_edition
from bando.calls.models import Edition, Neighbourhood
from bando.core import audit
from bando.core.extensions import db
from bando.core.operations import OperationError
from bando.core.timeutil import utcnow
from bando.evaluation.models import Draw, Review, Score
from bando.evaluation.operations import criteria_of
from bando.ranking.models import RankingEntry
from scoring.collector import collector_paused
from scoring.criteria import points_str
from scoring.ranking import (
    Candidate,
    IncompleteScoring,
    Ranking,
    RankingError,
    RankingRules,
    UnbreakableTie,
    rank,
)


def rules_of(edition: Edition) -> RankingRules:
    return RankingRules(
        criteria=tuple(criteria_of(edition)),
        aggregation=edition.aggregation,
        threshold=edition.threshold,
        tie_break=tuple(edition.tie_break),
        reviews_required=edition.reviews_required,
    )


def scored_applications(edition: Edition) -> list[Application]:
    """The proposals the ranking orders, with their reviews and scores in a fixed number of
    queries whatever their count."""
    return list(
        db.session.scalars(
            select(Application)
            .where(Application.edition_id == edition.id, Application.state == "scored")
            .options(
                selectinload(Application.reviews)
                .selectinload(Review.scores)
                .selectinload(Score.criterion),
                selectinload(Application.budget_lines),
                selectinload(Application.neighbourhood),
            )
            .order_by(Application.protocol_number)
        )
    )


def candidates(edition: Edition) -> list[Candidate]:
    """The scored proposals as the ranking sees them (the counted reviews' points by
    criterion, the co-financing share of the total cost), read as plain rows in two
    queries: a call of ten thousand proposals has ninety thousand scores, and an ORM
    object for each would cost far more than the ranking itself."""
    scored = (Application.edition_id == edition.id, Application.state == "scored")
    criteria = edition.criteria
    codes = [criterion.code for criterion in criteria]
    # Plain rows from the session's connection, taken one at a time: ORM rows, all held at
    # once, would be thousands more objects for the garbage collector to walk again and
    # again. What the session has pending goes to the database first, as its own queries
    # would do.
    if db.session.autoflush:
        db.session.flush()
    connection = db.session.connection()
    # The reviews that count (submitted, no conflict of interest: Review.counts), one row
    # each with a column of points per criterion of the call (a score has one per review and
    # criterion; a criterion left out is a null, a counted review without scores an empty
    # one): a third of the rows of one per score, grouped by proposal as they come.
    rows = connection.execute(
        select(
            Review.application_id,
            *(
                func.max(case((Score.criterion_id == criterion.id, Score.points)))
                for criterion in criteria
            ),
        )
        .join(Application, Application.id == Review.application_id)
        .outerjoin(Score, Score.review_id == Review.id)
        .where(
            *scored,
            Review.submitted_at.is_not(None),
            Review.conflict_of_interest.is_(False),
        )
        .group_by(Review.application_id, Review.id)
        .order_by(Review.application_id, Review.id)
    )
    # Dictionaries of integers, which the garbage collector does not track.
    reviews = {
        application_id: tuple(
            dict(zip(codes, points, strict=True))
            if None not in points
            else {
                code: value for code, value in zip(codes, points, strict=True) if value is not None
            }
            for _, *points in group
        )
        for application_id, group in groupby(rows, itemgetter(0))
    }
    # The total costs grouped once (budget_line has no index on its application: a
    # subquery per proposal would read the whole table each time).
    total_cost = (
        select(BudgetLine.application_id, func.sum(BudgetLine.amount_cents).label("total"))
        .join(Application, Application.id == BudgetLine.application_id)
        .where(*scored)
        .group_by(BudgetLine.application_id)
        .subquery()
    )
    proposals = connection.execute(
        select(
            Application.id,
            Application.protocol,
            Application.protocol_number,
            Neighbourhood.slug,
            Application.cofinancing_cents,
            total_cost.c.total,
        )
        .outerjoin(Neighbourhood, Neighbourhood.id == Application.neighbourhood_id)
        .outerjoin(total_cost, total_cost.c.application_id == Application.id)
        .where(*scored)
        .order_by(Application.protocol_number)
    )
    return [
        Candidate(
            id=id_,
            protocol=protocol,
            protocol_number=number,
            neighbourhood=slug or "",
            # int(): PostgreSQL's sum of integers is a numeric (a Decimal here).
            cofinancing_share=Fraction(cofinancing, int(total)) if total else Fraction(0),
            reviews=reviews.get(id_, ()),
        )
        for id_, protocol, number, slug, cofinancing, total in proposals
    ]


def draws_of(edition: Edition) -> list[list[int]]:
    return [
        list(draw.order)
        for draw in db.session.scalars(
            select(Draw).where(Draw.edition_id == edition.id).order_by(Draw.id)
        )
    ]


def _ranked(edition: Edition) -> Ranking:
    """scoring.ranking on the call's rows; refused, saying why, while scoring is incomplete
    or draws order the same proposals differently. A tie that needs a draw is raised as it
    is (UnbreakableTie), for the caller to say or to read."""
    try:
        with collector_paused():
            return rank(candidates(edition), rules_of(edition), draws_of(edition))
    except UnbreakableTie:
        raise
    except IncompleteScoring as error:
        raise OperationError(409, str(error), code="scoring_incomplete") from None
    except RankingError as error:  # draws that order the same proposals differently
        raise OperationError(409, str(error), code="draws_disagree") from None


def compute(edition: Edition) -> Ranking:
    """The ranking as the reviews give it now; refused, saying why, while scoring is
    incomplete or a tie needs a draw."""
    try:
        return _ranked(edition)
    except UnbreakableTie as error:
        raise OperationError(
            409,
            str(error),
            {"draw": [", ".join(str(i) for i in group) for group in error.id_groups]},
            code="tie_needs_draw",
        ) from None


def ties_to_draw(edition: Edition) -> list[set[int]]:
    """The groups of proposals only a draw can order now (none when the ranking can be
    computed); refused, saying why, as compute is otherwise."""
    try:
        _ranked(edition)
    except UnbreakableTie as tie:
        return [set(group) for group in tie.id_groups]
    return []


def record_draw(edition: Edition, officer: User, order: list[int], witnesses: str) -> Draw:
    """A draw ordering proposals of the call (their application ids, first drawn first):
    all the proposals of one tie that only a draw can part, under the call's lock, so that
    two draws never order the same tie in two ways (the ranking could then never be made)."""
    edition = lock_edition(edition.id)
    if edition.state != "closed":
        raise OperationError(
            409, "il sorteggio si fa prima di approvare la graduatoria", code="not_closed"
        )
    if not witnesses.strip():
        raise OperationError(
            422, "sorteggio non valido", {"witnesses": ["indicare chi era presente al sorteggio"]}
        )
    ids = {a.id for a in scored_applications(edition)}
    unknown = [i for i in order if i not in ids]
    if len(order) < 2 or unknown or len(set(order)) != len(order):
        raise OperationError(
            422,
            "sorteggio non valido",
            {"order": ["almeno due domande valutate del bando, ciascuna una volta"]},
        )
    if set(order) not in ties_to_draw(edition):
        raise OperationError(
            409,
            "nessuna parità da sorteggiare tra queste domande: la graduatoria le ordina già "
            "(o un sorteggio precedente lo ha fatto), oppure il sorteggio non comprende "
            "tutte le domande a pari merito",
            code="no_tie",
        )
    draw = Draw(
        edition_id=edition.id,
        order=list(order),
        witnesses=witnesses.strip(),
        drawn_by_id=officer.id,
    )
    db.session.add(draw)
    db.session.flush()
    audit.append(
        subject="edition",
        trigger="record_draw",
        actor=officer,
        edition_id=edition.id,
        reason=witnesses.strip(),
        payload={"order": list(order)},
    )
    return draw


def approve(edition: Edition, officer: User, *, now=None) -> list[RankingEntry]:
    """Approves and publishes the ranking: frozen as rows, the edition ranked."""
    now = now or utcnow()
    ranking = compute(edition)
    fire_edition(
        edition,
        "rank",
        officer,
        "graduatoria approvata e pubblicata",
        {"entries": len(ranking.entries)},
        now=now,
    )
    rows = [
        RankingEntry(
            edition_id=edition.id,
            application_id=entry.id,
            position=entry.position,
            neighbourhood_position=entry.neighbourhood_position,
            total_numerator=entry.total.numerator,
            total_denominator=entry.total.denominator,
            total=points_str(entry.total),
            points={code: points_str(value) for code, value in entry.points.items()},
            fundable=entry.fundable,
            decided_by=entry.decided_by,
            approved_at=now,
        )
        for entry in ranking.entries
    ]
    db.session.add_all(rows)
    edition.ranking_published_at = now
    db.session.flush()
    return rows


def approved(edition: Edition) -> list[RankingEntry]:
    """The approved ranking, in order (empty before approval)."""
    return list(
        db.session.scalars(
            select(RankingEntry)
            .where(RankingEntry.edition_id == edition.id)
            # One row per entry, joined to what the pages show of it: one query for any
            # number of proposals (selectinload would send one per 500).
            .options(
                joinedload(RankingEntry.application).options(
                    joinedload(Application.organisation),
                    joinedload(Application.neighbourhood),
                )
            )
            .order_by(RankingEntry.position)
        )
    )
