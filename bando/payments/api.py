"""The payments' API: what is due and paid on an application, finance's recording of a
payment (idempotent with the `Idempotency-Key` header), the register of a call (JSON, CSV, XLSX)."""

from bando.applications import rules
from bando.calls.api import edition_or_404
from bando.core import idempotency
from bando.core.api import ApiError, endpoint
from bando.core.xlsxfile import MIMETYPE as XLSX
from bando.payments import operations
from bando.payments.exports import register_file
from bando.payments.operations import register_totals
from bando.payments.schemas import ApplicationPayments, PaymentIn, PaymentOut, Register

READERS = ("finance", "officer", "admin")


def _visible(user, application_id):
    application = rules.visible_application(user, application_id)
    if application is None or not (rules.is_member(user, application) or user.role in READERS):
        raise ApiError(404, "application not found")
    return application


def application_payments(application) -> dict:
    award = application.award
    return {
        "application_id": application.id,
        "award": award.amount_cents if award else 0,
        "final_contribution": award.final_amount_cents if award else None,
        "paid": award.paid_cents if award else 0,
        "withholding_exempt": bool(application.organisation.withholding_exempt),
        "due": [
            {
                "kind": d.kind,
                "amount": d.amount_cents,
                "withholding": d.withholding_cents,
                "net": d.net_cents,
            }
            for d in operations.due_payments(application)
        ],
        "payments": [operations.payment_view(p) for p in (award.payments if award else [])],
    }


@endpoint(
    "GET",
    "/applications/<int:application_id>/payments",
    summary="The award's payments and what is due now (the organisation, finance, officer)",
    tag="payments",
    ok=(200, "payments and dues", ApplicationPayments),
)
def list_payments(user, application_id):
    return ApplicationPayments.of(application_payments(_visible(user, application_id)))


@endpoint(
    "POST",
    "/applications/<int:application_id>/payments",
    summary="Record the payment due now (advance, balance) or the recovery; the amount and "
    "the 4 % withholding are computed. With an Idempotency-Key header a retried request "
    "returns the payment already recorded (200) instead of a second one",
    tag="payments",
    roles=("finance",),
    body=PaymentIn,
    headers=(idempotency.PARAMETER,),
    ok=(201, "recorded (200 when replayed by its Idempotency-Key)", PaymentOut),
    errors={
        200: ("the payment already recorded with this Idempotency-Key", PaymentOut),
        409: "nothing of that kind is due now, or it was already recorded",
        400: "a malformed Idempotency-Key",
        422: "invalid data, or an Idempotency-Key used for another payment",
    },
)
def record_payment(user, application_id, body: PaymentIn):
    application = _visible(user, application_id)
    key = idempotency.idempotency_key()
    payment, created = operations.pay_once(
        application.id, body.kind, user, reference=body.reference, key=key
    )
    return PaymentOut.of(operations.payment_view(payment, key)), 201 if created else 200


@endpoint(
    "GET",
    "/editions/<code>/payments",
    summary="The payment register of a call",
    tag="payments",
    roles=READERS,
    ok=(200, "the register", Register),
)
def edition_payments(user, code):
    payments = operations.register(edition_or_404(code))
    return Register.of(
        {
            "edition": code,
            **register_totals(payments),
            "payments": [operations.payment_view(p) for p in payments],
        }
    )


@endpoint(
    "GET",
    "/editions/<code>/payments.csv",
    summary="The payment register of a call as CSV",
    tag="payments",
    roles=READERS,
    ok=(200, "the CSV", {"text/csv": {}}),
)
def edition_payments_csv(user, code):
    return register_file(edition_or_404(code), "csv")


@endpoint(
    "GET",
    "/editions/<code>/payments.xlsx",
    summary="The payment register of a call as XLSX: amounts and dates as numbers and "
    "dates, with the totals",
    tag="payments",
    roles=READERS,
    ok=(200, "the XLSX", {XLSX: {}}),
)
def edition_payments_xlsx(user, code):
    return register_file(edition_or_404(code), "xlsx")
