"""Where the committee disagrees: evaluators far from the panel, proposals scored far apart.

Only a prompt for the president of the committee to look again; nothing here changes a
score. Means are exact Fractions; the standard deviations are floats, being only a measure
of dispersion and never compared against a rule.
"""

import statistics
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from fractions import Fraction

Review = tuple[Hashable, Hashable, int]  # (evaluator id, candidate id, total points)


@dataclass(frozen=True)
class EvaluatorStats:
    evaluator_id: Hashable
    count: int
    mean_total: Fraction
    stdev: float  # population standard deviation of their totals
    # Their total minus the panel's median on the same proposal (all its evaluators, them
    # included), averaged: positive = more generous than the panel. The median, so that one
    # evaluator far off does not drag the others' reference with them. None when nobody
    # else reviewed any of their proposals.
    mean_deviation: Fraction | None
    compared: int  # proposals that had another reviewer, behind mean_deviation
    flagged: bool


@dataclass(frozen=True)
class Spread:
    count: int
    min: int
    max: int
    spread: int
    stdev: float  # population standard deviation
    flagged: bool


def _checked(reviews: Sequence[Review]) -> list[Review]:
    seen = set()
    for evaluator_id, candidate_id, points in reviews:
        if isinstance(points, bool) or not isinstance(points, int):
            raise ValueError(f"punteggio non intero per la proposta {candidate_id}")
        if (evaluator_id, candidate_id) in seen:
            # One evaluator, one review per proposal: a duplicate would weigh twice.
            raise ValueError(f"valutazione doppia di {evaluator_id} sulla proposta {candidate_id}")
        seen.add((evaluator_id, candidate_id))
    return list(reviews)


def evaluator_statistics(reviews: Sequence[Review], far_off: int = 10) -> list[EvaluatorStats]:
    """Per evaluator, sorted by id; flagged when abs(mean deviation) > far_off."""
    reviews = _checked(reviews)
    by_candidate: dict[Hashable, list[int]] = defaultdict(list)
    for _, candidate_id, points in reviews:
        by_candidate[candidate_id].append(points)
    panel = {
        candidate_id: Fraction(statistics.median_low(p) + statistics.median_high(p), 2)
        for candidate_id, p in by_candidate.items()
    }

    totals: dict[Hashable, list[int]] = defaultdict(list)
    deviations: dict[Hashable, list[Fraction]] = defaultdict(list)
    for evaluator_id, candidate_id, points in reviews:
        totals[evaluator_id].append(points)
        if len(by_candidate[candidate_id]) > 1:
            deviations[evaluator_id].append(points - panel[candidate_id])

    result = []
    for evaluator_id in sorted(totals):
        own = totals[evaluator_id]
        devs = deviations[evaluator_id]
        mean_deviation = Fraction(sum(devs), len(devs)) if devs else None
        result.append(
            EvaluatorStats(
                evaluator_id=evaluator_id,
                count=len(own),
                mean_total=Fraction(sum(own), len(own)),
                stdev=statistics.pstdev(own),
                mean_deviation=mean_deviation,
                compared=len(devs),
                flagged=mean_deviation is not None and abs(mean_deviation) > far_off,
            )
        )
    return result


def candidate_spread(reviews: Sequence[Review], far_off: int = 20) -> dict[Hashable, Spread]:
    """Per proposal, by id: how far apart its totals are; flagged when max − min > far_off."""
    totals: dict[Hashable, list[int]] = defaultdict(list)
    for _, candidate_id, points in _checked(reviews):
        totals[candidate_id].append(points)
    return {
        candidate_id: Spread(
            count=len(points),
            min=min(points),
            max=max(points),
            spread=max(points) - min(points),
            stdev=statistics.pstdev(points),
            flagged=max(points) - min(points) > far_off,
        )
        for candidate_id, points in sorted(totals.items())
    }
