"""Operations on accounts: staff users, the registration of an organisation with its first
user and the confirmation of its address, sign-in (throttled), passwords, deactivation and
API tokens. Flush, never commit: the caller commits."""

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pydantic import ValidationError
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from bando.accounts.models import ROLES, STAFF_ROLES, ApiToken, Organisation, User
from bando.accounts.passwords import hash_password, password_problem, verify_password
from bando.accounts.schemas import AccountRequest
from bando.accounts.sessions import end_sessions_of
from bando.core import audit
from bando.core.extensions import db, limiter
from bando.core.links import site_url
from bando.core.mail import queue_mail
from bando.core.operations import OperationError
from bando.core.ratelimit import Backoff
from bando.core.schemas import field_errors, one_line
from bando.core.tick import tick_job
from bando.core.timeutil import utcnow
from bando.core.types import row_id
from workflows.machine import gettext_noop
from workflows.organisation import EMAIL_RE, clean_organisation, organisation_problems

REGISTRATION_REFUSED = "registrazione non riuscita"
DUPLICATE_TAX_CODE = gettext_noop(
    "un ente con questo codice fiscale è già registrato: chiedere l'accesso a chi lo ha registrato"
)
# Said to an administrator creating a staff user only: a registration never tells.
DUPLICATE_EMAIL = gettext_noop("esiste già un utente con questo indirizzo email")
BAD_EMAIL = gettext_noop("indirizzo email non valido")
MISSING_EMAIL = gettext_noop("manca l'indirizzo email")
PASSWORDS_DIFFER = gettext_noop("le due password non coincidono")
SAME_PASSWORD = gettext_noop("la nuova password deve essere diversa da quella attuale")
WRONG_CURRENT = gettext_noop("password attuale non corretta")
EMAIL_LENGTH, NAME_LENGTH = 254, 200  # the columns' (bando/accounts/models.py)

# Sign-in: five failures free, then one attempt at a time, 30 s, 1, 2, 4, 8 min, then
# 15 min between attempts; LOGIN_BACKOFF in the settings changes any of these.
LOGIN_BACKOFF = {"free": 5, "first_delay": 30, "max_delay": 15 * 60, "memory": 24 * 3600}

CONFIRM_SALT = "bando.email-confirmation"
CONFIRM_PATH = "/conferma/"
CONFIRM_HOURS = 72
RESET_SALT = "bando.password-reset"
RESET_PATH = "/password/nuova/"
RESET_MINUTES = 60
INVITATION_SALT = "bando.invitation"
INVITATION_HOURS = 72
# Mails a stranger can make bando send to an address: at most these per hour.
MAILS_PER_HOUR = 3


class UserError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def normalise_email(email) -> str:
    return (email or "").strip().lower() if isinstance(email, str) else ""


def _line(field: str, value: str, max_length: int) -> str:
    """A one-line value as the API's schemas take it (Line): what the command line and the
    pages pass here is checked once more."""
    if len(value) > max_length:
        raise UserError(field, f"al massimo {max_length} caratteri")
    try:
        return one_line(value)
    except ValueError as error:
        raise UserError(field, str(error)) from None


def address_and_password_problems(email: str, password: str) -> dict[str, list[str]]:
    """What is wrong with a new account's address and with its password, both at once."""
    problems = {}
    try:
        _line("email", email, EMAIL_LENGTH)
        if not email.strip():
            raise UserError("email", MISSING_EMAIL)
        if not EMAIL_RE.fullmatch(email):
            raise UserError("email", BAD_EMAIL)
    except UserError as error:
        problems["email"] = [error.message]
    if problem := password_problem(password, email):
        problems["password"] = [problem]
    return problems


def check_new_user(email: str, password: str, role: str, *, unique: bool = True) -> None:
    problems = address_and_password_problems(email, password)
    if "email" in problems:
        raise UserError("email", problems["email"][0])
    if role not in ROLES:
        raise UserError("role", f"ruolo sconosciuto: {role} (ammessi: {', '.join(ROLES)})")
    if "password" in problems:
        raise UserError("password", problems["password"][0])
    if unique and user_by_email(email) is not None:
        raise UserError("email", DUPLICATE_EMAIL)


def user_by_email(email) -> User | None:
    """The account of an address, as anyone may type it: no query at all for what cannot
    be one (too long, control characters, not the shape of an address)."""
    address = normalise_email(email)
    if len(address) > EMAIL_LENGTH or not address.isprintable() or not EMAIL_RE.fullmatch(address):
        return None
    return db.session.scalar(select(User).where(func.lower(User.email) == address))


def create_user(
    email, password, role, *, organisation=None, full_name="", confirmed: bool | None = None
) -> User:
    """Adds (does not commit) a user; raises UserError with the field and an Italian message.
    Staff are confirmed when made (an administrator vouches for the address); an applicant
    confirms by the link of the registration e-mail."""
    email = normalise_email(email)
    check_new_user(email, password, role)
    if role == "applicant" and organisation is None:
        raise UserError("organisation", "un richiedente appartiene a un ente")
    if confirmed is None:
        confirmed = role != "applicant"
    user = User(
        email=email,
        password_hash=hash_password(password),
        role=role,
        organisation=organisation,
        full_name=_line("full_name", full_name or "", NAME_LENGTH),
        email_confirmed_at=utcnow() if confirmed else None,
    )
    db.session.add(user)
    return user


def send_mail(to: str, subject: str, body: str) -> None:
    """Queues (does not commit) one e-mail."""
    queue_mail([{"to_address": to, "subject": subject, "body": body}])


def _mail_allowed(kind: str, user: User) -> bool:
    """Whether another mail of `kind` may go to `user` this hour (the count is shared by
    every process): registrations and requests for a link must not flood a mailbox."""
    return limiter.storage.incr(f"mail/{kind}/{user.id}", 3600) <= MAILS_PER_HOUR


# --- registration and confirmation -----------------------------------------------------------


def _raw_organisation(errors: dict, account) -> dict:
    """The organisation's fields the schema could read, for its rules to judge the rest."""
    organisation = account.get("organisation") if isinstance(account, dict) else None
    if not isinstance(organisation, dict):
        return {}
    return {
        key: value
        for key, value in organisation.items()
        if isinstance(value, str | bool | None) and f"organisation.{key}" not in errors
    }


def registration_problems(account: dict) -> tuple[AccountRequest | None, dict | None, dict]:
    """A registration checked, nothing written: (the payload read, the organisation's
    columns, every problem by field — the tax code already registered among them)."""
    account_data = account
    errors: dict[str, list[str]] = {}
    try:
        account = AccountRequest.model_validate(account)
    except ValidationError as error:
        errors = field_errors(error)
        account = None
    raw = account.organisation.model_dump() if account else _raw_organisation(errors, account_data)
    # The organisation's rules say what is missing or wrong in their own words.
    for key, messages in organisation_problems(raw).items():
        field = f"organisation.{key}"
        if field not in errors or "campo obbligatorio mancante" in errors[field]:
            errors[field] = messages
    fields = None if errors else clean_organisation(raw)
    if fields and db.session.scalar(
        select(Organisation.id).where(Organisation.tax_code == fields["tax_code"])
    ):
        errors["organisation.tax_code"] = [DUPLICATE_TAX_CODE]
    # The address and the password are judged even when the rest could not be read: every
    # problem at once.
    email, password = (
        (account.email, account.password)
        if account is not None
        else (account_data.get("email"), account_data.get("password"))
    )
    if isinstance(email, str) and isinstance(password, str):
        for field, messages in address_and_password_problems(
            normalise_email(email), password
        ).items():
            errors.setdefault(field, messages)
    return account, fields, errors


def register_organisation(account: dict, *, now: datetime | None = None) -> User | None:
    """Adds (does not commit) an organisation and its first applicant user, unconfirmed,
    with the e-mail that confirms the address; from the API's payload (the registration
    page sends the same shape).

    Refuses with every problem found, by field (`organisation.tax_code`…): 409 when the
    tax code is already registered (public: the organisations are listed), 422 otherwise.
    An address that already has an account is never told apart from a new one: nothing is
    created, the answer is the same, and the holder of the address gets an e-mail (None
    is returned then)."""
    now = now or utcnow()
    account, fields, errors = registration_problems(account)
    if errors:
        only_duplicates = all(
            m == DUPLICATE_TAX_CODE for messages in errors.values() for m in messages
        )
        raise OperationError(
            409 if only_duplicates else 422,
            REGISTRATION_REFUSED,
            errors,
            code="organisation_registered" if only_duplicates else None,
        )
    existing = user_by_email(account.email)
    if existing is not None:
        hash_password(account.password)  # the same work as a new account: no timing tell
        tell_registration_attempt(existing, now=now)
        return None
    organisation = Organisation(**fields)
    db.session.add(organisation)
    try:
        # Flushed now: a registration of the same tax code racing this one fails here, on
        # the unique constraint, with the same message as the check above.
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise OperationError(
            409,
            REGISTRATION_REFUSED,
            {"organisation.tax_code": [DUPLICATE_TAX_CODE]},
            code="organisation_registered",
        ) from None
    try:
        user = create_user(
            account.email,
            account.password,
            "applicant",
            organisation=organisation,
            full_name=account.full_name,
        )
        db.session.flush()
    except (IntegrityError, UserError):
        # The same address registered a moment ago by another request: as above.
        db.session.rollback()
        existing = user_by_email(account.email)
        if existing is None:
            raise OperationError(409, REGISTRATION_REFUSED, code="concurrent_update") from None
        tell_registration_attempt(existing, now=now)
        return None
    send_confirmation(user, now=now, check_quota=False)
    account_event("register_organisation", user, actor=user)
    db.session.flush()
    return user


def confirmation_token(user: User) -> str:
    serializer = URLSafeTimedSerializer(current_app.secret_key, salt=CONFIRM_SALT)
    # The credentials version: a deactivation (or a new password) ends the link for good.
    return serializer.dumps(
        {"user": user.id, "email": user.email, "version": user.credentials_version}
    )


def confirmation_link(user: User) -> str:
    return site_url(CONFIRM_PATH + confirmation_token(user))


def send_confirmation(user: User, *, now=None, check_quota: bool = True) -> bool:
    """Queues (does not commit) the e-mail with the confirmation link, unless the address
    is confirmed already or got enough of them this hour; whether it was queued."""
    if user.email_confirmed or not user.active:
        return False
    if check_quota and not _mail_allowed("confirmation", user):
        return False
    hours = int(current_app.config.get("CONFIRM_LINK_HOURS", CONFIRM_HOURS))
    organisation = user.organisation.name if user.organisation else "bando"
    send_mail(
        user.email,
        f"Conferma dell'indirizzo email — {organisation}",
        f"Gentile {user.full_name or user.email},\n\n"
        f"per completare la registrazione dell'ente «{organisation}» confermi questo "
        f"indirizzo aprendo il collegamento qui sotto (vale {hours} ore):\n\n"
        f"{confirmation_link(user)}\n\n"
        "Fino alla conferma le domande si possono preparare, non presentare.\n"
        "Se la registrazione non è stata chiesta da Lei, ignori questo messaggio.\n",
    )
    return True


def tell_registration_attempt(user: User, *, now=None) -> None:
    """Someone registered with the address of an existing account: its holder is told (an
    unconfirmed holder gets a new confirmation link instead, the one mail such an address
    may receive)."""
    if not user.active:
        return
    if not user.email_confirmed:
        send_confirmation(user, now=now)
        return
    if not _mail_allowed("registration-attempt", user):
        return
    send_mail(
        user.email,
        "Tentativo di registrazione con questo indirizzo email",
        f"Gentile {user.full_name or user.email},\n\n"
        "qualcuno ha chiesto di registrare un ente su bando usando questo indirizzo email, "
        "che ha già un account: la richiesta non ha avuto effetto.\n\n"
        f"Se la richiesta è Sua, acceda con la Sua password: {site_url('/accedi')}\n"
        "Altrimenti non serve fare nulla: l'account non è cambiato.\n",
    )


class ConfirmationError(OperationError):
    pass


def _link_data(token: str, salt: str, seconds: int, what: str) -> dict:
    """The data signed in a mailed link; ConfirmationError (400) when the link is forged or
    older than `seconds`. `what` names the link in the message ("di conferma")."""
    serializer = URLSafeTimedSerializer(current_app.secret_key, salt=salt)
    try:
        data = serializer.loads(token, max_age=seconds)
    except SignatureExpired:
        raise ConfirmationError(
            400, f"il link {what} è scaduto: chiederne uno nuovo", code="link_expired"
        ) from None
    except BadSignature:
        data = None
    if not isinstance(data, dict):
        raise ConfirmationError(400, f"link {what} non valido", code="link_invalid")
    return data


def user_for_confirmation(token: str) -> User:
    """The user a confirmation link is for; ConfirmationError (400) when the link is not
    valid, has expired, or was made for an address the account no longer has."""
    hours = int(current_app.config.get("CONFIRM_LINK_HOURS", CONFIRM_HOURS))
    data = _link_data(token, CONFIRM_SALT, hours * 3600, "di conferma")
    user = db.session.get(User, data["user"]) if row_id(data.get("user")) else None
    if (
        user is None
        or user.email != data.get("email")
        or not user.active
        # Links made before the version was signed in them count as version 0.
        or data.get("version", 0) != user.credentials_version
    ):
        raise ConfirmationError(400, "link di conferma non valido", code="link_invalid")
    return user


def confirm_email(token: str, *, now: datetime | None = None) -> User:
    """Marks (does not commit) the address of the link's user as confirmed."""
    user = user_for_confirmation(token)
    version = user.credentials_version
    # Written only to the account as the link was checked (still active, the same version:
    # a deactivation at the same moment wins) and only once (the same link twice at once:
    # one event).
    confirmed = db.session.execute(
        update(User)
        .where(
            User.id == user.id,
            User.email_confirmed_at.is_(None),
            User.active.is_(True),
            User.credentials_version == version,
        )
        .values(email_confirmed_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(user)
    if confirmed.rowcount == 1:
        account_event("confirm_email", user, actor=user)
    elif not (user.active and user.credentials_version == version and user.email_confirmed_at):
        raise ConfirmationError(400, "link di conferma non valido", code="link_invalid")
    return user


def request_confirmation(email: str, *, now=None) -> None:
    """A new confirmation link for `email`, when it is an unconfirmed account's; the
    caller answers the same whatever the address."""
    user = user_by_email(email)
    if user is not None:
        send_confirmation(user, now=now)


# --- signing in, passwords ------------------------------------------------------------------


def _dummy_hash() -> str:
    """A hash with the current parameters, to verify against for unknown users."""
    parameters = repr(current_app.config.get("ARGON2"))
    cache = current_app.extensions.setdefault("bando.dummy_hash", {})
    if parameters not in cache:
        cache[parameters] = hash_password(secrets.token_urlsafe(16))
    return cache[parameters]


def authenticate(email, password) -> User | None:
    """The user of the e-mail and password, else None. Unknown and inactive users are
    checked against a dummy hash: every answer costs one argon2 verification."""
    user = user_by_email(email) if isinstance(email, str) else None
    password = password if isinstance(password, str) else ""
    if user is None or not user.active:
        verify_password(_dummy_hash(), password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    return user


def login_backoff() -> Backoff:
    return Backoff("login", **{**LOGIN_BACKOFF, **(current_app.config.get("LOGIN_BACKOFF") or {})})


def attempt_sign_in(email, password) -> User | None:
    """authenticate(), throttled per address typed (known or not, the same): raises
    bando.core.ratelimit.Throttled while that account must wait."""
    subject = normalise_email(email)
    backoff = login_backoff()
    backoff.acquire(subject)
    user = authenticate(subject, password)
    if user is None:
        backoff.failed(subject)
        return None
    backoff.succeeded(subject)
    return user


def _end_access(user: User, now, reason: str, keep_session: str | None = None) -> None:
    """Ends the user's sessions (but `keep_session`) and tokens, and raises the credentials
    version: a sign-in that checked the old password a moment ago and writes its session or
    token after this is not accepted either."""
    user.credentials_version = User.credentials_version + 1  # atomic, in the database
    db.session.flush()
    end_sessions_of(user, now=now, reason=reason, keep=keep_session)
    db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))


def change_password(
    user: User, current: str, new: str, confirm: str, *, keep_session=None, now=None
) -> None:
    """Sets (does not commit) a new password after checking the current one (throttled as
    a sign-in); every other session and every API token of the user ends."""
    now = now or utcnow()
    backoff = login_backoff()
    backoff.acquire(user.email)
    if not verify_password(user.password_hash, current if isinstance(current, str) else ""):
        backoff.failed(user.email)
        raise OperationError(422, "password not changed", {"current_password": [WRONG_CURRENT]})
    backoff.succeeded(user.email)
    errors = {}
    if problem := password_problem(new, user.email):
        errors["password"] = [problem]
    elif new == current:
        errors["password"] = [SAME_PASSWORD]
    elif new != confirm:
        errors["password_confirm"] = [PASSWORDS_DIFFER]
    if errors:
        raise OperationError(422, "password not changed", errors)
    set_password(user, new, actor=user, now=now, keep_session=keep_session)


def account_event(trigger: str, user: User, actor: User | None = None) -> None:
    """An account's change in the audit chain (who, whose account, its role; never a
    password): registered or made, its address confirmed, given a new password,
    deactivated. `actor` None: the console."""
    audit.append(
        subject="user",
        trigger=trigger,
        actor=actor,
        payload={"user": user.email, "role": user.role},
    )


def set_password(
    user: User, new: str, *, actor=None, now=None, keep_session=None, trigger="set_password"
) -> None:
    """Sets (does not commit) the password, ending the user's other sessions and tokens."""
    user.password_hash = hash_password(new)
    _password_changed(user, actor, now or utcnow(), keep_session, trigger)


def _password_changed(user: User, actor, now, keep_session, trigger: str) -> None:
    _end_access(user, now, "password", keep_session)
    account_event(trigger, user, actor)
    if user.email_confirmed:
        send_mail(
            user.email,
            "La password dell'account bando è cambiata",
            f"Gentile {user.full_name or user.email},\n\n"
            "la password dell'account è stata cambiata e gli altri accessi aperti sono "
            "stati chiusi. Se il cambio non è stato fatto da Lei, avvisi subito l'ufficio "
            "che gestisce il bando.\n",
        )


# --- a forgotten password, an invitation --------------------------------------------------------


def _password_stamp(user: User) -> str:
    """A digest of the stored password hash and the account's credentials version: a link
    carries it, so that the link is spent once the password changes (by this link or any
    other way) or the account is deactivated."""
    material = f"{user.credentials_version}:{user.password_hash}"
    return hashlib.sha256(material.encode()).hexdigest()[:20]


def reset_minutes() -> int:
    return int(current_app.config.get("RESET_LINK_MINUTES", RESET_MINUTES))


def invitation_hours() -> int:
    return int(current_app.config.get("INVITATION_LINK_HOURS", INVITATION_HOURS))


def _link_kinds() -> dict[str, tuple[str, int]]:
    """The links that lead to the page of a new password: (salt, seconds valid)."""
    return {
        "reset": (RESET_SALT, reset_minutes() * 60),
        "invitation": (INVITATION_SALT, invitation_hours() * 3600),
    }


def password_link(user: User, kind: str = "reset") -> str:
    salt, _seconds = _link_kinds()[kind]
    token = URLSafeTimedSerializer(current_app.secret_key, salt=salt).dumps(
        {"user": user.id, "stamp": _password_stamp(user)}
    )
    return site_url(RESET_PATH + token)


def request_password_reset(email, *, now=None) -> None:
    """Queues (does not commit) a link to choose a new password, when `email` is an active
    account's and it has not had too many this hour; the caller answers the same whatever
    the address."""
    address = normalise_email(email)
    user = user_by_email(address)
    if user is None and not EMAIL_RE.fullmatch(address[:EMAIL_LENGTH]):
        return
    # Counted by the address typed, known or not: the same work for both.
    digest = hashlib.sha256(address.encode()).hexdigest()[:24]
    allowed = limiter.storage.incr(f"mail/password-reset/{digest}", 3600) <= MAILS_PER_HOUR
    if user is None or not user.active or not allowed:
        return
    mail_password_link(
        user,
        "è stata chiesta una nuova password per l'account bando legato a questo indirizzo.",
        "Se la richiesta non è stata fatta da Lei, ignori questo messaggio: la password "
        "attuale resta valida.",
    )


def password_links_allowed(user: User) -> bool:
    """Whether the administration may mail `user` another link this hour."""
    return _mail_allowed("password-link", user)


def is_invited(user: User) -> bool:
    """A staff account whose person has not yet chosen a password (the invitation's link,
    once used, confirms the address; a staff account made from the console is confirmed)."""
    return user.role in STAFF_ROLES and user.email_confirmed_at is None


def mail_password_link(
    user: User,
    opening: str,
    closing: str,
    subject="Nuova password per l'account bando",
    kind: str = "reset",
) -> None:
    """Queues (does not commit) the link to choose a password, between a sentence that says
    why it comes and one that says what if it is not wanted or has expired."""
    valid = f"{invitation_hours()} ore" if kind == "invitation" else f"{reset_minutes()} minuti"
    send_mail(
        user.email,
        subject,
        f"Gentile {user.full_name or user.email},\n\n{opening} Per scegliere la password "
        f"apra il collegamento qui sotto (vale {valid} e una sola volta):\n\n"
        f"{password_link(user, kind)}\n\n{closing}\n",
    )


def user_for_reset(token) -> User:
    """The user a password link (a reset or an invitation) is for; ConfirmationError (400)
    when the link is forged, expired, already used (the password changed since) or the
    account is deactivated."""
    for salt, seconds in _link_kinds().values():
        try:
            data = _link_data(token, salt, seconds, "per la password")
        except ConfirmationError as error:
            if error.code == "link_expired":
                raise
            continue
        user = db.session.get(User, data["user"]) if row_id(data.get("user")) else None
        if user is not None and user.active and data.get("stamp") == _password_stamp(user):
            return user
        break
    raise ConfirmationError(
        400,
        "link per la password non valido o già usato: chiederne uno nuovo",
        code="link_invalid",
    )


def reset_password(token, new, confirm, *, now=None) -> User:
    """Sets (does not commit) the password chosen through a reset link or an invitation:
    the link is spent, every session and API token of the user ends, the sign-in wait is
    lifted, and the address counts as confirmed (the link reached it)."""
    now = now or utcnow()
    user = user_for_reset(token)
    errors = {}
    if problem := password_problem(new, user.email):
        errors["password"] = [problem]
    elif new != confirm:
        errors["password_confirm"] = [PASSWORDS_DIFFER]
    elif verify_password(user.password_hash, new):
        errors["password"] = [SAME_PASSWORD]
    if errors:
        raise OperationError(422, "password not changed", errors)
    # The wait lives in a store of its own (Redis, or the database through another
    # connection, which SQLite would keep waiting behind this transaction's write).
    login_backoff().succeeded(user.email)
    # Spent by this very write: a second request with the same link (another tab, a double
    # click, at the same moment) changes no row and is refused, on SQLite and PostgreSQL.
    spent = db.session.execute(
        update(User)
        .where(
            User.id == user.id,
            User.password_hash == user.password_hash,
            User.credentials_version == user.credentials_version,
            User.active.is_(True),
        )
        .values(password_hash=hash_password(new))
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:
        raise ConfirmationError(
            400, "link per la password già usato: chiederne uno nuovo", code="link_invalid"
        )
    db.session.refresh(user)
    if user.email_confirmed_at is None:
        user.email_confirmed_at = now
    _password_changed(user, user, now, None, "reset_password")
    return user


def _set_active(user: User, active: bool) -> bool:
    """Activates or deactivates (does not commit) the account unless it already is: whether
    this request changed it (of two at once, one does; the other sees it done)."""
    changed = db.session.execute(
        update(User)
        .where(User.id == user.id, User.active.is_(not active))
        .values(active=active)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(user)
    return changed.rowcount == 1


def deactivate_user(user: User, *, actor=None, now=None) -> None:
    """The user can no longer sign in; their sessions and API tokens end (not committed).
    Never an account already inactive (OperationError 409 `already_inactive`), nor the last
    active administrator (409 `last_admin`)."""
    if user.role == "admin":
        # The administrators' rows locked first (PostgreSQL), then counted after the write
        # (SQLite, whose writers queue): two administrators deactivating each other at once
        # cannot leave none.
        db.session.scalars(
            select(User.id).where(User.role == "admin", User.active.is_(True)).with_for_update()
        ).all()
    if not _set_active(user, False):
        raise OperationError(409, "l'account è già disattivato", code="already_inactive")
    if user.role == "admin" and not db.session.scalar(
        select(func.count(User.id)).where(User.role == "admin", User.active.is_(True))
    ):
        raise OperationError(409, "non resterebbe alcun amministratore attivo", code="last_admin")
    _end_access(user, now or utcnow(), "deactivated")
    account_event("deactivate_user", user, actor)


def reactivate_user(user: User, *, actor=None) -> None:
    """The account opens again with its password (its sessions and tokens stay ended; not
    committed); 409 `active` when it already is."""
    if not _set_active(user, True):
        raise OperationError(409, "l'account è già attivo", code="active")
    account_event("reactivate_user", user, actor)


# --- API tokens -------------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, hours: int) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(
        ApiToken(
            user=user,
            token_sha256=_digest(token),
            expires_at=utcnow() + timedelta(hours=hours),
            # As read with the password that was checked, before: see the column.
            credentials_version=user.credentials_version,
        )
    )
    return token


# Built once: every API request asks it.
TOKEN_USER = (
    select(User)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(
        ApiToken.token_sha256 == bindparam("sha256"),
        ApiToken.expires_at > bindparam("now", type_=ApiToken.expires_at.type),
        ApiToken.credentials_version == User.credentials_version,
        User.active.is_(True),
    )
)


def user_for_token(token: str) -> User | None:
    """The active user of an unexpired token, in one query."""
    return db.session.scalar(TOKEN_USER, {"sha256": _digest(token), "now": utcnow()})


def revoke_token(token: str) -> bool:
    """Deletes (does not commit) the token; whether there was one."""
    return bool(
        db.session.execute(delete(ApiToken).where(ApiToken.token_sha256 == _digest(token))).rowcount
    )


@tick_job(85)
def purge_expired_tokens(now: datetime) -> list[str]:
    removed = db.session.execute(delete(ApiToken).where(ApiToken.expires_at <= now)).rowcount
    db.session.commit()
    return [f"api tokens: {removed} expired token(s) removed"] if removed else []
