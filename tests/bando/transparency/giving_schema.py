"""The 360Giving data standard (version 1.4) as a JSON Schema for the tests: the package
and the grant fields the standard requires, with their types and formats, written from
the standard's documentation. The published schema files are not shipped by any package
index, so the rules are stated here, one per line, and the validator below applies them
with jsonschema's format checks (dates, URIs)."""

from jsonschema import Draft202012Validator

ORGANIZATION = {
    "type": "object",
    "required": ["id", "name"],
    "properties": {
        # An org-id: a list code (country + register, e.g. IT-CF) and the number in it,
        # or a publisher's own identifier under its 360G- prefix.
        "id": {"type": "string", "pattern": r"^([A-Z]{2}-[A-Z0-9]+-\S+|360G-\S+)$"},
        "name": {"type": "string", "minLength": 1},
        "department": {"type": "string"},
        "url": {"type": "string", "format": "uri"},
    },
}

DATE = {
    "type": "string",
    "oneOf": [
        {"format": "date-time"},
        {"pattern": r"^[0-9]{4}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])$"},
    ],
}

GRANT = {
    "type": "object",
    "required": [
        "id",
        "title",
        "description",
        "currency",
        "amountAwarded",
        "awardDate",
        "fundingOrganization",
    ],
    # A grant goes to an organisation or to an individual.
    "anyOf": [{"required": ["recipientOrganization"]}, {"required": ["recipientIndividual"]}],
    "properties": {
        "id": {"type": "string", "pattern": r"^360G-\S+$"},
        "title": {"type": "string", "minLength": 1},
        "description": {"type": "string", "minLength": 1},
        "currency": {"type": "string", "pattern": r"^[A-Z]{3}$"},
        "amountAwarded": {"type": "number"},
        "amountDisbursed": {"type": "number"},
        "awardDate": DATE,
        "url": {"type": "string", "format": "uri"},
        "dateModified": {"type": "string", "format": "date-time"},
        "recipientOrganization": {"type": "array", "minItems": 1, "items": ORGANIZATION},
        "fundingOrganization": {"type": "array", "minItems": 1, "items": ORGANIZATION},
        "plannedDates": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"startDate": DATE, "endDate": DATE},
            },
        },
        "grantProgramme": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "title": {"type": "string"},
                    "url": {"type": "string", "format": "uri"},
                },
            },
        },
        "beneficiaryLocation": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "countryCode": {"type": "string"}},
            },
        },
    },
}

PACKAGE = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["grants"],
    "properties": {
        "grants": {"type": "array", "minItems": 1, "uniqueItems": True, "items": GRANT},
        "version": {"type": "string", "pattern": r"^(\d+\.)(\d+)$"},
    },
}


def giving_validator() -> Draft202012Validator:
    return Draft202012Validator(PACKAGE, format_checker=Draft202012Validator.FORMAT_CHECKER)
