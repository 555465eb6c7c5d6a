"""Operations on user accounts and API tokens."""

import hashlib
import re
import secrets
from datetime import timedelta

from sqlalchemy import func, select

from bando.accounts.models import ROLES, ApiToken, User
from bando.accounts.passwords import hash_password, password_problem, verify_password
from bando.core.extensions import db
from bando.core.timeutil import utcnow

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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
        raise UserError("email", "esiste già un utente con questo indirizzo email")


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


def authenticate(email, password) -> User | None:
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None or not user.active or not verify_password(user.password_hash, password or ""):
        return None
    return user


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


def user_by_id(user_id) -> User | None:
    """The user of a page session (Flask-Login's user loader)."""
    try:
        return db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None
