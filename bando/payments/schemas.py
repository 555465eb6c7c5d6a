"""The payloads of payments: the payment recorded by finance and the register."""

from typing import Literal

from pydantic import Field

from bando.core.schemas import Cents, Line, Moment, Out, Schema, SignedCents

Kind = Literal["advance", "balance", "recovery"]


class PaymentIn(Schema):
    """The amount is not sent: it is what is due (scoring.balance), withholding included.
    Send an `Idempotency-Key` header so that a retried request records nothing new."""

    kind: Kind
    reference: Line(100) = Field(default="", description="the payment order's number")


class PaymentOut(Out):
    id: int
    application_id: int
    protocol: str | None
    organisation: str
    tax_code: str
    kind: Kind
    amount: Cents = Field(description="gross: the award's share paid (or recovered)")
    withholding: Cents = Field(description="4 % ritenuta d'acconto, 0 when exempt")
    net: Cents = Field(description="what reached the beneficiary (amount − withholding)")
    paid_at: Moment
    reference: str
    idempotency_key: str | None = Field(
        default=None, description="the Idempotency-Key of the request that recorded it"
    )


class DueOut(Out):
    kind: Kind
    amount: Cents
    withholding: Cents
    net: Cents


class ApplicationPayments(Out):
    application_id: int
    award: Cents
    final_contribution: Cents | None = None
    paid: Cents = Field(description="net of recoveries, gross of withholding")
    withholding_exempt: bool
    due: list[DueOut]
    payments: list[PaymentOut]


class Register(Out):
    edition: str
    paid: Cents = Field(description="Σ payments − Σ recoveries")
    withholding: Cents
    net: SignedCents = Field(
        description="what reached the beneficiaries: paid − withholding (below zero when an "
        "advance came back whole, its withholding having gone to the tax office)"
    )
    payments: list[PaymentOut]
