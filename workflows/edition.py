"""The edition state machine: draft → open → closed → ranked → allocated → archived.

A loaded call takes the state its dates give; the scheduled tick (or the first applicant
who starts a proposal) opens it when opens_at comes, the officer may close it early, and
the tick closes it when closes_at passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .machine import SYSTEM, Refusal, Refused, StateMachine, gettext_noop

STATES = ("draft", "open", "closed", "ranked", "allocated", "archived")

STATE_LABELS = {
    "draft": gettext_noop("in preparazione"),
    "open": gettext_noop("aperto"),
    "closed": gettext_noop("chiuso"),
    "ranked": gettext_noop("graduatoria approvata"),
    "allocated": gettext_noop("contributi assegnati"),
    "archived": gettext_noop("archiviato"),
}

TRIGGER_LABELS = {
    "open": gettext_noop("Apertura del bando"),
    "close": gettext_noop("Chiusura del bando"),
    "rank": gettext_noop("Approvazione della graduatoria"),
    "allocate": gettext_noop("Assegnazione dei contributi"),
    "archive": gettext_noop("Archiviazione"),
    "reload": gettext_noop("Ricaricamento del bando dal file"),
}

ROLE_LABELS = {
    "officer": gettext_noop("istruttore"),
    "admin": gettext_noop("amministratore"),
    SYSTEM: gettext_noop("sistema"),
    "applicant": gettext_noop("ente richiedente"),
    "evaluator": gettext_noop("valutatore"),
    "finance": gettext_noop("ufficio finanziario"),
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
        "guards": ("admissibility_concluded", "all_eligible_scored"),
    },
    {"trigger": "allocate", "source": "ranked", "dest": "allocated", "roles": ("officer", SYSTEM)},
    # A call file loaded again, while nobody has applied: the new dates may open or close the
    # call (the loader then fires open or close), never take it back.
    {
        "trigger": "reload",
        "source": "draft",
        "dest": "=",
        "roles": ("officer", "admin", SYSTEM),
        "guards": ("no_applications",),
    },
    {
        "trigger": "reload",
        "source": "open",
        "dest": "=",
        "roles": ("officer", "admin", SYSTEM),
        "guards": ("no_applications", "opening_not_postponed"),
    },
    {
        "trigger": "reload",
        "source": "closed",
        "dest": "=",
        "roles": ("officer", "admin", SYSTEM),
        "guards": ("no_applications", "not_reopened"),
    },
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
    # applications whose admissibility is still being checked (submitted, asked for
    # documents, under a notice before rejection)
    under_check: int = 0
    applications: int = 0  # applications of the edition, drafts included


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


def admissibility_concluded(f: Facts) -> Refusal | None:
    # A proposal declared admissible after the ranking would be in no ranking at all.
    if f.under_check:
        return Refusal(
            "admissibility_open",
            f"domande con l'istruttoria di ammissibilità ancora aperta: {f.under_check}",
        )
    return None


def all_eligible_scored(f: Facts) -> Refusal | None:
    if f.unscored_eligible:
        return Refusal(
            "scoring_incomplete",
            f"domande ammissibili ancora da valutare: {f.unscored_eligible}",
        )
    return None


def no_applications(f: Facts) -> Refusal | None:
    if f.applications:
        return Refusal(
            "has_applications",
            f"il bando ha già {f.applications} domande: non si può ricaricare; per modifiche "
            "serve una nuova edizione",
        )
    return None


def opening_not_postponed(f: Facts) -> Refusal | None:
    # An open call stays open: a file that moves its opening to the future cannot close it.
    if f.opens_at is not None and f.now < f.opens_at:
        return Refusal(
            "already_open",
            "il bando è già aperto: la nuova data di apertura non può essere nel futuro",
        )
    return None


def not_reopened(f: Facts) -> Refusal | None:
    if f.closes_at is not None and f.now < f.closes_at:
        return Refusal(
            "already_closed",
            "il bando è già chiuso: la nuova scadenza non può riaprirlo",
        )
    return None


GUARDS = {
    g.__name__: g
    for g in (
        system_opens_only_within_dates,
        system_closes_only_after_deadline,
        admissibility_concluded,
        all_eligible_scored,
        no_applications,
        opening_not_postponed,
        not_reopened,
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
