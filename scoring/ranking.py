"""The graduatoria: proposals ordered by aggregated points, ties broken by the call's rules.

The order is a total one and depends only on the data, never on the order candidates or
reviews arrive in, so a ranking can be recomputed and published again with the same result.
A tie the call's rules cannot break is refused among fundable proposals (a recorded draw,
sorteggio, settles it); below the threshold it decides nothing and is only marked.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from scoring.criteria import AGGREGATIONS, Criterion, aggregate_scaled

SIMPLE_KEYS = ("cofinancing_share", "protocol")
CRITERION_PREFIX = "criterion:"


class RankingError(ValueError):
    """The ranking cannot be made as asked; the message says why, in Italian."""


class IncompleteScoring(RankingError):
    """Some proposals have fewer valid reviews than the call requires."""

    def __init__(self, ids: Sequence[int], protocols: Sequence[str] = (), required: int = 0):
        self.ids = list(ids)
        self.protocols = list(protocols) or [str(i) for i in self.ids]
        detail = f": ne servono {required} per proposta" if required else ""
        super().__init__(f"valutazioni incomplete per {_join(self.protocols)}{detail}")


class UnbreakableTie(RankingError):
    """Fundable proposals equal on total and on every tie-break key: a draw must decide."""

    def __init__(self, groups: Sequence[Sequence[str]], id_groups: Sequence[Sequence[int]] = ()):
        self.groups = [list(group) for group in groups]
        # The ids, group by group, so the caller can record the draw.
        self.id_groups = [list(group) for group in id_groups]
        message = "; ".join(
            f"parità non risolvibile con i criteri del bando tra {_join(group)}"
            for group in self.groups
        )
        super().__init__(f"{message}: serve un sorteggio")


def _join(names: Sequence[str]) -> str:
    names = list(names)
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} e {names[-1]}"


# Slots: a call ranks thousands of these, and an attribute dictionary each is as many more
# objects for the garbage collector to walk.
@dataclass(frozen=True, slots=True)
class Candidate:
    id: int
    protocol: str
    protocol_number: int
    neighbourhood: str
    cofinancing_share: Fraction
    reviews: tuple[Mapping[str, int], ...] = ()

    def __post_init__(self):
        if isinstance(self.cofinancing_share, float):
            raise ValueError(f"{self.protocol}: quota di cofinanziamento da dare esatta, non float")
        if type(self.cofinancing_share) is not Fraction:
            object.__setattr__(self, "cofinancing_share", Fraction(self.cofinancing_share))
        if type(self.reviews) is not tuple:
            object.__setattr__(self, "reviews", tuple(self.reviews))


@dataclass(frozen=True)
class RankingRules:
    criteria: tuple[Criterion, ...]
    aggregation: str = "mean"
    threshold: int = 0
    tie_break: tuple[str, ...] = ()
    reviews_required: int = 1

    def __post_init__(self):
        object.__setattr__(self, "criteria", tuple(self.criteria))
        object.__setattr__(self, "tie_break", tuple(self.tie_break))
        codes = [criterion.code for criterion in self.criteria]
        if len(set(codes)) != len(codes):
            raise ValueError("codici dei criteri ripetuti")
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregazione sconosciuta: {self.aggregation!r}")
        if len(set(self.tie_break)) != len(self.tie_break):
            raise ValueError("criteri di parità ripetuti")
        for key in self.tie_break:
            if key in SIMPLE_KEYS:
                continue
            if not (key.startswith(CRITERION_PREFIX) and key[len(CRITERION_PREFIX) :] in codes):
                raise ValueError(f"criterio di parità sconosciuto: {key}")
        if self.reviews_required < 1:
            raise ValueError("serve almeno una valutazione per proposta")


@dataclass(frozen=True, slots=True)
class RankedEntry:
    id: int
    protocol: str
    neighbourhood: str
    points: dict[str, Fraction]
    total: Fraction
    position: int
    neighbourhood_position: int
    fundable: bool
    # The key that separated it from the entry above when the totals were equal: a
    # tie-break key, "draw", or "tie" (an unbroken tie below the threshold, in protocol order).
    decided_by: str | None = None
    # Part of an unbroken tie below the threshold: ex aequo, shown in protocol order.
    tied: bool = False


@dataclass(frozen=True)
class Ranking:
    entries: tuple[RankedEntry, ...] = field(default_factory=tuple)

    def by_neighbourhood(self) -> dict[str, list[RankedEntry]]:
        """Each neighbourhood's entries in the overall order, neighbourhoods by slug."""
        groups: dict[str, list[RankedEntry]] = {}
        for entry in self.entries:
            groups.setdefault(entry.neighbourhood, []).append(entry)
        return {slug: groups[slug] for slug in sorted(groups)}


def _draw_order(group: list[Candidate], draws: list[dict[int, int]]) -> list[Candidate] | None:
    """The group as ordered by the draws that cover it, or None if none covers it."""
    orders = {
        tuple(sorted((c.id for c in group), key=draw.__getitem__))
        for draw in draws
        if all(c.id in draw for c in group)
    }
    if not orders:
        return None
    if len(orders) > 1:
        protocols = sorted(group, key=lambda c: c.protocol_number)
        raise RankingError(f"sorteggi discordanti per {_join([c.protocol for c in protocols])}")
    by_id = {c.id: c for c in group}
    return [by_id[i] for i in orders.pop()]


def rank(
    candidates: Sequence[Candidate], rules: RankingRules, draws: Sequence[Sequence[int]] = ()
) -> Ranking:
    """Order the candidates: total descending, then the call's tie-break chain, then draws."""
    ids = [c.id for c in candidates]
    if len(set(ids)) != len(ids):
        raise RankingError("proposte ripetute nella graduatoria")
    draw_maps: list[dict[int, int]] = []
    for draw in draws:
        if len(set(draw)) != len(draw):
            raise RankingError("un sorteggio elenca due volte la stessa proposta")
        draw_maps.append({candidate_id: index for index, candidate_id in enumerate(draw)})

    incomplete = sorted(
        (c for c in candidates if len(c.reviews) < rules.reviews_required),
        key=lambda c: (c.protocol_number, c.protocol, c.id),
    )
    if incomplete:
        raise IncompleteScoring(
            [c.id for c in incomplete], [c.protocol for c in incomplete], rules.reviews_required
        )

    # Each candidate's aggregates as integers over a denominator of its own (its number of
    # reviews, or 2 for a median), then over one common denominator: integers compare and
    # sort far faster than Fractions, in the same order. The Fractions the entries carry are
    # shared among equal values: a call has few distinct ones and thousands of proposals.
    codes = [criterion.code for criterion in rules.criteria]
    scaled = {c.id: aggregate_scaled(c.reviews, codes, rules.aggregation) for c in candidates}
    scale = math.lcm(*{denominator for _, denominator in scaled.values()})
    exact: dict[tuple[int, int], Fraction] = {}

    def fraction(numerator: int, denominator: int) -> Fraction:
        value = exact.get((numerator, denominator))
        if value is None:
            value = exact[numerator, denominator] = Fraction(numerator, denominator)
        return value

    points: dict[int, dict[str, Fraction]] = {}
    totals: dict[int, Fraction] = {}
    total_column: dict[int, int] = {}
    for c in candidates:
        numerators, denominator = scaled[c.id]
        points[c.id] = {
            code: fraction(numerator, denominator)
            for code, numerator in zip(codes, numerators, strict=True)
        }
        total = sum(numerators)
        totals[c.id] = fraction(total, denominator)
        total_column[c.id] = total * (scale // denominator)
    # The threshold on the same scale: a total reaches it when its integer does.
    threshold = rules.threshold * scale
    # What the rules compare, one column per key, higher ranking higher; negated in the key
    # because the sort is ascending.
    columns = [total_column]
    for key in rules.tie_break:
        if key == "cofinancing_share":
            columns.append({c.id: c.cofinancing_share for c in candidates})
        elif key == "protocol":
            columns.append({c.id: -c.protocol_number for c in candidates})
        else:
            index = codes.index(key[len(CRITERION_PREFIX) :])
            columns.append(
                {
                    id_: numerators[index] * (scale // denominator)
                    for id_, (numerators, denominator) in scaled.items()
                }
            )
    rule_key = {c.id: tuple(-column[c.id] for column in columns) for c in candidates}
    # The protocol and id after the rules only make the order total.
    ordered = sorted(
        candidates, key=lambda c: (rule_key[c.id], c.protocol_number, c.protocol, c.id)
    )

    # Runs of candidates the rules cannot tell apart.
    final: list[Candidate] = []
    via_draw: set[int] = set()
    tied: set[int] = set()
    unbreakable: list[list[Candidate]] = []
    start = 0
    while start < len(ordered):
        end = start + 1
        while end < len(ordered) and rule_key[ordered[end].id] == rule_key[ordered[start].id]:
            end += 1
        group = ordered[start:end]
        start = end
        if len(group) == 1:
            final.extend(group)
            continue
        if total_column[group[0].id] < threshold:
            # Below the threshold nobody is funded: the tie decides nothing.
            tied.update(c.id for c in group)
            final.extend(group)
            continue
        drawn = _draw_order(group, draw_maps)
        if drawn is None:
            unbreakable.append(group)
            final.extend(group)
            continue
        via_draw.update(c.id for c in drawn)
        final.extend(drawn)
    if unbreakable:
        raise UnbreakableTie(
            [[c.protocol for c in group] for group in unbreakable],
            [[c.id for c in group] for group in unbreakable],
        )

    entries: list[RankedEntry] = []
    per_neighbourhood: dict[str, int] = {}
    above: tuple | None = None  # the rule key of the entry above
    for position, candidate in enumerate(final, start=1):
        id_ = candidate.id
        here = rule_key[id_]
        decided_by = None
        if above is not None and above[0] == here[0]:  # equal totals
            for key, a, b in zip(rules.tie_break, above[1:], here[1:], strict=True):
                if a != b:
                    decided_by = key
                    break
            else:
                decided_by = "draw" if id_ in via_draw else "tie"
        slug = candidate.neighbourhood
        per_neighbourhood[slug] = in_neighbourhood = per_neighbourhood.get(slug, 0) + 1
        entries.append(
            RankedEntry(
                id=id_,
                protocol=candidate.protocol,
                neighbourhood=slug,
                points=points[id_],
                total=totals[id_],
                position=position,
                neighbourhood_position=in_neighbourhood,
                fundable=total_column[id_] >= threshold,
                decided_by=decided_by,
                tied=id_ in tied,
            )
        )
        above = here
    return Ranking(tuple(entries))
