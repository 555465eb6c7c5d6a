"""The lifecycle's words in the page's language.

workflows/ names states, triggers and roles in Italian, marked with gettext_noop so that
`make messages` puts them in the catalogue; these functions translate them when a page
is drawn. This is the one table of state labels: every page and e-mail uses it.
"""

from datetime import datetime

from flask_babel import gettext
from flask_babel import gettext as _
from markupsafe import Markup

from bando.core.formatting import dated
from workflows import application as application_machine
from workflows import diagram
from workflows import edition as edition_machine
from workflows.machine import gettext_noop


def state_label(state: str | None, machine=application_machine) -> str:
    """An application's state (or an edition's, with machine=workflows.edition)."""
    if not state:
        return "—"
    text = machine.STATE_LABELS.get(state)
    return gettext(text) if text else state


# Events of an application's audit trail that are not moves of its machine: every trigger
# written with an application's id that its organisation reads has its words here (the
# committee's work and the formal checks stay with the staff: applications.rules).
OTHER_TRIGGER_LABELS = {
    "issue_letter": gettext_noop("Lettera del Comune emessa"),
    "top_up_award": gettext_noop("Integrazione del contributo"),
    "pay_advance": gettext_noop("Pagamento dell'anticipo"),
    "pay_balance": gettext_noop("Pagamento del saldo"),
    "record_recovery": gettext_noop("Recupero di somme versate"),
    "accept_expense": gettext_noop("Spesa ammessa"),
    "reject_expense": gettext_noop("Spesa non ammessa"),
}


def trigger_label(trigger: str) -> str:
    text = application_machine.TRIGGER_LABELS.get(trigger) or OTHER_TRIGGER_LABELS.get(trigger)
    return gettext(text) if text else trigger


# Every other trigger of the audit trail: the administrator's register names each one.
STAFF_TRIGGER_LABELS = {
    # the committee
    "assign_evaluator": gettext_noop("Valutatore nominato"),
    "remove_evaluator": gettext_noop("Valutatore rimosso"),
    "sign_declaration": gettext_noop("Dichiarazione del valutatore firmata"),
    "recuse": gettext_noop("Astensione per conflitto di interessi"),
    "submit_review": gettext_noop("Valutazione inviata"),
    "reopen_review": gettext_noop("Valutazione riaperta"),
    # the officer's and the call's
    "tick_check": gettext_noop("Verifica formale registrata"),
    "record_draw": gettext_noop("Sorteggio registrato"),
    "load_call": gettext_noop("Bando caricato dal file"),
    "reset_demo": gettext_noop("Dati dimostrativi ripristinati"),
    # accounts
    "register_organisation": gettext_noop("Ente registrato dal sito"),
    "confirm_email": gettext_noop("Indirizzo email confermato"),
    "create_user": gettext_noop("Account creato"),
    "set_password": gettext_noop("Password cambiata"),
    "reset_password": gettext_noop("Password scelta con il collegamento ricevuto"),
    "send_password_link": gettext_noop("Collegamento per la password inviato dall'amministrazione"),
    "deactivate_user": gettext_noop("Account disattivato"),
    "reactivate_user": gettext_noop("Account riattivato"),
}
# What an event is about (AuditEvent.subject).
SUBJECT_LABELS = {
    "application": gettext_noop("Domanda"),
    "edition": gettext_noop("Bando"),
    "evaluation": gettext_noop("Valutazione"),
    "expense": gettext_noop("Spesa rendicontata"),
    "letter": gettext_noop("Lettera"),
    "payment": gettext_noop("Pagamento"),
    "user": gettext_noop("Account"),
    "audit": gettext_noop("Registro"),
}


def event_label(subject: str, trigger: str) -> str:
    """Any event of the trail in words: a move of a call's machine or an application's, or
    one of the others."""
    tables = (application_machine.TRIGGER_LABELS, OTHER_TRIGGER_LABELS, STAFF_TRIGGER_LABELS)
    if subject == "edition":
        tables = (edition_machine.TRIGGER_LABELS, *tables)
    text = next((table[trigger] for table in tables if trigger in table), None)
    return gettext(text) if text else trigger


def state_change(subject: str, from_state: str | None, to_state: str | None) -> str:
    """An event's move in words ("presentata → ammissibile"), or "" when it moved nothing."""
    if not from_state and not to_state or from_state == to_state:
        return ""
    machine = edition_machine if subject == "edition" else application_machine
    return f"{state_label(from_state, machine)} → {state_label(to_state, machine)}"


def subject_label(subject: str) -> str:
    text = SUBJECT_LABELS.get(subject)
    return gettext(text) if text else subject


def role_label(role: str) -> str:
    text = application_machine.ROLE_LABELS.get(role)
    return gettext(text) if text else role


# --- template helpers, for the timeline and the diagram, on every page --------------------

TEMPLATE_GLOBALS = {}


def _template_global(name):
    def register(function):
        TEMPLATE_GLOBALS[name] = function
        return function

    return register


@_template_global("lifecycle_state_label")
def _state_label(state: str | None) -> str:
    return state_label(state)


@_template_global("lifecycle_trigger_label")
def _trigger_label(trigger: str) -> str:
    return trigger_label(trigger)


@_template_global("lifecycle_event_note")
def event_note(event) -> str:
    payload = event.payload or {}
    if payload.get("protocol") and event.trigger == "submit":
        return _("protocollo %(protocol)s", protocol=payload["protocol"])
    if payload.get("integration_deadline"):
        deadline = datetime.fromisoformat(payload["integration_deadline"])
        return _("rispondere %(when)s", when=dated(deadline, "entro", time=True))
    return ""


@_template_global("lifecycle_diagram_rows")
def diagram_rows() -> list[dict]:
    return diagram.rows()


@_template_global("lifecycle_diagram_svg")
def diagram_svg() -> Markup:
    # Built from the transition table with escaped labels: safe to inline.
    return Markup(
        diagram.svg(title=_("Stati di una domanda e passaggi tra di essi"), translate=gettext)
    )


def init_app(app):
    app.jinja_env.globals.update(TEMPLATE_GLOBALS)
    app.jinja_env.filters["state_label"] = state_label
    app.jinja_env.globals.update(
        event_label=event_label, subject_label=subject_label, state_change=state_change
    )
