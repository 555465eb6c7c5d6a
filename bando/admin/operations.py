"""What the administrator does: staff accounts (made with an invitation to choose the
password, deactivated, reactivated, sent a link for a new password), the calls loaded from
their TOML files, the audit chain checked. Flush, never commit (a call file commits its
own load): the caller commits."""

from __future__ import annotations

import secrets

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from bando.accounts.models import STAFF_ROLES, Organisation, User
from bando.accounts.operations import (
    UserError,
    account_event,
    create_user,
    deactivate_user,
    mail_password_link,
)
from bando.calls.loading import CallFileError, load_call
from bando.core import audit
from bando.core.extensions import db
from bando.core.models import AuditEvent
from bando.core.operations import OperationError

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
    return db.session.get(User, user_id) if isinstance(user_id, int) else None


def invite_staff(actor: User, email: str, role: str, full_name: str = "") -> User:
    """A staff account whose password nobody knows yet: the person chooses it through the
    link mailed to the address (UserError, with the field, for a bad or taken address)."""
    if role not in STAFF_ROLES:
        raise OperationError(422, NOT_CREATED, {"role": ["ruolo del personale non valido"]})
    try:
        user = create_user(email, secrets.token_urlsafe(32), role, full_name=full_name)
    except UserError as error:
        raise OperationError(422, NOT_CREATED, {error.field: [error.message]}) from None
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
    )


def send_password_link(actor: User, user: User) -> None:
    """A link for a new password, sent on the administrator's word (the person asked by
    phone, say); the current password stays valid until the link is used."""
    if not user.active:
        raise OperationError(409, "l'account è disattivato: riattivarlo prima", code="inactive")
    mail_password_link(
        user,
        "su Sua richiesta l'amministrazione Le invia un collegamento per una nuova password.",
        "Fino ad allora la password attuale resta valida.",
    )
    account_event("send_password_link", user, actor)


def deactivate(actor: User, user: User) -> None:
    if user.id == actor.id:
        raise OperationError(409, "non si può disattivare il proprio account", code="own_account")
    if not user.active:
        raise OperationError(409, "l'account è già disattivato", code="inactive")
    if user.role == "admin" and _active_admins() <= 1:
        raise OperationError(409, "resterebbe nessun amministratore attivo", code="last_admin")
    deactivate_user(user, actor=actor)


def reactivate(actor: User, user: User) -> None:
    """The account opens again with its password (its sessions and tokens stay ended)."""
    if user.active:
        raise OperationError(409, "l'account è già attivo", code="active")
    user.active = True
    account_event("reactivate_user", user, actor)


def _active_admins() -> int:
    # Counted under the rows' lock so that two administrators deactivating each other at
    # once cannot leave none.
    admins = db.session.scalars(
        select(User.id).where(User.role == "admin", User.active.is_(True)).with_for_update()
    ).all()
    return len(admins)


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
