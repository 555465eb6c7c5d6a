"""The forms of the applicant's pages (WTForms) and their translation to the API's shape.

Usable without JavaScript: repeatable rows are a fixed number of blank rows plus an "add a
row" button. The views send what the forms hold, in the API's shape, to the same
operations as the API; the messages come back by field and are put next to their field.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    widgets,
)
from wtforms.validators import Optional

from bando.core.forms import FreeText
from scoring.money import AmountError, amount_text, cents_to_str, parse_cents

BLANK_ROWS = 3  # blank budget and partner rows offered under the filled ones
MAX_ROWS = 50


class BudgetRowForm(Form):
    category = SelectField(_l("Categoria"), validate_choice=False)
    description = StringField(_l("Descrizione"))
    amount = StringField(_l("Importo (€)"))


class PartnerRowForm(Form):
    name = StringField(_l("Nome del partner"))
    tax_code = StringField(_l("Codice fiscale"))
    role = StringField(_l("Ruolo nel progetto"))


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class ApplicationForm(FlaskForm):
    neighbourhood = SelectField(_l("Quartiere"), validate_choice=False)
    guidelines = MultiCheckboxField(_l("Linee di indirizzo affrontate"), validate_choice=False)
    title = StringField(_l("Titolo del progetto"))
    summary = TextAreaField(_l("Sintesi (poche righe)"))
    description = TextAreaField(_l("Descrizione del progetto"))
    objectives = TextAreaField(_l("Obiettivi"))
    places = TextAreaField(_l("Luoghi di svolgimento"))
    timeline = TextAreaField(_l("Tempi e fasi"))
    start_date = StringField(_l("Data di inizio"), render_kw={"type": "date"})
    end_date = StringField(_l("Data di fine"), render_kw={"type": "date"})
    budget = FieldList(FormField(BudgetRowForm), max_entries=MAX_ROWS)
    requested_amount = StringField(_l("Contributo richiesto al Comune (€)"))
    cofinancing_amount = StringField(
        _l("Cofinanziamento dell'ente (€) — se vuoto: costo totale meno contributo")
    )
    partners = FieldList(FormField(PartnerRowForm), max_entries=MAX_ROWS)
    # The documents are part of the same form: "Carica il PDF" saves what was typed too.
    kind = SelectField(_l("Documento"), validate_choice=False)
    save = SubmitField(_l("Salva bozza"))
    upload = SubmitField(_l("Carica il PDF"))
    add_budget_row = SubmitField(_l("Aggiungi riga di spesa"))
    add_partner_row = SubmitField(_l("Aggiungi partner"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.file_errors: list[str] = []  # the file input is drawn by hand, not a field


class CreateForm(FlaskForm):
    edition = SelectField(_l("Bando"), validate_choice=False)
    create = SubmitField(_l("Inizia la domanda"))


class UploadForm(FlaskForm):
    kind = SelectField(_l("Documento"), validate_choice=False)
    upload = SubmitField(_l("Carica il PDF"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.file_errors: list[str] = []


class SendForm(FlaskForm):
    """The last step: the declarations of the legal representative and the privacy notice,
    both to be ticked before the application is sent."""

    declarations = BooleanField(
        _l("Confermo le dichiarazioni sopra riportate (artt. 46 e 47 del DPR 445/2000)")
    )
    privacy = BooleanField(
        _l("Confermo di aver letto l'informativa sul trattamento dei dati personali")
    )
    confirm = SubmitField(_l("Invia la domanda"))


class ConfirmForm(FlaskForm):
    reason = TextAreaField(_l("Note (facoltative)"), validators=[Optional(), FreeText(2000)])
    confirm = SubmitField(_l("Conferma"))


def amount_field(cents: int) -> str:
    """An amount as typed back into the form, the Italian way ("6.000,00"), whatever the
    page's language: parse_cents reads it back; the API keeps "6000.00"."""
    return amount_text(cents) if cents else ""


TEXT_FIELDS = ("title", "summary", "description", "objectives", "places", "timeline")


def proposal_from_form(form):
    """The form in the API's shape; blank rows dropped; rows remembered for the messages."""
    # Browsers send a text area's line breaks as CR LF: one character each, as typed and as
    # counted on the page, not two against the limit.
    data = {name: (getattr(form, name).data or "").replace("\r\n", "\n") for name in TEXT_FIELDS}
    data["neighbourhood"] = form.neighbourhood.data or None
    data["guidelines"] = list(form.guidelines.data or [])
    data["start_date"] = form.start_date.data or None
    data["end_date"] = form.end_date.data or None
    budget, budget_rows = [], []
    for index, row in enumerate(form.budget):
        values = row.form.data
        if not any((values.get(k) or "").strip() for k in ("category", "description", "amount")):
            continue
        budget.append(
            {
                "category": values.get("category") or "",
                "description": values.get("description") or "",
                "amount": api_amount(values.get("amount")),
            }
        )
        budget_rows.append(index)
    partners, partner_rows = [], []
    for index, row in enumerate(form.partners):
        values = row.form.data
        if not any((values.get(k) or "").strip() for k in ("name", "tax_code", "role")):
            continue
        partners.append({k: values.get(k) or "" for k in ("name", "tax_code", "role")})
        partner_rows.append(index)
    data["budget"], data["partners"] = budget, partners
    data["requested_amount"] = api_amount(form.requested_amount.data)
    cofinancing = (form.cofinancing_amount.data or "").strip()
    if cofinancing:
        data["cofinancing_amount"] = api_amount(cofinancing)
    else:
        data["cofinancing_amount"] = computed_cofinancing(budget, data["requested_amount"])
    return data, {"budget": budget_rows, "partners": partner_rows}


def computed_cofinancing(budget, requested):
    """Left blank, the co-financing is what the requested contribution does not cover."""
    try:
        total = sum(parse_cents(line["amount"]) for line in budget)
        rest = total - parse_cents(requested or "0")
    except AmountError:
        return "0.00"
    return cents_to_str(max(rest, 0))


def api_amount(text) -> str:
    """An amount typed the Italian way ("6.000,00", "6.000") in the API's form ("6000.00");
    what cannot be read goes on as typed, for the schema to refuse next to its field."""
    text = (text or "").strip()
    if not text:
        return "0.00"
    try:
        return cents_to_str(parse_cents(text))
    except (AmountError, ArithmeticError):
        return text


def remap_rows(errors: dict, rows: dict) -> dict:
    """Errors name rows by their place among the filled ones; the form counts blank ones."""
    remapped = {}
    for key, messages in errors.items():
        parts = key.split(".")
        if len(parts) >= 2 and parts[0] in rows and parts[1].isdigit():
            index = int(parts[1])
            if index < len(rows[parts[0]]):
                parts[1] = str(rows[parts[0]][index])
        remapped[".".join(parts)] = messages
    return remapped
