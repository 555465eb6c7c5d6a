"""Evaluation criteria and one evaluator's review: validation, totals, aggregation.

A review gives integer points per criterion; the criteria's maximum points sum to 100 in
the calls, so they are the weights and a total is a plain sum. Aggregates across reviews
are exact Fractions: a mean of 72.333… must not be rounded before the ranking compares it.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

AGGREGATIONS = ("mean", "median")


@dataclass(frozen=True)
class Criterion:
    code: str
    max_points: int
    label: str = ""

    def __post_init__(self):
        if not isinstance(self.code, str) or not self.code.strip():
            raise ValueError("criterio senza codice")
        if isinstance(self.max_points, bool) or not isinstance(self.max_points, int):
            raise ValueError(f"criterio {self.code}: il punteggio massimo deve essere intero")
        if self.max_points <= 0:
            raise ValueError(f"criterio {self.code}: il punteggio massimo deve essere positivo")

    @property
    def name(self) -> str:
        """How people read it: the label, or the code when the call gives none."""
        return self.label or self.code


def review_problems(
    scores: Mapping[str, object], criteria: Sequence[Criterion], comment: str | None
) -> dict[str, list[str]]:
    """What is wrong with one review, as Italian messages keyed by form field; {} if valid.

    Every criterion needs an integer score from 0 to its maximum; a score strictly below half
    the maximum needs a written reason, so a low mark can be explained to the applicant.
    """
    problems: dict[str, list[str]] = {}
    low: list[Criterion] = []
    for criterion in criteria:
        field = f"scores.{criterion.code}"
        value = scores.get(criterion.code)
        if value is None:
            problems[field] = ["punteggio mancante"]
        elif isinstance(value, bool) or not isinstance(value, int):
            # bool is an int in Python: True must not pass for 1 point.
            problems[field] = ["il punteggio deve essere un numero intero"]
        elif not 0 <= value <= criterion.max_points:
            problems[field] = [f"il punteggio deve essere tra 0 e {criterion.max_points}"]
        elif 2 * value < criterion.max_points:
            low.append(criterion)
    known = {criterion.code for criterion in criteria}
    for code in sorted(str(code) for code in scores if code not in known):
        problems[f"scores.{code}"] = [f"criterio sconosciuto: {code}"]
    if low and not (comment or "").strip():
        names = ", ".join(criterion.name for criterion in low)
        problems["comment"] = [
            f"serve un commento: punteggio sotto la metà del massimo per {names}"
        ]
    return problems


def total(scores: Mapping[str, int]) -> int:
    """A review's total out of 100: the criteria's maximum points already are the weights."""
    return sum(scores.values())


def aggregate(
    reviews: Sequence[Mapping[str, int]], criteria: Sequence[Criterion], aggregation: str
) -> dict[str, Fraction]:
    """Per-criterion mean or median across the reviews, exact.

    The median of an even count is the mean of the two middle values.
    """
    numerators, denominator = aggregate_scaled(
        reviews, [criterion.code for criterion in criteria], aggregation
    )
    return {
        criterion.code: Fraction(numerator, denominator)
        for criterion, numerator in zip(criteria, numerators, strict=True)
    }


def aggregate_scaled(
    reviews: Sequence[Mapping[str, int]], codes: Sequence[str], aggregation: str
) -> tuple[tuple[int, ...], int]:
    """What `aggregate` gives, as integer numerators (one per code) over one denominator:
    the number of reviews for a mean, 2 or 1 for a median. A ranking of thousands of
    proposals compares and sums these instead of a Fraction per criterion."""
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregazione sconosciuta: {aggregation!r} (ammesse: mean, median)")
    if not reviews:
        raise ValueError("nessuna valutazione da aggregare")
    n = len(reviews)
    mean = aggregation == "mean"
    numerators: list[int] = []
    for code in codes:
        try:
            values = [review[code] for review in reviews]
        except KeyError:
            raise ValueError(f"valutazione senza punteggio per {code}") from None
        if mean:
            numerators.append(sum(values))
        else:
            values.sort()
            middle = n // 2
            numerators.append(values[middle] if n % 2 else values[middle - 1] + values[middle])
    # A tuple of integers, which the garbage collector stops tracking.
    return tuple(numerators), n if mean else 2 - n % 2


def aggregate_total(
    reviews: Sequence[Mapping[str, int]], criteria: Sequence[Criterion], aggregation: str
) -> Fraction:
    """The sum of the per-criterion aggregates (with medians, not the median of the totals)."""
    return sum(aggregate(reviews, criteria, aggregation).values(), Fraction(0))


def points_str(value: Fraction | int, places: int = 2) -> str:
    """Points for exports and the API: "72.33", rounded half up (away from zero)."""
    value = Fraction(value)
    scaled = abs(value) * 10**places
    # Exact half-up on the Fraction: a Decimal division first could round twice.
    rounded = int(scaled + Fraction(1, 2))
    if value < 0 and rounded:
        rounded = -rounded
    return f"{Decimal(rounded).scaleb(-places):.{places}f}"


def points_it(value: Fraction | int, places: int = 2) -> str:
    """Points for Italian pages and PDFs: "72,33"."""
    return points_str(value, places).replace(".", ",")
