"""What the benchmarks share: timing, memory, the PostgreSQL databases they create and
drop, the app on a database of its own, and the row of the table."""

from __future__ import annotations

import gc
import os
import time
import tracemalloc
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/"
SECRET = "benchmarks-only-key-" + uuid.uuid4().hex
# Cheap password hashing: sign-in is not what is measured.
ARGON2 = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


@dataclass
class Row:
    """One line of the table: the figure, its value as text, the target, the verdict
    (True, False, or None when not measured) and the figures it comes from."""

    figure: str
    value: str
    target: str
    ok: bool | None
    detail: str = ""


def not_measured(figure: str, target: str, why: str) -> Row:
    return Row(figure, "—", target, None, f"not measured ({why})")


def best_of(function, repeat=3):
    """The best wall time of `repeat` runs (the least disturbed by the machine)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def peak_memory(function):
    gc.collect()
    tracemalloc.start()
    try:
        function()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


# --- PostgreSQL -------------------------------------------------------------------------


def server_url() -> str:
    """The PostgreSQL server the bench creates its databases on (a URL ending in '/' or
    naming a database to connect to for CREATE DATABASE)."""
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)


def _admin_engine():
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = make_url(server_url())
    return url, create_engine(
        url.set(database=url.database or "postgres"), isolation_level="AUTOCOMMIT"
    )


def postgres_problem() -> str | None:
    """Why the PostgreSQL figures cannot be measured here, or None when they can."""
    try:
        _, engine = _admin_engine()
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        engine.dispose()
    except Exception as error:  # any failure to connect: the row says so
        return f"needs PostgreSQL: {type(error).__name__}"
    return None


@contextmanager
def postgres_database(label: str):
    """A new empty database for one benchmark, dropped afterwards; yields its URL."""
    url, engine = _admin_engine()
    name = f"bench_{label}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with engine.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()


def make_app(database_url: str, instance_path: str | None = None):
    """bando on `database_url`, its schema built by the migrations (as `bando init`)."""
    from flask_migrate import upgrade

    from bando import create_app

    app = create_app(settings(database_url), instance_path=instance_path)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
    return app


def settings(database_url: str) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": SECRET,
        "ARGON2": ARGON2,
        "REDIS_URL": None,
        "TESTING": True,
        # As in production, where the messages go to the SMTP server, not to the log.
        "LOG_LEVEL": "WARNING",
    }
