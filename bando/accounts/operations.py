"""Operations on accounts: staff users, the registration of an organisation with its first
user, sign-in and API tokens. Flush, never commit: the caller commits."""

import hashlib
import secrets
from datetime import timedelta

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bando.accounts.models import ROLES, ApiToken, Organisation, User
from bando.accounts.passwords import hash_password, password_problem, verify_password
from bando.accounts.schemas import AccountRequest
from bando.core.extensions import db
from bando.core.models import Notification
from bando.core.operations import OperationError
from bando.core.schemas import field_errors
from bando.core.timeutil import utcnow
from workflows.organisation import EMAIL_RE, clean_organisation, organisation_problems

DUPLICATE_TAX_CODE = (
    "un ente con questo codice fiscale è già registrato: chiedere l'accesso a chi lo ha registrato"
)
DUPLICATE_EMAIL = "esiste già un utente con questo indirizzo email"


class UserError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def normalise_email(email) -> str:
    return (email or "").strip().lower()


def check_new_user(email: str, password: str, role: str) -> None:
    if not EMAIL_RE.match(email):
        raise UserError("email", "indirizzo email non valido")
    if role not in ROLES:
        raise UserError("role", f"ruolo sconosciuto: {role} (ammessi: {', '.join(ROLES)})")
    problem = password_problem(password)
    if problem:
        raise UserError("password", problem)
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise UserError("email", DUPLICATE_EMAIL)


def create_user(email, password, role, *, organisation=None, full_name="") -> User:
    """Adds (does not commit) a user; raises UserError with the field and an Italian message."""
    email = normalise_email(email)
    check_new_user(email, password, role)
    if role == "applicant" and organisation is None:
        raise UserError("organisation", "un richiedente appartiene a un ente")
    user = User(
        email=email,
        password_hash=hash_password(password),
        role=role,
        organisation=organisation,
        full_name=full_name,
    )
    db.session.add(user)
    return user


# --- registration -----------------------------------------------------------------------


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


def register_organisation(account: dict) -> User:
    """Adds (does not commit) an organisation and its first applicant user, from the API's
    payload (the registration page sends the same shape). Refuses with every problem
    found, by field (`organisation.tax_code`…): 409 when the organisation or the address
    is already registered, 422 otherwise."""
    account_data = account
    errors: dict[str, list[str]] = {}
    try:
        account = AccountRequest.model_validate(account, strict=False)
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
    if account is not None:
        try:
            check_new_user(normalise_email(account.email), account.password, "applicant")
        except UserError as error:
            errors[error.field] = [error.message]
    if errors:
        duplicate = {DUPLICATE_TAX_CODE, DUPLICATE_EMAIL}
        only_duplicates = all(m in duplicate for messages in errors.values() for m in messages)
        raise OperationError(409 if only_duplicates else 422, "registration refused", errors)
    organisation = Organisation(**fields)
    db.session.add(organisation)
    try:
        # Flushed now: a registration of the same tax code racing this one fails here, on
        # the unique constraint, with the same message as the check above.
        db.session.flush()
        user = create_user(
            account.email,
            account.password,
            "applicant",
            organisation=organisation,
            full_name=account.full_name,
        )
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        if "email" in str(error.orig):
            raise OperationError(
                409, "registration refused", {"email": [DUPLICATE_EMAIL]}
            ) from None
        raise OperationError(
            409, "registration refused", {"organisation.tax_code": [DUPLICATE_TAX_CODE]}
        ) from None
    db.session.add(
        Notification(
            to_address=user.email,
            subject=f"Registrazione a bando: {organisation.name}",
            body=(
                f"Gentile {account.full_name or user.email},\n\n"
                f"l'ente «{organisation.name}» (codice fiscale {organisation.tax_code}) è "
                "registrato. Può ora accedere e compilare le domande di contributo.\n"
            ),
        )
    )
    db.session.flush()
    return user


# --- signing in, tokens -----------------------------------------------------------------


def authenticate(email, password) -> User | None:
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None or not user.active or not verify_password(user.password_hash, password or ""):
        return None
    return user


def user_by_id(user_id) -> User | None:
    """The user of a page session (Flask-Login's user loader)."""
    try:
        return db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, hours: int) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(
        ApiToken(
            user=user, token_sha256=_digest(token), expires_at=utcnow() + timedelta(hours=hours)
        )
    )
    return token


def user_for_token(token: str) -> User | None:
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _digest(token)))
    if row is None or row.expires_at <= utcnow() or not row.user.active:
        return None
    return row.user
