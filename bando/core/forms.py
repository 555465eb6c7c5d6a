"""What every page's form shares: free text checked as the API checks it, and the
messages of an operation, by field, put next to their WTForms field."""

from flask_babel import gettext as _
from wtforms import FieldList, FormField
from wtforms.validators import ValidationError

from bando.core.schemas import many_lines, one_line
from workflows.machine import Message


class FreeText:
    """A WTForms validator: the text as the API's schemas take it (Text, Line): at most
    `max_length` characters (a browser's CRLF counted as one, as the API counts a line
    break), no control characters, and no line break unless `lines`."""

    def __init__(self, max_length: int, *, lines: bool = True):
        self.max_length = max_length
        self.check = many_lines if lines else one_line

    def __call__(self, form, field):
        text = (field.data or "").replace("\r\n", "\n")
        if len(text) > self.max_length:
            raise ValidationError(_("Al massimo %(count)s caratteri.", count=self.max_length))
        try:
            self.check(text)
        except ValueError as error:  # the schemas' own message
            raise ValidationError(str(error)) from None


def in_page_language(message: str) -> str:
    """An operation's message (Italian: the API's words) in the page's language, when the
    catalogue has it (the rules mark their messages with gettext_noop; one with values is a
    workflows.machine.Message); as it is otherwise. A plain message is never formatted: a
    "%" in it stays."""
    if isinstance(message, Message):
        return _(message.template, **message.values)
    return _(message) if message else message


def place_errors(form, errors: dict) -> dict[str, list[str]]:
    """Puts each message next to its field, in the page's language (in_page_language);
    returns, by section, those that belong to a whole section (e.g. "budget": the lines do
    not add up) or to no field of the form."""
    loose: dict[str, list[str]] = {}
    for key, messages in errors.items():
        messages = [in_page_language(message) for message in messages]
        parts = key.removeprefix("organisation.").split(".")
        field = form
        try:
            for part in parts:
                field = field[int(part)] if part.isdigit() else field[part]
        except (KeyError, IndexError, TypeError):
            field = None
        if field is None or isinstance(field, FieldList | FormField) or field is form:
            loose.setdefault(parts[0], []).extend(messages)
            continue
        field.errors = [*field.errors, *messages]
    return loose


def offer_row(rows: FieldList) -> bool:
    """One more empty row to type into, while the list is under its limit (WTForms refuses
    an entry beyond max_entries with an error, not a message); False at the limit."""
    if rows.max_entries is not None and len(rows.entries) >= rows.max_entries:
        return False
    rows.append_entry()
    return True
