"""The accounts API: a bearer token for e-mail and password (throttled), its revocation; the
registration of a non-profit organisation with its first user and the confirmation of its
address."""

from flask import Response, current_app, g, request

from bando.accounts.limits import (
    confirmation_limit,
    login_limit,
    password_reset_limit,
    registration_limit,
)
from bando.accounts.operations import (
    attempt_sign_in,
    change_password,
    confirm_email,
    issue_token,
    register_organisation,
    request_confirmation,
    request_password_reset,
    reset_password,
    revoke_token,
)
from bando.accounts.schemas import (
    AccountRequest,
    ConfirmationRequest,
    ConfirmationResend,
    Confirmed,
    PasswordChange,
    PasswordReset,
    PasswordResetDone,
    PasswordResetRequest,
    PasswordResetSent,
    RegistrationAccepted,
    Token,
    TokenRequest,
)
from bando.core.api import THROTTLED, ApiError, endpoint
from bando.core.extensions import db
from bando.core.operations import commit

RESENT = (
    "se l'indirizzo appartiene a un account non ancora confermato, riceverà a breve un nuovo "
    "collegamento di conferma"
)


@endpoint(
    "POST",
    "/tokens",
    summary="Exchange email and password for a bearer token",
    tag="auth",
    roles=None,
    body=TokenRequest,
    ok=(201, "a new token", Token),
    errors={401: "wrong email or password", 429: THROTTLED},
)
@login_limit
def create_token(body: TokenRequest):
    user = attempt_sign_in(body.email, body.password)
    if user is None:
        g.sign_in_failed = True
        raise ApiError(401, "wrong email or password")
    token = issue_token(user, current_app.config["API_TOKEN_HOURS"])
    db.session.commit()
    return Token(token=token, role=user.role)


@endpoint(
    "DELETE",
    "/tokens/current",
    summary="Revoke the bearer token of this request",
    tag="auth",
    ok=(204, "revoked: the token no longer opens anything", None),
)
def delete_current_token(user):
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    revoke_token(token.strip())
    db.session.commit()
    return Response(status=204)


@endpoint(
    "POST",
    "/accounts/password",
    summary="Change the password (the current one is checked, throttled as a sign-in): "
    "every session and token of the user ends, this request gets a new token",
    tag="auth",
    body=PasswordChange,
    ok=(200, "changed: use the new token", Token),
    errors={
        422: "current password wrong, new one weak, equal to the old or not confirmed",
        429: THROTTLED,
    },
)
def change_own_password(user, body: PasswordChange):
    change_password(user, body.current_password, body.password, body.password_confirm)
    token = issue_token(user, current_app.config["API_TOKEN_HOURS"])
    commit()
    return Token(token=token, role=user.role)


@endpoint(
    "POST",
    "/accounts",
    summary=(
        "Register a non-profit organisation and its first applicant user; the address is "
        "confirmed by the link e-mailed to it before a proposal can be submitted"
    ),
    tag="accounts",
    roles=None,
    body=AccountRequest,
    validate=False,  # the operation reports the schema's problems with the rules'
    ok=(
        202,
        "accepted, the same whether or not the address already had an account: the "
        "confirmation link (or, for an existing account, a notice) goes to the address",
        RegistrationAccepted,
    ),
    errors={409: "tax code already registered", 429: THROTTLED},
)
@registration_limit
def create_account(body: dict):
    register_organisation(body)
    commit(
        "un ente con questo codice fiscale è appena stato registrato",
        code="organisation_registered",
    )
    return RegistrationAccepted()


@endpoint(
    "POST",
    "/accounts/confirmation",
    summary="Confirm the address of an account with the token of the e-mailed link",
    tag="accounts",
    roles=None,
    body=ConfirmationRequest,
    ok=(200, "confirmed", Confirmed),
    errors={400: "the link is not valid or has expired (code link_invalid, link_expired)"},
)
def confirm_account(body: ConfirmationRequest):
    user = confirm_email(body.token)
    db.session.commit()
    return Confirmed(email=user.email, email_confirmed=True)


@endpoint(
    "POST",
    "/accounts/confirmation/resend",
    summary="Send a new confirmation link (answered the same for any address)",
    tag="accounts",
    roles=None,
    body=ConfirmationResend,
    ok=(202, "sent if the address has an unconfirmed account", RegistrationAccepted),
    errors={429: THROTTLED},
)
@confirmation_limit
def resend_confirmation(body: ConfirmationResend):
    request_confirmation(body.email)
    db.session.commit()
    return RegistrationAccepted(message=RESENT)


@endpoint(
    "POST",
    "/accounts/password/forgotten",
    summary="Mail a link to choose a new password (answered the same for any address)",
    tag="accounts",
    roles=None,
    body=PasswordResetRequest,
    ok=(202, "sent if the address has an active account", PasswordResetSent),
    errors={429: THROTTLED},
)
@password_reset_limit
def forgotten_password(body: PasswordResetRequest):
    request_password_reset(body.email)
    db.session.commit()
    return PasswordResetSent()


@endpoint(
    "POST",
    "/accounts/password/reset",
    summary="Choose a new password with the token of the mailed link: the link is spent, "
    "every session and token of the user ends",
    tag="accounts",
    roles=None,
    body=PasswordReset,
    ok=(200, "saved: sign in with the new password", PasswordResetDone),
    errors={
        400: "the link is not valid, has expired or was used (code link_invalid, link_expired)",
        422: "new password weak or not confirmed",
    },
)
def reset_forgotten_password(body: PasswordReset):
    user = reset_password(body.token, body.password, body.password_confirm)
    commit()
    return PasswordResetDone(email=user.email)
