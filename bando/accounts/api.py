"""POST /api/v1/accounts: a non-profit organisation registers with its first user."""

from flask import jsonify

from bando.accounts.organisations import RegistrationError, register_organisation
from bando.applications.operations import ApplicationError, commit
from bando.core.api import ApiError, bp, json_body
from workflows.organisation import FIELDS as ORGANISATION_FIELDS


def organisation_dict(org) -> dict:
    return {"id": org.id, **{name: getattr(org, name) for name in ORGANISATION_FIELDS}}


@bp.post("/accounts")
def create_account():
    data = json_body()
    organisation = data.get("organisation")
    if not isinstance(organisation, dict):
        raise ApiError(
            422,
            "the organisation is required",
            {"organisation": ["un oggetto con name, tax_code, legal_form, pec, address, …"]},
        )
    unknown = (set(data) - {"email", "password", "full_name", "organisation"}) | {
        f"organisation.{k}" for k in set(organisation) - set(ORGANISATION_FIELDS)
    }
    if unknown:
        raise ApiError(422, "unknown fields", {k: ["campo sconosciuto"] for k in sorted(unknown)})
    try:
        user = register_organisation(
            data.get("email"),
            data.get("password"),
            organisation,
            full_name=data.get("full_name") or "",
        )
    except RegistrationError as error:
        status = 409 if _duplicate(error.errors) else 422
        raise ApiError(status, "registration refused", error.errors) from None
    try:
        commit(
            "un ente con questo codice fiscale o un utente con questa email è appena stato "
            "registrato"
        )
    except ApplicationError as error:
        errors = {"organisation.tax_code": [error.message]}
        raise ApiError(409, "registration refused", errors) from None
    return (
        jsonify(
            user={"id": user.id, "email": user.email, "role": user.role},
            organisation=organisation_dict(user.organisation),
        ),
        201,
    )


def _duplicate(errors: dict) -> bool:
    """Only an existing account or organisation: a conflict rather than invalid data."""
    texts = [m for messages in errors.values() for m in messages]
    return bool(texts) and all("già" in m for m in texts)
