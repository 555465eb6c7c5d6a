"""The lifecycle's words in the page's language.

workflows/ names states, triggers and roles in Italian and knows nothing of Flask-Babel;
the markers below put those same Italian texts in the catalogue (`make messages` finds
them), and the functions look the texts up when a page is drawn. A text changed in
workflows/ without its marker here shows in Italian in English pages: a test checks.
"""

from datetime import datetime

from flask_babel import gettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from workflows import application as application_machine
from workflows import diagram

CATALOGUE_MARKERS = (
    # application_machine.STATE_LABELS
    _l("Bozza"),
    _l("Presentata"),
    _l("Integrazione richiesta"),
    _l("Ammissibile"),
    _l("Non ammissibile"),
    _l("Valutata"),
    _l("Finanziata"),
    _l("In riserva"),
    _l("Non finanziata"),
    _l("Rendicontata"),
    _l("Conclusa"),
    _l("Ritirata"),
    _l("Rinunciata"),
    _l("Revocata"),
    # application_machine.TRIGGER_LABELS
    _l("Presentazione della domanda"),
    _l("Richiesta di integrazione (soccorso istruttorio)"),
    _l("Integrazione dei documenti"),
    _l("Dichiarazione di ammissibilità"),
    _l("Dichiarazione di non ammissibilità"),
    _l("Scadenza del termine di integrazione"),
    _l("Valutazione completata"),
    _l("Assegnazione: finanziata"),
    _l("Assegnazione: in riserva"),
    _l("Assegnazione: non finanziata"),
    _l("Finanziamento per scorrimento della graduatoria"),
    _l("Ritiro della domanda"),
    _l("Presentazione della rendicontazione"),
    _l("Approvazione della rendicontazione"),
    _l("Rinuncia al contributo"),
    _l("Revoca del contributo"),
    # application_machine.ROLE_LABELS
    _l("ente richiedente"),
    _l("istruttore"),
    _l("ufficio finanziario"),
    _l("sistema"),
    _l("valutatore"),
    _l("amministratore"),
    _l("altro ente richiedente"),
)


def state_label(state: str | None) -> str:
    if not state:
        return "—"
    text = application_machine.STATE_LABELS.get(state)
    return gettext(text) if text else state


def trigger_label(trigger: str) -> str:
    text = application_machine.TRIGGER_LABELS.get(trigger)
    return gettext(text) if text else trigger


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


@_template_global("lifecycle_actor_label")
def actor_label(event) -> str:
    """Who acted, by role: the applicant's pages never show staff members' addresses."""
    if event.actor is None:
        return _("sistema (scadenza automatica)")
    if event.actor.role == "applicant":
        return event.actor.full_name or event.actor.email
    return role_label(event.actor.role)


@_template_global("lifecycle_event_note")
def event_note(event) -> str:
    payload = event.payload or {}
    if payload.get("protocol") and event.trigger == "submit":
        return _("protocollo %(protocol)s", protocol=payload["protocol"])
    if payload.get("integration_deadline"):
        deadline = datetime.fromisoformat(payload["integration_deadline"])
        return _("rispondere entro il %(when)s", when=application_machine.rome(deadline))
    return ""


@_template_global("lifecycle_diagram_rows")
def diagram_rows() -> list[dict]:
    return diagram.rows()


@_template_global("lifecycle_diagram_svg")
def diagram_svg() -> Markup:
    # Built from the transition table with escaped labels: safe to inline.
    return Markup(diagram.svg(title=_("Stati di una domanda e passaggi tra di essi")))


def init_app(app):
    app.jinja_env.globals.update(TEMPLATE_GLOBALS)
