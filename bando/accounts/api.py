"""The accounts API: a bearer token for e-mail and password; the registration of a
non-profit organisation with its first user."""

from flask import current_app

from bando.accounts.operations import authenticate, issue_token, register_organisation
from bando.accounts.schemas import Account, AccountRequest, Token, TokenRequest
from bando.core.api import ApiError, endpoint
from bando.core.extensions import db
from bando.core.operations import commit


@endpoint(
    "POST",
    "/tokens",
    summary="Exchange email and password for a bearer token",
    tag="auth",
    roles=None,
    body=TokenRequest,
    ok=(201, "a new token", Token),
    errors={401: "wrong email or password"},
)
def create_token(body: TokenRequest):
    user = authenticate(body.email, body.password)
    if user is None:
        raise ApiError(401, "wrong email or password")
    token = issue_token(user, current_app.config["API_TOKEN_HOURS"])
    db.session.commit()
    return Token(token=token, role=user.role)


@endpoint(
    "POST",
    "/accounts",
    summary="Register a non-profit organisation and its first applicant user",
    tag="accounts",
    roles=None,
    body=AccountRequest,
    validate=False,  # the operation reports the schema's problems with the rules'
    ok=(201, "registered", Account),
    errors={409: "tax code or email already registered"},
)
def create_account(body: dict):
    user = register_organisation(body)
    commit(
        "un ente con questo codice fiscale o un utente con questa email è appena stato registrato"
    )
    return Account.of({"user": user, "organisation": user.organisation})
