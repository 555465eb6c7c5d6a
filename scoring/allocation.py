"""Allocation: who gets money, going down the ranking, never above the edition's cap.

One pure function, `allocate`, serves the first run and every later one. A later run
(scorrimento, after a renunciation or a revocation) is the same call with the awards made so
far passed as `existing`: they are kept as they are, what ended frees only its unpaid part,
and the money left goes first to partial awards and then down the reserve list. Because of
this, a run never recomputes the ranking's outcome from scratch: a fresh run after W
renounced could fund A instead of B, taking B's award away (the budget invariants in
DESIGN.md forbid it).

Every decision carries a reason code (for the record) and an Italian text (for the letters
and the pages). Amounts are integer euro-cents; shares are basis points (5000 = 50 %).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from scoring.collector import without_collector
from scoring.money import euro

SINGLE_RANKING = "single_ranking"
AREA_QUOTAS_THEN_POOL = "area_quotas_then_pool"
MODES = (SINGLE_RANKING, AREA_QUOTAS_THEN_POOL)

STOP, SKIP, PARTIAL = "stop", "skip", "partial"
POLICIES = (STOP, SKIP, PARTIAL)

# Outcomes: the state the application moves to after the run.
FUNDED, RESERVE, NOT_FUNDED, ENDED_OUTCOME = "funded", "reserve", "not_funded", "ended"

# Reason codes.
FUNDED_FULL = "FUNDED_FULL"
FUNDED_PARTIAL = "FUNDED_PARTIAL"
KEPT = "KEPT"
TOPPED_UP = "TOPPED_UP"
SKIPPED_INSUFFICIENT = "SKIPPED_INSUFFICIENT"
STOPPED = "STOPPED"
PARTIAL_TOO_SMALL = "PARTIAL_TOO_SMALL"
BELOW_THRESHOLD = "BELOW_THRESHOLD"
ENDED = "ENDED"

QUOTA_PASS, POOL_PASS = "quota", "pool"

BP = 10_000  # basis points in a whole


# Slots on the per-proposal records: a call has thousands, and an attribute dictionary each
# is as many more objects for the garbage collector to walk.
@dataclass(frozen=True, slots=True)
class Entry:
    """A ranked proposal; a sequence of them, in ranking order, is the ranking."""

    id: int
    neighbourhood: str
    requested_cents: int
    fundable: bool  # False: below the threshold


@dataclass(frozen=True)
class Existing:
    """An award made by an earlier run. `active=False`: renounced, revoked or withdrawn."""

    amount_cents: int
    active: bool
    paid_cents: int = 0


@dataclass(frozen=True)
class Rules:
    """The call's [allocation] keys, its cap, its maximum per project and its quotas."""

    cap_cents: int
    mode: str
    on_insufficient: str
    min_partial_share_bp: int = 0
    quotas: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    max_grant_cents: int | None = None
    top_up_partial: bool = True


def _percent(bp: int) -> str:
    whole, rest = divmod(bp, 100)
    decimals = f"{rest:02d}".rstrip("0")
    return f"{whole},{decimals} %" if decimals else f"{whole} %"


@dataclass(frozen=True, slots=True)
class Decision:
    """What a run decided for one proposal, and why."""

    id: int
    outcome: str  # funded | reserve | not_funded | ended
    amount_cents: int  # the award after the run, 0 if none
    added_cents: int  # what this run added to it
    reason: str
    pass_: str | None  # "quota" or "pool" in area_quotas_then_pool, else None
    residual_before: int
    residual_after: int
    reserve_position: int | None = None
    requested_cents: int = 0
    # The award in full: the request, cut to the call's maximum per project.
    full_cents: int = 0
    # Kept for the text of PARTIAL_TOO_SMALL.
    min_partial_share_bp: int = 0

    @property
    def reason_code_text(self) -> str:
        """The machine form, for the audit record: "SKIPPED_INSUFFICIENT residual X < request Y"."""
        reason = self.reason
        if reason == FUNDED_FULL:
            text = f"FUNDED_FULL {self.amount_cents}"
        elif reason == FUNDED_PARTIAL:
            text = f"FUNDED_PARTIAL {self.amount_cents} of {self.full_cents}"
        elif reason == KEPT:
            text = f"KEPT {self.amount_cents}"
        elif reason == TOPPED_UP:
            text = f"TOPPED_UP +{self.added_cents} = {self.amount_cents} of {self.full_cents}"
        elif reason == SKIPPED_INSUFFICIENT:
            text = (
                f"SKIPPED_INSUFFICIENT residual {self.residual_before} < request {self.full_cents}"
            )
        elif reason == PARTIAL_TOO_SMALL:
            text = (
                f"PARTIAL_TOO_SMALL residual {self.residual_before} < "
                f"{self.min_partial_share_bp} bp of request {self.full_cents}"
            )
        else:
            text = reason
        if self.pass_ and self.added_cents:
            text += f" pass {self.pass_}"
        if self.reserve_position is not None:
            text += f"; RESERVE {self.reserve_position}"
        return text

    @property
    def reason_text(self) -> str:
        """The reason in Italian, for letters and pages."""
        return self.reason_sentence()

    def reason_sentence(self, _=lambda text: text, money=euro) -> str:
        """The reason as a sentence: in Italian, or through `_` (a gettext) and `money` (an
        amount formatter) in the reader's language."""
        reason = self.reason
        amounts = {
            "amount": money(self.amount_cents),
            "full": money(self.full_cents),
            "added": money(self.added_cents),
            "residual": money(self.residual_before),
        }
        if reason == FUNDED_FULL:
            text = _("finanziata per intero (%(amount)s)") % amounts + self._pass_text(_)
        elif reason == FUNDED_PARTIAL:
            text = _("finanziata in parte: %(amount)s su %(full)s richiesti") % amounts
            text += self._pass_text(_)
        elif reason == KEPT:
            if self.amount_cents < self.full_cents:
                text = _("contributo già concesso in parte: %(amount)s su %(full)s richiesti")
                text %= amounts
            else:
                text = _("contributo già concesso (%(amount)s)") % amounts
        elif reason == TOPPED_UP:
            text = _("contributo integrato di %(added)s: ora %(amount)s su %(full)s richiesti")
            text %= amounts
        elif reason == BELOW_THRESHOLD:
            return _("sotto la soglia di finanziabilità")
        elif reason == ENDED:
            return _("contributo cessato (rinuncia, revoca o ritiro): non più finanziabile")
        else:
            position = (
                _("in riserva: posizione %(position)s") % {"position": self.reserve_position}
                if self.reserve_position is not None
                else _("in riserva")
            )
            if reason == STOPPED:
                why = _(
                    "l'assegnazione si è fermata alla prima proposta non coperta dalle "
                    "risorse residue"
                )
            elif reason == PARTIAL_TOO_SMALL:
                why = _(
                    "le risorse residue (%(residual)s) non coprono la richiesta di %(full)s "
                    "e sono meno del %(share)s necessario per un contributo parziale"
                ) % {**amounts, "share": _percent(self.min_partial_share_bp)}
            else:
                why = _("le risorse residue (%(residual)s) non coprono la richiesta di %(full)s")
                why %= amounts
            text = f"{position}; {why}"
        if self.full_cents < self.requested_cents:
            text += "; " + _(
                "richiesta di %(requested)s ridotta al massimo per progetto (%(full)s)"
            ) % {"requested": money(self.requested_cents), "full": money(self.full_cents)}
        return text

    def _pass_text(self, _) -> str:
        if self.pass_ == QUOTA_PASS:
            return " " + _("con la quota del quartiere")
        if self.pass_ == POOL_PASS:
            return " " + _("con le risorse residue della graduatoria unica")
        return ""


@dataclass(frozen=True)
class Allocation:
    """The result of a run: one decision per ranked proposal, in ranking order."""

    decisions: tuple[Decision, ...]
    cap_cents: int
    committed_cents: int  # after the run: active awards plus what was paid on ended ones
    residual_cents: int

    def funded(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.outcome == FUNDED)

    def reserve(self) -> tuple[Decision, ...]:
        """The reserve list, position 1 first (the ranking order)."""
        return tuple(d for d in self.decisions if d.outcome == RESERVE)

    def new_awards(self) -> dict[int, int]:
        """What this run added, by proposal: new awards and top-ups."""
        return {d.id: d.added_cents for d in self.decisions if d.added_cents > 0}

    def awards(self) -> dict[int, int]:
        """Every active award after the run, by proposal."""
        return {d.id: d.amount_cents for d in self.decisions if d.outcome == FUNDED}

    def by_id(self) -> dict[int, Decision]:
        return {d.id: d for d in self.decisions}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_rules(rules: Rules) -> None:
    """Refuse rules no run could follow; the message says which key, in Italian."""
    if rules.mode not in MODES:
        raise ValueError(f"allocation.mode: «{rules.mode}» non è tra {', '.join(MODES)}")
    if rules.on_insufficient not in POLICIES:
        raise ValueError(
            f"allocation.on_insufficient: «{rules.on_insufficient}» non è tra {', '.join(POLICIES)}"
        )
    if not _is_int(rules.cap_cents) or rules.cap_cents < 0:
        raise ValueError("budget_cap: deve essere un importo non negativo")
    bp = rules.min_partial_share_bp
    if not _is_int(bp) or not 0 <= bp <= BP:
        raise ValueError("allocation.min_partial_share: deve essere tra 0 e 1")
    if rules.max_grant_cents is not None and (
        not _is_int(rules.max_grant_cents) or rules.max_grant_cents <= 0
    ):
        raise ValueError("max_grant: deve essere un importo positivo")
    for slug, quota in rules.quotas.items():
        if not _is_int(quota) or quota < 0:
            raise ValueError(f"quota del quartiere «{slug}»: deve essere un importo non negativo")


def _check_inputs(entries: tuple[Entry, ...], existing: Mapping[int, Existing]) -> None:
    seen: set[int] = set()
    for entry in entries:
        if entry.id in seen:
            raise ValueError(f"proposta {entry.id} presente due volte nella graduatoria")
        seen.add(entry.id)
        if not _is_int(entry.requested_cents) or entry.requested_cents <= 0:
            raise ValueError(f"proposta {entry.id}: importo richiesto non positivo")
    for key, award in existing.items():
        # An award outside the ranking would be money no decision accounts for.
        if key not in seen:
            raise ValueError(f"contributo per la proposta {key}, che non è in graduatoria")
        if not (_is_int(award.amount_cents) and _is_int(award.paid_cents)):
            raise ValueError(f"proposta {key}: importi del contributo non interi")
        if award.amount_cents <= 0 or not 0 <= award.paid_cents <= award.amount_cents:
            raise ValueError(f"proposta {key}: contributo o pagato fuori misura")


@without_collector
def allocate(
    entries: Iterable[Entry], rules: Rules, existing: Mapping[int, Existing] | None = None
) -> Allocation:
    """Allocate the residual down the ranking; `entries` is in ranking order, never re-sorted.

    Linear in the number of entries. Raises ValueError for rules or inputs no run could follow,
    including awards already above the cap.
    """
    validate_rules(rules)
    entries = tuple(entries)
    existing = existing or {}
    _check_inputs(entries, existing)

    cap = rules.cap_cents
    max_grant = rules.max_grant_cents
    policy = rules.on_insufficient
    bp = rules.min_partial_share_bp

    def full(entry: Entry) -> int:
        if max_grant is None:
            return entry.requested_cents
        return min(entry.requested_cents, max_grant)

    def decision(entry: Entry, **fields) -> Decision:
        return Decision(
            id=entry.id,
            requested_cents=entry.requested_cents,
            full_cents=full(entry),
            min_partial_share_bp=bp,
            **fields,
        )

    # Invariant 1: money paid on an award that later ended was spent; it stays committed.
    committed = sum(a.amount_cents if a.active else a.paid_cents for a in existing.values())
    if committed > cap:
        raise ValueError(
            f"contributi già impegnati ({euro(committed)}) oltre il tetto ({euro(cap)})"
        )
    residual = cap - committed
    start = residual

    decided: dict[int, Decision] = {}
    award: dict[int, int] = {}
    # What each neighbourhood has taken so far, counted as the cap counts it.
    used: dict[str, int] = {}
    for entry in entries:
        previous = existing.get(entry.id)
        if previous is None:
            continue
        if previous.active:
            award[entry.id] = previous.amount_cents
            used[entry.neighbourhood] = used.get(entry.neighbourhood, 0) + previous.amount_cents
        else:
            used[entry.neighbourhood] = used.get(entry.neighbourhood, 0) + previous.paid_cents
            decided[entry.id] = decision(
                entry,
                outcome=ENDED_OUTCOME,
                amount_cents=0,
                added_cents=0,
                reason=ENDED,
                pass_=None,
                residual_before=start,
                residual_after=start,
            )

    # Partial awards come first: they were promised before anyone in the reserve.
    for entry in entries:
        amount = award.get(entry.id)
        if amount is None:
            continue
        top_up = 0
        if rules.top_up_partial and entry.fundable:
            top_up = max(0, min(residual, full(entry) - amount))
        before = residual
        residual -= top_up
        award[entry.id] = amount + top_up
        used[entry.neighbourhood] += top_up
        decided[entry.id] = decision(
            entry,
            outcome=FUNDED,
            amount_cents=amount + top_up,
            added_cents=top_up,
            reason=TOPPED_UP if top_up else KEPT,
            pass_=None,
            residual_before=before if top_up else start,
            residual_after=residual if top_up else start,
        )

    def fund(entry: Entry, amount: int, reason: str, pass_: str | None) -> None:
        nonlocal residual
        before = residual
        residual -= amount
        used[entry.neighbourhood] = used.get(entry.neighbourhood, 0) + amount
        decided[entry.id] = decision(
            entry,
            outcome=FUNDED,
            amount_cents=amount,
            added_cents=amount,
            reason=reason,
            pass_=pass_,
            residual_before=before,
            residual_after=residual,
        )

    pool_pass = None
    if rules.mode == AREA_QUOTAS_THEN_POOL:
        pool_pass = POOL_PASS
        # One walk down the overall ranking keeps each neighbourhood's own order and makes
        # the result independent of the order the quotas are listed in.
        stopped: set[str] = set()
        for entry in entries:
            slug = entry.neighbourhood
            if entry.id in decided or not entry.fundable or slug in stopped:
                continue
            if slug not in rules.quotas:
                continue
            room = min(max(0, rules.quotas[slug] - used.get(slug, 0)), residual)
            if full(entry) <= room:
                fund(entry, full(entry), FUNDED_FULL, QUOTA_PASS)
            elif policy == STOP:
                stopped.add(slug)

    # Only the walk below leaves proposals in reserve, and it goes in ranking order: the
    # reserve list is numbered as it goes, not copied afterwards.
    reserve_position = 0

    def leave(entry: Entry, outcome: str, reason: str, pass_: str | None) -> None:
        nonlocal reserve_position
        position = None
        if outcome == RESERVE:
            reserve_position += 1
            position = reserve_position
        decided[entry.id] = decision(
            entry,
            outcome=outcome,
            amount_cents=0,
            added_cents=0,
            reason=reason,
            pass_=pass_,
            residual_before=residual,
            residual_after=residual,
            reserve_position=position,
        )

    # The pool (the whole run in single_ranking): the overall ranking, with the policy.
    halted = False
    for entry in entries:
        if entry.id in decided:
            continue
        if not entry.fundable:
            leave(entry, NOT_FUNDED, BELOW_THRESHOLD, None)
        elif halted:
            leave(entry, RESERVE, STOPPED, pool_pass)
        elif full(entry) <= residual:
            fund(entry, full(entry), FUNDED_FULL, pool_pass)
        elif policy == PARTIAL and residual > 0:
            # Integer arithmetic: residual / full >= bp / 10000.
            if residual * BP >= full(entry) * bp:
                fund(entry, residual, FUNDED_PARTIAL, pool_pass)
            else:
                leave(entry, RESERVE, PARTIAL_TOO_SMALL, pool_pass)
        else:
            leave(entry, RESERVE, SKIPPED_INSUFFICIENT, pool_pass)
            halted = policy == STOP

    return Allocation(
        decisions=tuple(decided[entry.id] for entry in entries),
        cap_cents=cap,
        committed_cents=cap - residual,
        residual_cents=residual,
    )
