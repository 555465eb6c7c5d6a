"""The application state machine (see DESIGN.md, "Application states").

One transition table (TRANSITIONS) defines it: the `transitions` Machine that does the
move, `check()` that explains a refusal, and the diagram are all built from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .edition import STATE_LABELS as EDITION_STATE_LABELS
from .machine import OWNER, SYSTEM, Refusal, Refused, StateMachine, gettext_noop
from .timezone import rome, within

STATES = (
    "draft",
    "submitted",
    "integration_requested",
    "rejection_notified",
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

# The states in which the officer's check of admissibility is still open.
UNDER_CHECK = ("submitted", "integration_requested", "rejection_notified")

STATE_LABELS = {
    "draft": gettext_noop("Bozza"),
    "submitted": gettext_noop("Presentata"),
    "integration_requested": gettext_noop("Integrazione richiesta"),
    "rejection_notified": gettext_noop("Preavviso di rigetto"),
    "eligible": gettext_noop("Ammissibile"),
    "ineligible": gettext_noop("Non ammissibile"),
    "scored": gettext_noop("Valutata"),
    "funded": gettext_noop("Finanziata"),
    "reserve": gettext_noop("In riserva"),
    "not_funded": gettext_noop("Non finanziata"),
    "reported": gettext_noop("Rendicontata"),
    "closed": gettext_noop("Conclusa"),
    "withdrawn": gettext_noop("Ritirata"),
    "renounced": gettext_noop("Rinunciata"),
    "revoked": gettext_noop("Revocata"),
}

TRIGGER_LABELS = {
    "submit": gettext_noop("Presentazione della domanda"),
    "request_integration": gettext_noop("Richiesta di integrazione (soccorso istruttorio)"),
    "integrate": gettext_noop("Integrazione dei documenti"),
    "declare_eligible": gettext_noop("Dichiarazione di ammissibilità"),
    "declare_ineligible": gettext_noop("Dichiarazione di non ammissibilità"),
    "expire_integration": gettext_noop("Scadenza del termine di integrazione"),
    "notify_rejection": gettext_noop("Preavviso di rigetto (art. 10-bis L. 241/1990)"),
    "answer_notice": gettext_noop("Osservazioni al preavviso di rigetto"),
    "complete_scoring": gettext_noop("Valutazione completata"),
    "allocate_funded": gettext_noop("Assegnazione: finanziata"),
    "allocate_reserve": gettext_noop("Assegnazione: in riserva"),
    "allocate_not_funded": gettext_noop("Assegnazione: non finanziata"),
    "fund": gettext_noop("Finanziamento per scorrimento della graduatoria"),
    "withdraw": gettext_noop("Ritiro della domanda"),
    "file_report": gettext_noop("Presentazione della rendicontazione"),
    "approve_report": gettext_noop("Approvazione della rendicontazione"),
    "renounce": gettext_noop("Rinuncia al contributo"),
    "accept": gettext_noop("Accettazione del contributo"),
    "revoke": gettext_noop("Revoca del contributo"),
}

# For the drawn diagram, where a whole sentence does not fit on an arrow.
TRIGGER_SHORT_LABELS = {
    "submit": gettext_noop("presentazione"),
    "request_integration": gettext_noop("richiesta integrazione"),
    "integrate": gettext_noop("integrazione"),
    "declare_eligible": gettext_noop("ammissibile"),
    "declare_ineligible": gettext_noop("non ammissibile"),
    "expire_integration": gettext_noop("termine scaduto"),
    "notify_rejection": gettext_noop("preavviso"),
    "answer_notice": gettext_noop("osservazioni"),
    "complete_scoring": gettext_noop("valutazione"),
    "allocate_funded": gettext_noop("assegnazione"),
    "allocate_reserve": gettext_noop("in riserva"),
    "allocate_not_funded": gettext_noop("esclusa"),
    "fund": gettext_noop("scorrimento"),
    "withdraw": gettext_noop("ritiro"),
    "file_report": gettext_noop("rendicontazione"),
    "approve_report": gettext_noop("approvazione"),
    "renounce": gettext_noop("rinuncia"),
    "accept": gettext_noop("accettazione"),
    "revoke": gettext_noop("revoca"),
}

ROLE_LABELS = {
    OWNER: gettext_noop("ente richiedente"),
    "officer": gettext_noop("istruttore"),
    "finance": gettext_noop("ufficio finanziario"),
    SYSTEM: gettext_noop("sistema"),
    "evaluator": gettext_noop("valutatore"),
    "admin": gettext_noop("amministratore"),
    "applicant": gettext_noop("altro ente richiedente"),
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
        "guards": (
            "edition_open",
            "after_opening",
            "before_closing",
            "submission_complete",
            "email_confirmed",
        ),
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
        "source": ("submitted", "rejection_notified"),
        "dest": "eligible",
        "roles": ("officer",),
        "guards": ("admissible",),
    },
    # Where the call sets a notice before rejection, the officer first sends the reasons…
    {
        "trigger": "notify_rejection",
        "source": ("submitted", "integration_requested"),
        "dest": "rejection_notified",
        "roles": ("officer",),
        "guards": ("reason_given", "rejection_notice_required"),
    },
    # …the organisation may answer with observations within the days given…
    {
        "trigger": "answer_notice",
        "source": "rejection_notified",
        "dest": "=",
        "roles": (OWNER,),
        "guards": ("reason_given", "notice_not_answered", "before_notice_deadline"),
    },
    {
        "trigger": "declare_ineligible",
        "source": ("submitted", "integration_requested"),
        "dest": "ineligible",
        "roles": ("officer",),
        "guards": ("reason_given", "no_rejection_notice_required"),
    },
    # …and the officer decides once it answered or the days have passed.
    {
        "trigger": "declare_ineligible",
        "source": "rejection_notified",
        "dest": "ineligible",
        "roles": ("officer",),
        "guards": ("reason_given", "notice_answered_or_expired"),
    },
    {
        "trigger": "expire_integration",
        "source": "integration_requested",
        "dest": "ineligible",
        "roles": (SYSTEM,),
        "guards": ("after_integration_deadline",),
    },
    {
        "trigger": "complete_scoring",
        "source": "eligible",
        "dest": "scored",
        "roles": STAFF,
        "guards": ("enough_reviews",),
    },
    {"trigger": "allocate_funded", "source": "scored", "dest": "funded", "roles": STAFF},
    {"trigger": "allocate_reserve", "source": "scored", "dest": "reserve", "roles": STAFF},
    {"trigger": "allocate_not_funded", "source": "scored", "dest": "not_funded", "roles": STAFF},
    {"trigger": "fund", "source": "reserve", "dest": "funded", "roles": STAFF},
    {
        "trigger": "withdraw",
        "source": (
            "draft",
            "submitted",
            "integration_requested",
            "rejection_notified",
            "eligible",
            "scored",
            "reserve",
        ),
        "dest": "withdrawn",
        "roles": (OWNER,),
    },
    {"trigger": "file_report", "source": "funded", "dest": "reported", "roles": (OWNER,)},
    {"trigger": "approve_report", "source": "reported", "dest": "closed", "roles": ("finance",)},
    # The award is accepted by its deadline (a partial one included), or renounced; left
    # unaccepted past the deadline, the system records the renunciation.
    {
        "trigger": "accept",
        "source": "funded",
        "dest": "=",
        "roles": (OWNER,),
        "guards": ("award_not_accepted", "before_acceptance_deadline"),
    },
    {
        "trigger": "renounce",
        "source": "funded",
        "dest": "renounced",
        "roles": (OWNER, SYSTEM),
        "guards": ("system_renounces_only_unaccepted_late",),
    },
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
    # The acting user has confirmed their e-mail address (true for staff and the system).
    email_confirmed: bool = True
    rejection_notice_days: int = 0  # the call's days to answer a notice; 0: no notice
    notice_deadline: datetime | None = None
    notice_answered: bool = False
    valid_reviews: int = 0  # submitted reviews that count (no conflict of interest)
    admissibility_problems: tuple[str, ...] = ()  # checks of the checklist failed or unticked
    award_accepted: bool = False
    acceptance_deadline: datetime | None = None
    reviews_required: int = 1


def actor_kind(facts: Facts) -> str:
    if facts.actor_role is None:
        return SYSTEM
    if facts.actor_role == "applicant" and facts.is_owner:
        return OWNER
    return facts.actor_role


# --- guards: each a named predicate, None when satisfied -------------------------------


def edition_open(f: Facts) -> Refusal | None:
    if f.edition_state != "open":
        state = EDITION_STATE_LABELS.get(f.edition_state, f.edition_state)
        return Refusal("edition_not_open", f"il bando non accetta domande (stato: {state})")
    return None


def after_opening(f: Facts) -> Refusal | None:
    if f.opens_at is not None and f.now < f.opens_at:
        return Refusal("not_yet_open", f"le domande si presentano {rome(f.opens_at, 'dal')}")
    return None


def before_closing(f: Facts) -> Refusal | None:
    # Exactly at closes_at is already too late.
    if f.closes_at is not None and f.now >= f.closes_at:
        return Refusal(
            "deadline_passed",
            f"il termine per presentare le domande è scaduto {rome(f.closes_at)}",
        )
    return None


def submission_complete(f: Facts) -> Refusal | None:
    if f.submission_problems:
        return Refusal(
            "incomplete",
            "domanda incompleta: " + "; ".join(f.submission_problems),
            field="submission",
            details=tuple(f.submission_problems),
        )
    return None


def email_confirmed(f: Facts) -> Refusal | None:
    if not f.email_confirmed:
        return Refusal(
            "email_not_confirmed",
            "prima di presentare la domanda occorre confermare il proprio indirizzo email "
            "con il collegamento ricevuto alla registrazione (se ne può chiedere uno nuovo "
            "dalla pagina del proprio account)",
        )
    return None


def before_integration_deadline(f: Facts) -> Refusal | None:
    if f.integration_deadline is not None and not within(f.now, f.integration_deadline):
        return Refusal(
            "integration_deadline_passed",
            f"il termine per l'integrazione è scaduto {rome(f.integration_deadline)}",
        )
    return None


def after_integration_deadline(f: Facts) -> Refusal | None:
    if f.integration_deadline is None or within(f.now, f.integration_deadline):
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


def rejection_notice_required(f: Facts) -> Refusal | None:
    if not f.rejection_notice_days:
        return Refusal(
            "no_rejection_notice", "il bando non prevede il preavviso di rigetto: decidere"
        )
    return None


def no_rejection_notice_required(f: Facts) -> Refusal | None:
    if f.rejection_notice_days:
        return Refusal(
            "rejection_notice_required",
            "il bando prevede il preavviso di rigetto (art. 10-bis L. 241/1990): comunicare "
            f"prima i motivi e attendere le osservazioni ({f.rejection_notice_days} giorni)",
        )
    return None


def notice_not_answered(f: Facts) -> Refusal | None:
    if f.notice_answered:
        return Refusal("notice_answered", "le osservazioni sono già state inviate")
    return None


def before_notice_deadline(f: Facts) -> Refusal | None:
    if f.notice_deadline is not None and not within(f.now, f.notice_deadline):
        return Refusal(
            "notice_deadline_passed",
            f"il termine per le osservazioni è scaduto {rome(f.notice_deadline)}",
        )
    return None


def notice_answered_or_expired(f: Facts) -> Refusal | None:
    if f.notice_answered:
        return None
    if f.notice_deadline is not None and within(f.now, f.notice_deadline):
        return Refusal(
            "notice_pending",
            "l'ente può ancora inviare osservazioni al preavviso "
            f"{rome(f.notice_deadline, 'entro il')}: decidere dopo la risposta o la scadenza",
        )
    return None


def award_not_accepted(f: Facts) -> Refusal | None:
    if f.award_accepted:
        return Refusal("already_accepted", "il contributo è già stato accettato")
    return None


def before_acceptance_deadline(f: Facts) -> Refusal | None:
    if f.acceptance_deadline is not None and not within(f.now, f.acceptance_deadline):
        return Refusal(
            "acceptance_deadline_passed",
            f"il termine per accettare il contributo è scaduto {rome(f.acceptance_deadline)}",
        )
    return None


def system_renounces_only_unaccepted_late(f: Facts) -> Refusal | None:
    # The organisation may renounce at any time; the system only for an award left
    # unaccepted past its deadline.
    if f.actor_role is not None:
        return None
    if f.award_accepted:
        return Refusal("already_accepted", "il contributo è stato accettato")
    if f.acceptance_deadline is None or within(f.now, f.acceptance_deadline):
        return Refusal(
            "acceptance_deadline_not_passed", "il termine per accettare non è ancora scaduto"
        )
    return None


def admissible(f: Facts) -> Refusal | None:
    if f.admissibility_problems:
        return Refusal(
            "not_admissible",
            "controlli di ammissibilità non superati: " + "; ".join(f.admissibility_problems),
            field="checklist",
            details=tuple(f.admissibility_problems),
        )
    return None


def enough_reviews(f: Facts) -> Refusal | None:
    if f.valid_reviews < f.reviews_required:
        return Refusal(
            "reviews_missing",
            f"valutazioni valide: {f.valid_reviews} di {f.reviews_required} richieste",
        )
    return None


GUARDS = {
    g.__name__: g
    for g in (
        edition_open,
        after_opening,
        before_closing,
        submission_complete,
        email_confirmed,
        before_integration_deadline,
        after_integration_deadline,
        reason_given,
        rejection_notice_required,
        no_rejection_notice_required,
        notice_not_answered,
        before_notice_deadline,
        notice_answered_or_expired,
        enough_reviews,
        admissible,
        award_not_accepted,
        before_acceptance_deadline,
        system_renounces_only_unaccepted_late,
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
