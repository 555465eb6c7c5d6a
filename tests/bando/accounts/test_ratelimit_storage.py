"""The counters of the rate limits in bando's database: an atomic increment with expiry,
correct under concurrency (threads, each with its own connection) on SQLite and, with
TEST_DATABASE_URL, on PostgreSQL."""

import threading
import time

from limits.storage import storage_from_string
from sqlalchemy import update

from bando.core.extensions import db, limiter
from bando.core.ratelimit import DatabaseStorage, RateLimitCounter, storage_uri
from bando.core.tick import tick


def test_the_database_is_the_storage_unless_redis_is_configured(app, monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert storage_uri({}) == "bando+db://"
    assert storage_uri({"REDIS_URL": "redis://127.0.0.1:6379/0"}) == "redis://127.0.0.1:6379/0"
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/3")
    assert storage_uri({}) == "redis://127.0.0.1:6379/3"
    assert storage_uri({"REDIS_URL": None}) == "bando+db://"  # a setting wins
    assert isinstance(storage_from_string("bando+db://"), DatabaseStorage)
    assert isinstance(limiter.storage, DatabaseStorage)


def test_increment_expiry_clear_and_reset(app):
    storage = DatabaseStorage()
    assert storage.check()
    assert storage.get("k") == 0
    assert [storage.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.incr("k", 60, amount=5) == 8
    expires = storage.get_expiry("k")
    assert time.time() < expires <= time.time() + 60
    # The expiry is set by the first hit only: later hits do not extend the window.
    assert storage.incr("k", 3600) == 9 and storage.get_expiry("k") == expires
    # Once expired the counter reads 0 and the next hit starts a new window.
    table = RateLimitCounter.__table__
    with db.engine.begin() as connection:
        connection.execute(update(table).where(table.c.key == "k").values(expires_at_ms=1))
    assert storage.get("k") == 0
    assert storage.incr("k", 60) == 1
    storage.clear("k")
    assert storage.get("k") == 0
    long_key = "x" * 400
    assert storage.incr(long_key, 60) == 1 and storage.get(long_key) == 1
    assert storage.reset() == 1
    assert storage.get(long_key) == 0


def test_concurrent_increments_are_counted_once_each(app):
    """Eight threads hit one counter at once: every value from 1 to the total is handed
    out exactly once, and the counter ends at the total."""
    storage = DatabaseStorage()
    threads, hits = 8, 15
    barrier = threading.Barrier(threads)
    seen: list[int] = []
    errors: list[BaseException] = []

    def worker():
        with app.app_context():
            try:
                barrier.wait()
                for _ in range(hits):
                    seen.append(storage.incr("shared", 600))
            except BaseException as error:  # reported below
                errors.append(error)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []
    assert sorted(seen) == list(range(1, threads * hits + 1))
    assert storage.get("shared") == threads * hits


def test_tick_removes_expired_counters(app):
    storage = DatabaseStorage()
    storage.incr("old", 60)
    storage.incr("new", 60)
    table = RateLimitCounter.__table__
    with db.engine.begin() as connection:
        connection.execute(update(table).where(table.c.key == "old").values(expires_at_ms=1))
    assert "rate limits: 1 expired counter(s) removed" in tick()
    assert db.session.query(RateLimitCounter.key).all() == [("new",)]
