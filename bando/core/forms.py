"""What every page's form shares: the messages of an operation, by field, put next to
their WTForms field."""

from wtforms import FieldList, FormField


def place_errors(form, errors: dict) -> dict[str, list[str]]:
    """Puts each message next to its field; returns, by section, those that belong to a
    whole section (e.g. "budget": the lines do not add up) or to no field of the form."""
    loose: dict[str, list[str]] = {}
    for key, messages in errors.items():
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
