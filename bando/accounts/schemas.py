"""The payloads of accounts: a token for e-mail and password, a registration and the
confirmation of its address."""

from typing import Literal

from pydantic import Field

from bando.accounts.models import ROLES
from bando.core.schemas import Line, Out, Schema
from workflows.organisation import MAX_LENGTHS, NON_PROFIT_FORMS


class TokenRequest(Schema):
    email: Line(254)
    password: str = Field(max_length=1000)


class PasswordChange(Schema):
    current_password: str = Field(max_length=1000)
    password: str = Field(max_length=1000)
    password_confirm: str = Field(max_length=1000)


class Token(Out):
    token: str = Field(description="use as Authorization: Bearer <token>")
    role: Literal[ROLES]


class OrganisationInput(Schema):
    """A non-profit organisation; workflows.organisation checks the tax code, the legal form
    (for-profit forms are refused saying why), the PEC and the withholding declaration."""

    name: Line(MAX_LENGTHS["name"])
    tax_code: Line(20) = Field(
        description="codice fiscale: 11 digits (entity) or 16 characters (person)"
    )
    vat_number: Line(20) | None = Field(default=None, description="partita IVA, optional")
    legal_form: Line(60) = Field(
        description=f"non-profit forms only: {', '.join(NON_PROFIT_FORMS)}",
        examples=list(NON_PROFIT_FORMS),
    )
    pec: Line(MAX_LENGTHS["pec"])
    address: Line(MAX_LENGTHS["address"])
    legal_representative: Line(MAX_LENGTHS["legal_representative"])
    runts_number: Line(MAX_LENGTHS["runts_number"]) | None = None
    withholding_exempt: bool = Field(
        default=False, description="declares the organisation not subject to the 4 % withholding"
    )
    withholding_reason: Line(MAX_LENGTHS["withholding_reason"]) = Field(
        default="", description="needed when exempt"
    )


class AccountRequest(Schema):
    email: Line(254)
    password: str = Field(max_length=1000)
    full_name: Line(200) = ""
    organisation: OrganisationInput


class UserOut(Out):
    id: int
    email: str
    role: str


class OrganisationOut(Out):
    id: int
    name: str
    tax_code: str
    vat_number: str | None
    legal_form: str
    pec: str
    address: str
    legal_representative: str
    runts_number: str | None
    withholding_exempt: bool
    withholding_reason: str


class Account(Out):
    user: UserOut
    organisation: OrganisationOut


class RegistrationAccepted(Out):
    """The answer to every well-formed registration, whether or not the address already
    had an account (that is never told): the rest happens by e-mail."""

    status: Literal["confirmation_sent"] = "confirmation_sent"
    message: str = Field(
        default=(
            "controllare la casella email: se la registrazione è andata a buon fine vi si "
            "trova il collegamento per confermare l'indirizzo; intanto si può accedere e "
            "preparare la domanda, che si presenta dopo la conferma"
        )
    )


class ConfirmationRequest(Schema):
    token: Line(500) = Field(description="the token of the link /conferma/<token>")


class ConfirmationResend(Schema):
    email: Line(254)


class Confirmed(Out):
    email: str
    email_confirmed: bool


class PasswordResetRequest(Schema):
    email: Line(254)


class PasswordResetSent(Out):
    """The same answer for any address: whether it has an account is never told."""

    status: Literal["reset_link_sent"] = "reset_link_sent"
    message: str = Field(
        default=(
            "se l'indirizzo appartiene a un account, riceverà a breve un collegamento per "
            "scegliere una nuova password"
        )
    )


class PasswordReset(Schema):
    token: Line(500) = Field(description="the token of the link /password/nuova/<token>")
    password: str = Field(max_length=1000)
    password_confirm: str = Field(max_length=1000)


class PasswordResetDone(Out):
    email: str = Field(description="the account's address: sign in with it and the new password")
