"""Payments: which payment of an award is due now (the advance on acceptance, the balance
after the approved report, the recovery when the advance exceeded the final contribution
or the grant ended, revoked or renounced, after something was paid on it),
the 4 % withholding (DPR 600/1973 art. 28) unless the organisation is exempt, and the
recording of a payment by finance: once, whatever the retries.

A payment is recorded under the edition's row lock (as the allocation does), re-reading
inside the lock what was already paid; the database's own guard (migrations 0004/0005)
counts payments and recoveries against the cap, and one payment of each kind per award
is a unique row. A client's idempotency key makes a retried request return the payment
already recorded instead of a second one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from bando.accounts.models import User
from bando.allocation.operations import write_lock
from bando.applications.models import Application
from bando.budget.models import Award, Payment
from bando.core import audit
from bando.core.extensions import db
from bando.core.operations import OperationError
from bando.core.timeutil import utcnow
from scoring.balance import advance_cents, withholding_cents

KIND_LABELS = {
    "advance": _l("Anticipo"),
    "balance": _l("Saldo"),
    "recovery": _l("Recupero"),
}
# The operations' messages are Italian, as every refusal of the API, whatever the page's
# language: the kind's own word, not the page's label.
KIND_WORDS = {"advance": "anticipo", "balance": "saldo", "recovery": "recupero"}
TRIGGERS = {"advance": "pay_advance", "balance": "pay_balance", "recovery": "record_recovery"}
KEY_LIMIT = 100


@dataclass(frozen=True)
class Due:
    kind: str
    amount_cents: int  # gross: what the award pays (or what comes back, for a recovery)
    withholding_cents: int

    @property
    def net_cents(self) -> int:
        return self.amount_cents - self.withholding_cents


def _paid_kinds(award: Award) -> set[str]:
    # A query, not the relationship: inside the lock it sees what others just committed.
    return set(db.session.scalars(select(Payment.kind).where(Payment.award_id == award.id)))


def due_payments(application: Application) -> list[Due]:
    """What finance should pay (or recover) on this application now."""
    award = application.award
    if award is None:
        return []
    paid = _paid_kinds(award)
    if award.state in ("revoked", "renounced"):
        # A grant revoked, or renounced after its advance, gives back what was paid on it.
        given = award.paid_cents
        return [Due("recovery", given, 0)] if given > 0 and "recovery" not in paid else []
    if award.state != "active":
        return []
    exempt = bool(application.organisation.withholding_exempt)
    report = application.report
    due = []
    if report is not None and report.approved_at is not None:
        if report.balance_cents and "balance" not in paid:
            due.append(
                Due(
                    "balance", report.balance_cents, withholding_cents(report.balance_cents, exempt)
                )
            )
        if report.recovery_cents and "recovery" not in paid:
            due.append(Due("recovery", report.recovery_cents, 0))
        return due
    if (
        award.accepted_at is not None
        and application.state in ("funded", "reported")
        and "advance" not in paid
    ):
        amount = advance_cents(award.amount_cents, application.edition.advance_share_bp)
        if amount > 0:
            due.append(Due("advance", amount, withholding_cents(amount, exempt)))
    return due


def _stored_key(actor: User, key: str) -> str:
    """Keys belong to the user who sent them (as bando.core.idempotency's): two finance
    officers' "1" are two keys. The digest keeps the user's id and a 100-character key
    within the column."""
    return f"{actor.id}:{hashlib.sha256(key.encode()).hexdigest()}"


def by_key(actor: User, key: str) -> Payment | None:
    return db.session.scalar(
        select(Payment)
        .where(Payment.idempotency_key == _stored_key(actor, key))
        .execution_options(populate_existing=True)
    )


def check_key(key: str | None) -> str | None:
    """The client's idempotency key: printable ASCII, at most 100 characters."""
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > KEY_LIMIT or not all(33 <= ord(c) < 127 for c in key):
        message = "chiave di idempotenza non valida: da 1 a 100 caratteri ASCII visibili"
        raise OperationError(422, message, {"Idempotency-Key": [message]})
    return key


def _replay(existing: Payment, application: Application, kind: str, reference: str) -> Payment:
    """The payment a key recorded, when the request is the same again; 422 otherwise (a
    changed reference would be silently dropped)."""
    if (
        existing.award.application_id != application.id
        or existing.kind != kind
        or existing.reference != reference
    ):
        message = "questa chiave di idempotenza è già stata usata per un altro pagamento"
        raise OperationError(
            422, message, {"Idempotency-Key": [message]}, code="idempotency_key_reused"
        )
    return existing


def record_payment(
    application: Application,
    kind: str,
    actor: User,
    *,
    reference: str = "",
    key: str | None = None,
    now: datetime | None = None,
) -> tuple[Payment, bool]:
    """Records the payment of `kind` due now; (payment, True) when written, or the payment
    a previous request with the same key recorded and False. Flushes, does not commit."""
    now = now or utcnow()
    key = check_key(key)
    if kind not in KIND_LABELS:
        raise OperationError(422, "tipo di pagamento non valido", {"kind": ["tipo non valido"]})
    if key and (existing := by_key(actor, key)) is not None:
        return _replay(existing, application, kind, reference), False
    write_lock(application.edition)
    # Inside the lock: a twin request may have committed while this one waited.
    if key and (existing := by_key(actor, key)) is not None:
        return _replay(existing, application, kind, reference), False
    db.session.refresh(application)
    if application.award is not None:
        db.session.refresh(application.award)
    due = next((d for d in due_payments(application) if d.kind == kind), None)
    if due is None:
        label = KIND_WORDS[kind]
        raise OperationError(
            409,
            f"nessun {label} da registrare ora per questa domanda",
            {"kind": [f"{label}: non dovuto ora o già registrato"]},
            code="payment_not_due",
        )
    payment = Payment(
        award_id=application.award.id,
        kind=kind,
        amount_cents=due.amount_cents,
        withholding_cents=due.withholding_cents,
        paid_at=now,
        reference=reference,
        recorded_by_id=actor.id,
        idempotency_key=_stored_key(actor, key) if key else None,
    )
    db.session.add(payment)
    db.session.flush()
    audit.append(
        subject="payment",
        trigger=TRIGGERS[kind],
        actor=actor,
        application_id=application.id,
        edition_id=application.edition_id,
        reason=reference,
        payload={
            "payment_id": payment.id,
            "kind": kind,
            "amount_cents": due.amount_cents,
            "withholding_cents": due.withholding_cents,
        },
        at=now,
    )
    return payment, True


def pay_once(
    application_id: int,
    kind: str,
    actor: User,
    *,
    reference: str = "",
    key: str | None = None,
    now: datetime | None = None,
) -> tuple[Payment, bool]:
    """record_payment, committed: when a twin request with the same key won the race (a
    unique row at the commit), its payment is returned instead of an error. It commits,
    since only the commit's outcome tells a retry from a new payment."""
    application = db.session.get(Application, application_id)
    try:
        result = record_payment(application, kind, actor, reference=reference, key=key, now=now)
        db.session.commit()
        return result
    except IntegrityError:
        db.session.rollback()
        key = check_key(key)
        if key and (existing := by_key(actor, key)) is not None:
            application = db.session.get(Application, application_id)
            return _replay(existing, application, kind, reference), False
        raise OperationError(
            409,
            "il pagamento è già stato registrato da un'altra operazione: ricaricare la pagina",
            code="concurrent_update",
        ) from None


def payment_view(payment: Payment, key: str | None = None) -> dict:
    """The payment as the API shows it; `key`: the Idempotency-Key of the request that
    recorded (or replayed) it, given back to that request only (the stored form is the
    user's and the key's digest)."""
    award = payment.award
    application = award.application
    return {
        "id": payment.id,
        "application_id": application.id,
        "protocol": application.protocol,
        "organisation": application.organisation.name,
        "tax_code": application.organisation.tax_code,
        "kind": payment.kind,
        "amount": payment.amount_cents,
        "withholding": payment.withholding_cents,
        "net": payment.amount_cents - payment.withholding_cents,
        "paid_at": payment.paid_at,
        "reference": payment.reference,
        "idempotency_key": key,
    }


def register_totals(payments: list[Payment]) -> dict[str, int]:
    """What a register adds up to: paid net of recoveries, withheld, and what reached the
    beneficiaries (cents)."""
    return {
        "paid": sum(p.signed_cents for p in payments),
        "withholding": sum(p.withholding_cents for p in payments),
        "net": sum(p.net_cents for p in payments),
    }


def register(edition) -> list[Payment]:
    """The payment register of a call, in the order recorded."""
    return list(
        db.session.scalars(
            select(Payment)
            .join(Award, Award.id == Payment.award_id)
            .where(Award.edition_id == edition.id)
            .options(
                selectinload(Payment.award)
                .selectinload(Award.application)
                .selectinload(Application.organisation)
            )
            .order_by(Payment.paid_at, Payment.id)
        )
    )


def funded_of(edition) -> list[Application]:
    """The applications of a call with an award, in protocol order."""
    return list(
        db.session.scalars(
            select(Application)
            .join(Award, Award.application_id == Application.id)
            .where(Award.edition_id == edition.id)
            .options(
                selectinload(Application.award).selectinload(Award.payments),
                selectinload(Application.organisation),
                selectinload(Application.report),
            )
            .order_by(Application.protocol_number)
        )
    )
