"""Ranking and allocation of a call of 10 000 scored proposals (3 reviews each, 3
criteria) against the same of 1 000: bando's own path, reading the reviews from the
database (bando.ranking.operations.compute) and allocating the ranking under the cap
(scoring.allocation.allocate), on SQLite. Linear work gives a ratio near 10."""

from __future__ import annotations

import random
import tempfile
import time

from benchmarks.common import ARGON2, SECRET, Row

FIGURE = "ranking + allocation, 10 000 proposals × 3 reviews: time ÷ time at 1 000"
TARGET = "≤ 12, and < 1 s at 10 000"
SIZES = (1000, 10_000)
REVIEWS = 3


def world(size: int):
    """A closed call of `size` scored proposals, written with bulk inserts (what would
    take hours through the pages); returns the edition."""
    from sqlalchemy import insert

    from bando.accounts.models import Organisation, User
    from bando.applications.models import Application, BudgetLine
    from bando.calls.models import Criterion
    from bando.core.extensions import db
    from bando.core.timeutil import utcnow
    from bando.evaluation.models import Review, Score
    from tests.factories import create_edition, create_organisation, entity_tax_code

    draw = random.Random(size)
    now = utcnow()
    edition = create_edition(f"scala-{size}", state="closed", tie_break=["protocol"])
    hoods = [h.id for h in edition.neighbourhoods]
    criteria = db.session.query(Criterion).filter_by(edition_id=edition.id).all()
    evaluators = []
    for n in range(REVIEWS):
        user = User(email=f"valutatore{n}@example.it", password_hash="!", role="evaluator")
        db.session.add(user)
        evaluators.append(user)
    creator = User(
        email="ente@example.it",
        password_hash="!",
        role="applicant",
        organisation=create_organisation(),
    )
    db.session.add(creator)
    db.session.flush()
    db.session.execute(
        insert(Organisation),
        [
            {
                "id": 10_000_000 + n,
                "name": f"Associazione {n}",
                "tax_code": entity_tax_code(100_000 + n),
                "legal_form": "aps",
                "pec": f"ente{n}@pec.example.it",
                "address": "via Prova 1, 20100 Milano",
                "legal_representative": "Maria Rossi",
            }
            for n in range(size)
        ],
    )
    db.session.execute(
        insert(Application),
        [
            {
                "id": n + 1,
                "edition_id": edition.id,
                "organisation_id": 10_000_000 + n,
                "neighbourhood_id": hoods[n % len(hoods)],
                "created_by_id": creator.id,
                "state": "scored",
                "protocol": f"{edition.protocol_prefix}/{n + 1:05d}",
                "protocol_number": n + 1,
                "submitted_at": now,
                "title": f"Progetto {n}",
                "requested_cents": draw.randrange(5_000, 16_000) * 100,
                "cofinancing_cents": draw.randrange(500, 3_000) * 100,
                "version_id": 1,
                "created_at": now,
                "updated_at": now,
            }
            for n in range(size)
        ],
    )
    db.session.execute(
        insert(BudgetLine),
        [
            {
                "application_id": n + 1,
                "category": category,
                "description": "",
                "amount_cents": draw.randrange(2_000, 9_000) * 100,
                "position": position,
            }
            for n in range(size)
            for position, category in enumerate(("personale", "materiali"))
        ],
    )
    reviews = [
        {
            "id": n * REVIEWS + r + 1,
            "application_id": n + 1,
            "evaluator_id": evaluators[r].id,
            "submitted_at": now,
            "conflict_of_interest": False,
            "comment": "",
            "created_at": now,
            "version_id": 1,
        }
        for n in range(size)
        for r in range(REVIEWS)
    ]
    db.session.execute(insert(Review), reviews)
    db.session.execute(
        insert(Score),
        [
            {
                "review_id": review["id"],
                "criterion_id": criterion.id,
                "points": draw.randrange(criterion.max_points // 2, criterion.max_points + 1),
            }
            for review in reviews
            for criterion in criteria
        ],
    )
    db.session.commit()
    return edition


def rank_and_allocate(edition) -> int:
    """bando's ranking of the call as the reviews give it, then the allocation of that
    ranking under the call's rules; returns how many are funded."""
    from sqlalchemy import select

    from bando.allocation.operations import rules_of
    from bando.applications.models import Application
    from bando.core.extensions import db
    from bando.ranking.operations import compute
    from scoring.allocation import Entry, allocate

    db.session.expunge_all()  # read from the database each time, as a request would
    edition = db.session.merge(edition, load=False)
    ranking = compute(edition)
    requested = dict(
        db.session.execute(
            select(Application.id, Application.requested_cents).where(
                Application.edition_id == edition.id
            )
        ).all()
    )
    entries = [
        Entry(
            id=entry.id,
            neighbourhood=entry.neighbourhood,
            requested_cents=requested[entry.id],
            fundable=entry.fundable,
        )
        for entry in ranking.entries
    ]
    allocation = allocate(entries, rules_of(edition), {})
    return sum(1 for d in allocation.decisions if d.amount_cents)


def seconds_at(size: int) -> float:
    from flask_migrate import upgrade

    from bando import create_app
    from bando.core.extensions import db

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/scale.sqlite3",
                "SECRET_KEY": SECRET,
                "ARGON2": ARGON2,
                "REDIS_URL": None,
            },
            instance_path=f"{folder}/instance",
        )
        with app.app_context():
            upgrade(directory=app.extensions["migrate"].directory)
            edition = world(size)
            rank_and_allocate(edition)  # warm: imports, compiled statements
            times = []
            for _ in range(3):
                start = time.perf_counter()
                rank_and_allocate(edition)
                times.append(time.perf_counter() - start)
            db.session.remove()
            db.engine.dispose()
    return min(times)


def bench_scale() -> Row:
    small, large = (seconds_at(size) for size in SIZES)
    ratio = large / small
    ok = ratio <= 12 and large < 1
    detail = f"{large:.2f} s at 10 000 vs {small:.3f} s at 1 000 (best of 3, SQLite)"
    return Row(FIGURE, f"{ratio:.1f}", TARGET, ok, detail)
