"""The application state machine (see DESIGN.md, "Application states").

One transition table (TRANSITIONS) defines it: the `transitions` Machine that does the
move, `check()` that explains a refusal, and the diagram are all built from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from .edition import STATE_LABELS as EDITION_STATE_LABELS
from .machine import OWNER, SYSTEM, Refusal, Refused, StateMachine

ROME = ZoneInfo("Europe/Rome")

STATES = (
    "draft",
    "submitted",
    "integration_requested",
    "eligible",
    "ineligible",
    "scored",
    "funded",
    "reserve",
    "not_funded",
    "reported",
    "closed",
    "withdrawn",
    "renounced",
    "revoked",
)

STATE_LABELS = {
    "draft": "Bozza",
    "submitted": "Presentata",
    "integration_requested": "Integrazione richiesta",
    "eligible": "Ammissibile",
    "ineligible": "Non ammissibile",
    "scored": "Valutata",
    "funded": "Finanziata",
    "reserve": "In riserva",
    "not_funded": "Non finanziata",
    "reported": "Rendicontata",
    "closed": "Conclusa",
    "withdrawn": "Ritirata",
    "renounced": "Rinunciata",
    "revoked": "Revocata",
}

TRIGGER_LABELS = {
    "submit": "Presentazione della domanda",
    "request_integration": "Richiesta di integrazione (soccorso istruttorio)",
    "integrate": "Integrazione dei documenti",
    "declare_eligible": "Dichiarazione di ammissibilità",
    "declare_ineligible": "Dichiarazione di non ammissibilità",
    "expire_integration": "Scadenza del termine di integrazione",
    "complete_scoring": "Valutazione completata",
    "allocate_funded": "Assegnazione: finanziata",
    "allocate_reserve": "Assegnazione: in riserva",
    "allocate_not_funded": "Assegnazione: non finanziata",
    "fund": "Finanziamento per scorrimento della graduatoria",
    "withdraw": "Ritiro della domanda",
    "file_report": "Presentazione della rendicontazione",
    "approve_report": "Approvazione della rendicontazione",
    "renounce": "Rinuncia al contributo",
    "revoke": "Revoca del contributo",
}

# For the drawn diagram, where a whole sentence does not fit on an arrow.
TRIGGER_SHORT_LABELS = {
    "submit": "presentazione",
    "request_integration": "richiesta integrazione",
    "integrate": "integrazione",
    "declare_eligible": "ammissibile",
    "declare_ineligible": "non ammissibile",
    "expire_integration": "termine scaduto",
    "complete_scoring": "valutazione",
    "allocate_funded": "assegnazione",
    "allocate_reserve": "in riserva",
    "allocate_not_funded": "esclusa",
    "fund": "scorrimento",
    "withdraw": "ritiro",
    "file_report": "rendicontazione",
    "approve_report": "approvazione",
    "renounce": "rinuncia",
    "revoke": "revoca",
}

ROLE_LABELS = {
    OWNER: "ente richiedente",
    "officer": "istruttore",
    "finance": "ufficio finanziario",
    SYSTEM: "sistema",
    "evaluator": "valutatore",
    "admin": "amministratore",
    "applicant": "altro ente richiedente",
}

# Every actor kind the table can meet: "owner" is an applicant of the owning organisation,
# "applicant" one of another organisation, "system" no user at all.
ACTOR_KINDS = (OWNER, "applicant", "officer", "evaluator", "finance", "admin", SYSTEM)

STAFF = ("officer", SYSTEM)

TRANSITIONS = [
    {
        "trigger": "submit",
        "source": "draft",
        "dest": "submitted",
        "roles": (OWNER,),
        "guards": ("edition_open", "after_opening", "before_closing", "submission_complete"),
    },
    {
        "trigger": "request_integration",
        "source": "submitted",
        "dest": "integration_requested",
        "roles": ("officer",),
        "guards": ("reason_given",),
    },
    {
        "trigger": "integrate",
        "source": "integration_requested",
        "dest": "submitted",
        "roles": (OWNER,),
        "guards": ("before_integration_deadline",),
    },
    {
        "trigger": "declare_eligible",
        "source": "submitted",
        "dest": "eligible",
        "roles": ("officer",),
    },
    {
        "trigger": "declare_ineligible",
        "source": ("submitted", "integration_requested"),
        "dest": "ineligible",
        "roles": ("officer",),
        "guards": ("reason_given",),
    },
    {
        "trigger": "expire_integration",
        "source": "integration_requested",
        "dest": "ineligible",
        "roles": (SYSTEM,),
        "guards": ("after_integration_deadline",),
    },
    {"trigger": "complete_scoring", "source": "eligible", "dest": "scored", "roles": STAFF},
    {"trigger": "allocate_funded", "source": "scored", "dest": "funded", "roles": STAFF},
    {"trigger": "allocate_reserve", "source": "scored", "dest": "reserve", "roles": STAFF},
    {"trigger": "allocate_not_funded", "source": "scored", "dest": "not_funded", "roles": STAFF},
    {"trigger": "fund", "source": "reserve", "dest": "funded", "roles": STAFF},
    {
        "trigger": "withdraw",
        "source": ("draft", "submitted", "integration_requested", "eligible", "scored", "reserve"),
        "dest": "withdrawn",
        "roles": (OWNER,),
    },
    {"trigger": "file_report", "source": "funded", "dest": "reported", "roles": (OWNER,)},
    {"trigger": "approve_report", "source": "reported", "dest": "closed", "roles": ("finance",)},
    {"trigger": "renounce", "source": "funded", "dest": "renounced", "roles": (OWNER,)},
    {
        "trigger": "revoke",
        "source": ("funded", "reported"),
        "dest": "revoked",
        "roles": ("officer",),
        "guards": ("reason_given",),
    },
]


@dataclass(frozen=True)
class Facts:
    """What the guards may look at: plain values, read from the database by the caller."""

    now: datetime
    actor_role: str | None = None  # None: the system (scheduled tick)
    is_owner: bool = False
    reason: str = ""
    edition_state: str = "open"
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    integration_deadline: datetime | None = None
    submission_problems: tuple[str, ...] = ()


def actor_kind(facts: Facts) -> str:
    if facts.actor_role is None:
        return SYSTEM
    if facts.actor_role == "applicant" and facts.is_owner:
        return OWNER
    return facts.actor_role


def rome(value: datetime) -> str:
    """15/04/2019 alle ore 12:00, in Europe/Rome."""
    local = value.astimezone(ROME)
    return f"{local:%d/%m/%Y} alle ore {local:%H:%M}"


# --- guards: each a named predicate, None when satisfied -------------------------------


def edition_open(f: Facts) -> Refusal | None:
    if f.edition_state != "open":
        state = EDITION_STATE_LABELS.get(f.edition_state, f.edition_state)
        return Refusal("edition_not_open", f"il bando non accetta domande (stato: {state})")
    return None


def after_opening(f: Facts) -> Refusal | None:
    if f.opens_at is not None and f.now < f.opens_at:
        return Refusal("not_yet_open", f"le domande si presentano dal {rome(f.opens_at)}")
    return None


def before_closing(f: Facts) -> Refusal | None:
    # Exactly at closes_at is already too late.
    if f.closes_at is not None and f.now >= f.closes_at:
        return Refusal(
            "deadline_passed",
            f"il termine per presentare le domande è scaduto il {rome(f.closes_at)}",
        )
    return None


def submission_complete(f: Facts) -> Refusal | None:
    if f.submission_problems:
        return Refusal("incomplete", "domanda incompleta: " + "; ".join(f.submission_problems))
    return None


def before_integration_deadline(f: Facts) -> Refusal | None:
    if f.integration_deadline is not None and f.now >= f.integration_deadline:
        return Refusal(
            "integration_deadline_passed",
            f"il termine per l'integrazione è scaduto il {rome(f.integration_deadline)}",
        )
    return None


def after_integration_deadline(f: Facts) -> Refusal | None:
    if f.integration_deadline is None or f.now < f.integration_deadline:
        when = rome(f.integration_deadline) if f.integration_deadline else "—"
        return Refusal(
            "integration_deadline_not_passed",
            f"il termine per l'integrazione non è ancora scaduto (scade il {when})",
        )
    return None


def reason_given(f: Facts) -> Refusal | None:
    if not (f.reason or "").strip():
        return Refusal("reason_required", "indicare la motivazione")
    return None


GUARDS = {
    g.__name__: g
    for g in (
        edition_open,
        after_opening,
        before_closing,
        submission_complete,
        before_integration_deadline,
        after_integration_deadline,
        reason_given,
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
    subject="una domanda",
)

TRIGGERS = MACHINE.triggers


# check(state, trigger, facts): every reason why the trigger may not fire (empty: it may).
# advance(state, trigger, facts): the next state, moved by the transitions Machine; or Refused.
check = MACHINE.check
advance = MACHINE.advance
transition_table = MACHINE.transition_table


__all__ = [
    "ACTOR_KINDS",
    "Facts",
    "GUARDS",
    "MACHINE",
    "Refusal",
    "Refused",
    "STATES",
    "STATE_LABELS",
    "TRANSITIONS",
    "TRIGGERS",
    "TRIGGER_LABELS",
    "advance",
    "check",
    "transition_table",
]
