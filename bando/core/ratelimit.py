"""Rate limits whose counts every process shares: Flask-Limiter over Redis when REDIS_URL is
set, over a table of bando's own database otherwise (the `limits` library has no SQL
storage; DatabaseStorage below is one, registered as the scheme "bando+db").

What the capabilities use:
- `limited(name)`: a shared limit per signed-in user (or client address) named in LIMITS,
  e.g. `@limited("uploads")` on every view that stores an attachment, under the view's
  authentication so that only signed-in requests count;
- `Backoff`: after some failures one attempt at a time, each wait twice the last (sign-in);
- `limiter` (bando.core.extensions) for anything else Flask-Limiter does.

A limit reached answers 429 with Retry-After: an Italian page, or the API's error JSON
with the code "too_many_attempts".
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, g, jsonify, request
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits.storage import Storage
from sqlalchemy import BigInteger, Integer, String, case, delete, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.exceptions import TooManyRequests

from bando.core.extensions import db, limiter
from bando.core.tick import tick_job

# The limits of `limited(name)`, per signed-in user or client address; each may be
# replaced through the RATELIMITS setting, e.g. RATELIMITS = {"uploads": "10 per hour"}.
LIMITS = {
    # Failed sign-ins from one address (pages and API together): a whole office behind
    # one address must still get in, a script trying accounts must not go on.
    "login": "30 per 15 minutes; 100 per day",
    "registrations": "10 per hour; 30 per day",  # every registration sent from an address
    "confirmations": "5 per hour; 20 per day",  # requests for a new confirmation link
    # Requests for a link to a new password (an office behind one address asks for a few;
    # each account gets at most three links an hour whoever asks).
    "password_resets": "10 per hour; 50 per day",
    "uploads": "60 per 10 minutes; 400 per day",  # attachments stored, by the uploader
}

CODE = "too_many_attempts"


def limit_value(name: str):
    """The limit string of `name`, read from the settings at each request."""
    return lambda: (current_app.config.get("RATELIMITS") or {}).get(name, LIMITS[name])


def requester() -> str:
    """Whose requests count together: the signed-in user (page or bearer token), else the
    client's address."""
    from flask_login import current_user

    if request.path.startswith("/api/"):
        # The token's user, looked up by bando.core.api before the view (and its limits).
        user = g.get("api_user")
    else:
        user = current_user if current_user.is_authenticated else None
    return f"user:{user.id}" if user is not None else f"address:{get_remote_address()}"


def limited(name: str, *, key_func=None, deduct_when=None, methods=None):
    """A view decorator: the shared limit `name` of LIMITS (one budget for every view it
    decorates). Put it under the view's own authentication decorator."""
    shared = limiter.shared_limit(
        limit_value(name),
        scope=name,
        key_func=key_func or requester,
        deduct_when=deduct_when,
        methods=methods,
    )

    def decorate(view):
        limited_view = shared(view)
        limited_view.limited_by = name  # an API endpoint documents the 429 it may answer
        return limited_view

    return decorate


# --- the 429 -------------------------------------------------------------------------------


class Throttled(TooManyRequests):
    """Refused for now: try again in `retry_after` seconds."""

    def __init__(self, retry_after: float, description: str | None = None):
        seconds = max(1, math.ceil(retry_after))
        super().__init__(description, retry_after=seconds)
        self.seconds = seconds


def seconds_to_wait(error: TooManyRequests) -> int:
    if isinstance(error, Throttled):
        return error.seconds
    breached = limiter.current_limit  # Flask-Limiter's limit that refused this request
    if breached is not None:
        return max(1, math.ceil(breached.reset_at - time.time()))
    return 60


def wait_text(seconds: int) -> str:
    """ "2 minuti", "30 secondi", in the reader's language."""
    return format_timedelta(timedelta(seconds=seconds), threshold=1.1)


def too_many_requests(error: TooManyRequests):
    from bando.core.errors import page, wants_json

    seconds = seconds_to_wait(error)
    if wants_json():
        message = f"troppi tentativi: riprovare tra {seconds} secondi"
        response = jsonify(error=message, code=CODE)
        response.status_code = 429
    else:
        detail = _(
            "Per sicurezza l'operazione è sospesa per un po': riprovare tra %(wait)s.",
            wait=wait_text(seconds),
        )
        response = current_app.make_response(page(429, _("Troppi tentativi."), detail))
    response.headers["Retry-After"] = str(seconds)
    return response


# --- exponential backoff ------------------------------------------------------------------


@dataclass(frozen=True)
class Backoff:
    """After `free` failures, one attempt at a time: the next comes `first_delay` seconds
    later, then each wait doubles up to `max_delay`. Failures are remembered for `memory`
    seconds from the first; a success forgets them.

    `acquire()` before the attempt (raises Throttled), then `failed()` or `succeeded()`.
    The slot of a throttled attempt is taken atomically, so any number of processes let
    only one attempt through per wait."""

    name: str
    free: int = 5
    first_delay: int = 30
    max_delay: int = 15 * 60
    memory: int = 24 * 3600

    def delay(self, failures: int) -> int:
        """The wait after the `failures`-th failure (failures ≥ free)."""
        return min(self.first_delay * 2 ** max(0, failures - self.free), self.max_delay)

    def _key(self, kind: str, subject: str) -> str:
        # The subject (an e-mail address…) is not kept in clear in the counters.
        digest = hashlib.sha256(subject.encode()).hexdigest()[:40]
        return f"backoff/{self.name}/{kind}/{digest}"

    def failures(self, subject: str) -> int:
        return limiter.storage.get(self._key("failures", subject))

    def acquire(self, subject: str) -> None:
        storage = limiter.storage
        failures = storage.get(self._key("failures", subject))
        if failures < self.free:
            return
        lock = self._key("lock", subject)
        # The first caller after the wait creates the lock, for as long as the wait after
        # its own failure would be; everyone else finds it taken.
        if storage.incr(lock, self.delay(failures + 1)) > 1:
            raise Throttled(storage.get_expiry(lock) - time.time())

    def failed(self, subject: str) -> int:
        storage = limiter.storage
        failures = storage.incr(self._key("failures", subject), self.memory)
        if failures == self.free:
            storage.incr(self._key("lock", subject), self.delay(failures))
        return failures

    def succeeded(self, subject: str) -> None:
        storage = limiter.storage
        if storage.get(self._key("failures", subject)):  # no write when there is nothing
            storage.clear(self._key("failures", subject))
            storage.clear(self._key("lock", subject))


# --- the counters in the database ------------------------------------------------------------


class RateLimitCounter(db.Model):
    """One counter of DatabaseStorage: its hits and when it expires (ms since the epoch)."""

    __tablename__ = "rate_limit_counter"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    expires_at_ms: Mapped[int] = mapped_column(BigInteger, index=True)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _stored_key(key: str) -> str:
    if len(key) <= 255:
        return key
    return key[:180] + "#" + hashlib.sha256(key.encode()).hexdigest()


def _insert(table):
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


class DatabaseStorage(Storage):
    """The counters of `limits` in bando's database (the app's engine, one short
    transaction of its own per call, never the request's session): an upsert increments
    a counter atomically and restarts it once expired, on PostgreSQL and SQLite alike."""

    STORAGE_SCHEME = ["bando+db"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        # Options meant for another storage (a Redis key prefix…) do not concern this one.
        super().__init__(uri, wrap_exceptions=wrap_exceptions)

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        table = RateLimitCounter.__table__
        now = _now_ms()
        expires = now + int(expiry * 1000)
        expired = table.c.expires_at_ms <= now
        statement = (
            _insert(table)
            .values(key=_stored_key(key), hits=amount, expires_at_ms=expires)
            .on_conflict_do_update(
                index_elements=[table.c.key],
                set_={
                    "hits": case((expired, amount), else_=table.c.hits + amount),
                    "expires_at_ms": case((expired, expires), else_=table.c.expires_at_ms),
                },
            )
            .returning(table.c.hits)
        )
        with db.engine.begin() as connection:
            return int(connection.execute(statement).scalar_one())

    def _live(self, column, key: str):
        table = RateLimitCounter.__table__
        with db.engine.connect() as connection:
            return connection.execute(
                select(column).where(
                    table.c.key == _stored_key(key), table.c.expires_at_ms > _now_ms()
                )
            ).scalar()

    def get(self, key: str) -> int:
        return int(self._live(RateLimitCounter.__table__.c.hits, key) or 0)

    def get_expiry(self, key: str) -> float:
        expires = self._live(RateLimitCounter.__table__.c.expires_at_ms, key)
        return expires / 1000 if expires is not None else time.time()

    def check(self) -> bool:
        try:
            with db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        with db.engine.begin() as connection:
            return connection.execute(delete(RateLimitCounter.__table__)).rowcount

    def clear(self, key: str) -> None:
        table = RateLimitCounter.__table__
        with db.engine.begin() as connection:
            connection.execute(delete(table).where(table.c.key == _stored_key(key)))

    def purge(self) -> int:
        """Removes the expired counters; how many."""
        table = RateLimitCounter.__table__
        with db.engine.begin() as connection:
            return connection.execute(
                delete(table).where(table.c.expires_at_ms <= _now_ms())
            ).rowcount


@tick_job(90)
def purge_expired_counters(now) -> list[str]:
    """Expired rate-limit counters (database storage only: Redis expires its own)."""
    storage = limiter.storage
    if not isinstance(storage, DatabaseStorage):
        return []
    removed = storage.purge()
    return [f"rate limits: {removed} expired counter(s) removed"] if removed else []


# --- wiring --------------------------------------------------------------------------------


def storage_uri(config) -> str:
    """RATELIMIT_STORAGE_URI when given; else Redis at REDIS_URL (setting or environment);
    else the database."""
    if config.get("RATELIMIT_STORAGE_URI"):
        return config["RATELIMIT_STORAGE_URI"]
    redis_url = config.get("REDIS_URL", os.environ.get("REDIS_URL"))
    return redis_url or "bando+db://"


def init_app(app):
    uri = storage_uri(app.config)
    app.config["RATELIMIT_STORAGE_URI"] = uri
    if uri.startswith(("redis", "rediss", "valkey")):
        app.config["RATELIMIT_STORAGE_OPTIONS"] = {
            # Several sites may share one Redis: each counts under its own prefix.
            "key_prefix": app.config.get("RATELIMIT_KEY_PREFIX") or "bando",
            "socket_timeout": 5,
            "socket_connect_timeout": 5,
            **(app.config.get("RATELIMIT_STORAGE_OPTIONS") or {}),
        }
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)  # Retry-After is set here
    limiter.init_app(app)
    # Only the limits' own refusals: any other 429 is the error pages' (bando.core.errors).
    for refusal in (RateLimitExceeded, Throttled):
        app.register_error_handler(refusal, too_many_requests)
