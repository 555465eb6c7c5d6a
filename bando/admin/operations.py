"""What the administrator does: staff accounts (made with an invitation to choose the
password, deactivated, reactivated, sent a link for a new password), the calls loaded from
their TOML files, the audit chain checked. Flush, never commit (a call file commits its
own load): the caller commits."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload

from bando.accounts.models import STAFF_ROLES, Organisation, User
from bando.accounts.operations import (
    UserError,
    account_event,
    check_new_user,
    create_user,
    deactivate_user,
    is_invited,
    mail_password_link,
    normalise_email,
    password_links_allowed,
    reactivate_user,
    send_mail,
)
from bando.applications.models import Application
from bando.calls.loading import CallFileError, load_call
from bando.calls.models import Edition
from bando.core import audit
from bando.core.extensions import db
from bando.core.models import AuditEvent
from bando.core.operations import OperationError
from bando.core.timeutil import rome_midnight
from bando.core.types import row_id
from workflows.machine import gettext_noop

STATUSES = ("active", "inactive")
NOT_CREATED = "account not created"


def matching(*, role=None, status=None, text=None) -> list:
    """The conditions of a list of accounts: of a role, active or not, with `text` in the
    e-mail, the name or the organisation's name."""
    where = []
    if role:
        where.append(User.role == role)
    if status:
        where.append(User.active.is_(status == "active"))
    if text:
        pattern = "%" + _escaped(text.lower()) + "%"
        where.append(
            or_(
                func.lower(User.email).like(pattern, escape="\\"),
                func.lower(User.full_name).like(pattern, escape="\\"),
                User.organisation_id.in_(
                    select(Organisation.id).where(
                        func.lower(Organisation.name).like(pattern, escape="\\")
                    )
                ),
            )
        )
    return where


def count_users(where: list) -> int:
    return db.session.scalar(select(func.count(User.id)).where(*where))


def users(where: list, *, limit: int, offset: int) -> list[User]:
    """One page of the accounts, by e-mail, with their organisations."""
    return list(
        db.session.scalars(
            select(User)
            .where(*where)
            .options(joinedload(User.organisation))
            .order_by(User.email)
            .limit(limit)
            .offset(offset)
        )
    )


def _escaped(text: str) -> str:
    """`text` for a LIKE pattern with the escape character \\: its % and _ taken as they are."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def user_or_none(user_id) -> User | None:
    return db.session.get(User, user_id) if row_id(user_id) else None


def invite_staff(actor: User, email: str, role: str, full_name: str = "") -> User:
    """A staff account whose password nobody knows yet: the person chooses it through the
    invitation mailed to the address, which also confirms it. Every problem at once, by
    field (422)."""
    errors: dict[str, list[str]] = {}
    password = secrets.token_urlsafe(32)
    try:
        if role not in STAFF_ROLES:
            errors["role"] = [gettext_noop("scegliere un ruolo del personale")]
            check_new_user(normalise_email(email), password, "officer")  # the address too
        else:
            user = create_user(email, password, role, full_name=full_name, confirmed=False)
    except UserError as error:
        errors[error.field] = [error.message]
    if errors:
        raise OperationError(422, NOT_CREATED, errors)
    db.session.flush()
    account_event("create_user", user, actor)
    send_invitation(user)
    return user


def send_invitation(user: User) -> None:
    mail_password_link(
        user,
        "l'amministrazione ha creato per Lei un account su bando.",
        "Se il collegamento è scaduto, ne chieda uno nuovo con «Password dimenticata?» "
        "nella pagina di accesso.",
        subject="Account bando: scegliere la password",
        kind="invitation",
    )


def send_password_link(actor: User, user: User) -> None:
    """A link for a new password, sent by the administrator (the person asked by phone,
    say); the current password stays valid until the link is used. As many an hour as a
    person may ask for themselves."""
    if not user.active:
        raise OperationError(409, "l'account è disattivato: riattivarlo prima", code="inactive")
    if not password_links_allowed(user):
        raise OperationError(
            409,
            "all'account sono già stati inviati diversi collegamenti nell'ultima ora: "
            "riprovare più tardi",
            code="too_many_links",
        )
    if is_invited(user):
        send_invitation(user)  # again: the person has no password of their own yet
    else:
        mail_password_link(
            user,
            "l'amministrazione Le invia un collegamento per scegliere una nuova password.",
            "Fino ad allora la password attuale resta valida; se non ha chiesto nulla, "
            "ignori questo messaggio.",
        )
    account_event("send_password_link", user, actor)


def deactivate(actor: User, user: User) -> None:
    if user.id == actor.id:
        raise OperationError(409, "non si può disattivare il proprio account", code="own_account")
    deactivate_user(user, actor=actor)
    _tell(user, "disattivato", "Non è più possibile accedere con questo account.")


def reactivate(actor: User, user: User) -> None:
    """The account opens again with its password (its sessions and tokens stay ended)."""
    reactivate_user(user, actor=actor)
    _tell(user, "riattivato", "Si può di nuovo accedere con la propria password.")


def _tell(user: User, what: str, then: str) -> None:
    """The person learns from their mailbox that the administration changed the account."""
    if user.email_confirmed:
        send_mail(
            user.email,
            f"Account bando {what}",
            f"Gentile {user.full_name or user.email},\n\n"
            f"l'amministrazione ha {what} il Suo account bando. {then}\n"
            "Per chiarimenti si rivolga all'ufficio che gestisce il bando.\n",
        )


def account_history(user: User, limit: int = 50) -> list[AuditEvent]:
    """The account's events (made, passwords, deactivations), newest first."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.subject == "user", AuditEvent.payload["user"].as_string() == user.email
            )
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        )
    )


def audit_matching(*, subject=None, edition_id=None, text=None, since=None, until=None) -> list:
    """The conditions of a list of the trail's events: about `subject`, of one call, with
    `text` in who acted or in the account an account's event is about, from the day `since`
    to the day `until` (both included, days in Europe/Rome)."""
    where = []
    if subject:
        where.append(AuditEvent.subject == subject)
    if edition_id is not None:
        where.append(AuditEvent.edition_id == edition_id)
    if text:
        pattern = "%" + _escaped(text.lower()) + "%"
        where.append(
            or_(
                func.lower(AuditEvent.actor_label).like(pattern, escape="\\"),
                and_(
                    AuditEvent.subject == "user",
                    func.lower(AuditEvent.payload["user"].as_string()).like(pattern, escape="\\"),
                ),
            )
        )
    if since is not None:
        where.append(AuditEvent.at >= rome_midnight(since))
    if until is not None:
        where.append(AuditEvent.at < rome_midnight(until + timedelta(days=1)))
    return where


def count_audit_events(where: list) -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)).where(*where))


def audit_events(where: list, *, limit: int, offset: int) -> list[tuple[AuditEvent, str, str]]:
    """One page of the trail's events, newest first, each with its call's code and its
    application's protocol (or None)."""
    return list(
        db.session.execute(
            select(AuditEvent, Edition.code, Application.protocol)
            .outerjoin(Edition, Edition.id == AuditEvent.edition_id)
            .outerjoin(Application, Application.id == AuditEvent.application_id)
            .options(joinedload(AuditEvent.actor))
            .where(*where)
            .order_by(AuditEvent.id.desc())
            .limit(limit)
            .offset(offset)
        ).all()
    )


def chain_check() -> audit.Verification:
    return audit.verify_chain()


def load_call_file(actor: User, source: bytes | str, name: str):
    """Loads a call from its TOML file (as `bando calls load` does, and committed by it);
    OperationError 422 with every problem by key when the file cannot be loaded, nothing
    written."""
    try:
        return load_call(source, name, actor=actor)
    except CallFileError as error:
        problems: dict[str, list[str]] = {}
        for path, message in error.problems:
            problems.setdefault(path or "toml", []).append(message)
        raise OperationError(422, "file del bando non valido", problems) from None
