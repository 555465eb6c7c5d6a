"""The edition state machine: draft → open → closed → ranked → allocated → archived.

A loaded call takes the state its dates give; the scheduled tick (or the first applicant
who starts a proposal) opens it when opens_at comes, the officer may close it early, and
the tick closes it when closes_at passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .machine import SYSTEM, Refusal, Refused, StateMachine

STATES = ("draft", "open", "closed", "ranked", "allocated", "archived")

STATE_LABELS = {
    "draft": "in preparazione",
    "open": "aperto",
    "closed": "chiuso",
    "ranked": "graduatoria approvata",
    "allocated": "contributi assegnati",
    "archived": "archiviato",
}

TRIGGER_LABELS = {
    "open": "Apertura del bando",
    "close": "Chiusura del bando",
    "rank": "Approvazione della graduatoria",
    "allocate": "Assegnazione dei contributi",
    "archive": "Archiviazione",
}

ROLE_LABELS = {
    "officer": "istruttore",
    "admin": "amministratore",
    SYSTEM: "sistema",
    "applicant": "ente richiedente",
    "evaluator": "valutatore",
    "finance": "ufficio finanziario",
}

ACTOR_KINDS = ("applicant", "officer", "evaluator", "finance", "admin", SYSTEM)

TRANSITIONS = [
    {
        "trigger": "open",
        "source": "draft",
        "dest": "open",
        "roles": ("officer", "admin", SYSTEM),
        "guards": ("system_opens_only_within_dates",),
    },
    {
        "trigger": "close",
        "source": "open",
        "dest": "closed",
        "roles": ("officer", SYSTEM),
        "guards": ("system_closes_only_after_deadline",),
    },
    {
        "trigger": "rank",
        "source": "closed",
        "dest": "ranked",
        "roles": ("officer", SYSTEM),
        "guards": ("all_eligible_scored",),
    },
    {"trigger": "allocate", "source": "ranked", "dest": "allocated", "roles": ("officer", SYSTEM)},
    {
        "trigger": "archive",
        "source": "allocated",
        "dest": "archived",
        "roles": ("officer", "admin"),
    },
]


@dataclass(frozen=True)
class Facts:
    now: datetime
    actor_role: str | None = None  # None: the system (scheduled tick)
    reason: str = ""
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    unscored_eligible: int = 0  # eligible applications still waiting for their scores


def actor_kind(facts: Facts) -> str:
    return SYSTEM if facts.actor_role is None else facts.actor_role


def system_closes_only_after_deadline(f: Facts) -> Refusal | None:
    # The officer may close early; the tick only once closes_at has passed.
    if f.actor_role is None and f.closes_at is not None and f.now < f.closes_at:
        return Refusal("deadline_not_passed", "il termine del bando non è ancora scaduto")
    return None


def system_opens_only_within_dates(f: Facts) -> Refusal | None:
    # The tick opens a call once opens_at has come, and never one already past closes_at.
    if f.actor_role is not None:
        return None
    if f.opens_at is not None and f.now < f.opens_at:
        return Refusal("not_yet_open", "la data di apertura del bando non è ancora arrivata")
    if f.closes_at is not None and f.now >= f.closes_at:
        return Refusal("deadline_passed", "il termine del bando è già scaduto")
    return None


def all_eligible_scored(f: Facts) -> Refusal | None:
    if f.unscored_eligible:
        return Refusal(
            "scoring_incomplete",
            f"domande ammissibili ancora da valutare: {f.unscored_eligible}",
        )
    return None


GUARDS = {
    g.__name__: g
    for g in (
        system_opens_only_within_dates,
        system_closes_only_after_deadline,
        all_eligible_scored,
    )
}

MACHINE = StateMachine(
    states=STATES,
    table=TRANSITIONS,
    guards=GUARDS,
    actor_kind=actor_kind,
    state_labels=STATE_LABELS,
    trigger_labels=TRIGGER_LABELS,
    role_labels=ROLE_LABELS,
    subject="un bando",
)

TRIGGERS = MACHINE.triggers


# check(state, trigger, facts): every reason why the trigger may not fire (empty: it may).
# advance(state, trigger, facts): the next state, moved by the transitions Machine; or Refused.
check = MACHINE.check
advance = MACHINE.advance
transition_table = MACHINE.transition_table


__all__ = ["Facts", "MACHINE", "Refusal", "Refused", "STATES", "advance", "check"]
