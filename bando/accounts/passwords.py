"""Password hashing with argon2id (the library's defaults, RFC 9106's second choice), and
the one rule for a new password (password_problem)."""

import functools
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from workflows.machine import gettext_noop

_hasher = PasswordHasher()


def configure(parameters: dict | None) -> None:
    """Other argon2 parameters (ARGON2 in the configuration): the tests use cheap ones;
    production keeps the defaults. Hashes made with any parameters still verify."""
    global _hasher
    _hasher = PasswordHasher(**parameters) if parameters else PasswordHasher()


MIN_LENGTH = 12
# The refusals, marked for the catalogue: the pages say them in their language, the API in
# Italian (the length written out: a message is looked up in the catalogue as it is).
MAX_LENGTH = 1000  # as the API's schemas: nothing longer is ever judged (or hashed)
TOO_SHORT = gettext_noop("la password deve avere almeno 12 caratteri")
TOO_LONG = gettext_noop("la password può avere al massimo 1000 caratteri")
REPEATED = gettext_noop("la password non può essere un carattere o un gruppo di caratteri ripetuto")
COMMON = gettext_noop(
    "la password è tra le più diffuse e facili da indovinare: sceglierne un'altra"
)
OWN_ADDRESS = gettext_noop("la password non può essere il proprio indirizzo email")
GUESSABLE = gettext_noop(
    "la password è troppo facile da indovinare (sequenze, parole comuni, date o ripetizioni): "
    "sceglierne una più lunga o meno prevedibile"
)
MIN_SCORE = 2
ESTIMATE_UP_TO = 64


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most used passwords of the leaked lists zxcvbn ships (loaded once, on the
    first check: the module is large)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


_PADDING = string.digits + string.punctuation + " "


def _is_repetition(text: str) -> bool:
    """One character or one short piece over and over: "aaaaaaaaaaaa", "abcabcabcabc"."""
    return any(
        len(text) % size == 0 and text[:size] * (len(text) // size) == text
        for size in range(1, len(text) // 2 + 1)
    )


def password_problem(password: str, email: str | None = None) -> str | None:
    """Why a new password is not acceptable, in Italian; None when it is fine.

    At least MIN_LENGTH characters besides the spaces around them, not one of the common
    passwords (even with digits or symbols added before or after), not a repetition, and
    not the user's own e-mail address."""
    if not isinstance(password, str) or len(password.strip()) < MIN_LENGTH:
        return TOO_SHORT
    if len(password) > MAX_LENGTH:
        return TOO_LONG
    lowered = password.strip().lower()
    if _is_repetition(lowered):
        return REPEATED
    core = lowered.strip(_PADDING)
    common = common_passwords()
    if lowered in common or core in common:
        return COMMON
    address = (email or "").strip().lower()
    local = address.partition("@")[0]
    if address and (address in lowered or lowered == local or core == local):
        return OWN_ADDRESS
    # Keyboard rows, sequences, dates, words with digits: zxcvbn's estimate of the guesses
    # needed (score 2: at least a million). Its matching grows fast with the length, and a
    # long password is past doubt anyway.
    if len(password) <= ESTIMATE_UP_TO:
        from zxcvbn import zxcvbn

        inputs = [value for value in (address, local) if value]
        if zxcvbn(password, user_inputs=inputs)["score"] < MIN_SCORE:
            return GUESSABLE
    return None
