"""Password hashing with argon2id (the library's defaults, RFC 9106's second choice)."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def configure(parameters: dict | None) -> None:
    """Other argon2 parameters (ARGON2 in the configuration): the tests use cheap ones;
    production keeps the defaults. Hashes made with any parameters still verify."""
    global _hasher
    _hasher = PasswordHasher(**parameters) if parameters else PasswordHasher()


MIN_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, in Italian; None when it is fine."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        return f"la password deve avere almeno {MIN_LENGTH} caratteri"
    return None
