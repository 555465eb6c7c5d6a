"""Configuration: defaults here, then instance/config.py, then the environment."""

import os
import secrets
import time


class Defaults:
    SECRET_KEY = None  # from the environment, instance/config.py, or instance/secret_key
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    BABEL_DEFAULT_LOCALE = "it"
    BABEL_DEFAULT_TIMEZONE = "Europe/Rome"
    LANGUAGES = ("it", "en")
    # Who runs this site: the header and footer of every page.
    SITE_OWNER = "Comune di Milano"
    SITE_OFFICE = (
        "Direzione di Progetto Periferie — Unità Contratti di Quartiere e Rigenerazione Urbana"
    )
    MAX_CONTENT_LENGTH = 12 * 1024 * 1024  # a whole request; one attachment is capped lower
    MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
    API_TOKEN_HOURS = 12
    ARGON2 = None  # argon2 parameters (time_cost, memory_cost…); None: the library's defaults
    # Mail: with no MAIL_SERVER the messages are written to the log (development).
    MAIL_SERVER = None
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USERNAME = None
    MAIL_PASSWORD = None
    MAIL_SENDER = "bando@localhost"
    # The check of an uploaded PDF runs in a child process with these limits (bando.core.pdf).
    PDF_CHECK_SECONDS = 5
    PDF_CHECK_MEMORY_MB = 256
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"


ENV_KEYS = (
    "SECRET_KEY",
    "MAIL_SERVER",
    "MAIL_PORT",
    "MAIL_USERNAME",
    "MAIL_PASSWORD",
    "MAIL_SENDER",
    "REDIS_URL",
    "PUBLIC_URL",
    "TRUSTED_PROXIES",
    "LOG_LEVEL",
)


MIN_SECRET_LENGTH = 32
# Values seen in examples and tutorials: whoever knows them can forge sessions.
KNOWN_SECRETS = {
    "a long random string",  # instance/config.example.py
    "change-me",
    "changeme",
    "change-this",
    "secret",
    "secret-key",
    "secretkey",
    "dev",
    "development",
    "test",
    "testing",
    "default",
    "password",
    "your-secret-key",
    "super-secret",
    "supersecret",
}


def secret_key_problem(key) -> str | None:
    """Why SECRET_KEY must not be used (it signs the session cookies); None when it may."""
    if not isinstance(key, str | bytes) or not key:
        return "SECRET_KEY is empty"
    text = key.decode("utf-8", "replace") if isinstance(key, bytes) else key
    if text.strip().lower() in KNOWN_SECRETS:
        return "SECRET_KEY is a known placeholder: set a random one"
    if len(text.strip()) < MIN_SECRET_LENGTH:
        return f"SECRET_KEY is shorter than {MIN_SECRET_LENGTH} characters"
    if len(set(text)) < 8:
        return "SECRET_KEY is too repetitive: set a random one"
    return None


def check_secret_key(key) -> None:
    """Refuses to start with a key anyone could guess (see secret_key_problem)."""
    if problem := secret_key_problem(key):
        raise RuntimeError(
            f"{problem} (e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'), "
            "or leave it unset to use the random key kept in instance/secret_key"
        )


def instance_secret(instance_path: str) -> str:
    """A random key kept in instance/secret_key, made on first start, so that no install
    runs with a known key and sessions survive restarts. Safe when several processes
    start at once: only one creates the file, the others read it."""
    path = os.path.join(instance_path, "secret_key")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        with open(path) as handle:
            for _ in range(50):
                key = handle.read().strip()
                if key:
                    return key
                time.sleep(0.01)  # the creator is still writing it
                handle.seek(0)
        raise RuntimeError(f"{path} is empty: remove it or set SECRET_KEY") from None
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def database_url(instance_path: str) -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        # Accept the common short forms and use the psycopg 3 driver.
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url
    return "sqlite:///" + os.path.join(instance_path, "bando.sqlite3")
