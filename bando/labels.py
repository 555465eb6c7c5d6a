"""The lifecycle's words in the page's language.

workflows/ names states, triggers and roles in Italian and knows nothing of Flask-Babel;
the markers below put those same Italian texts in the catalogue (`make messages` finds
them), and the functions look the texts up when a page is drawn. A text changed in
workflows/ without its marker here shows in Italian in English pages: a test checks.
"""

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from workflows import application as application_machine

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
