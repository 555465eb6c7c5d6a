"""`bando init` builds the schema by the migrations, the same on SQLite and PostgreSQL.

On SQLite alone: the migrated schema equals the models' metadata (no autogenerate diff).
With TEST_DATABASE_URL: the same on a fresh PostgreSQL database, created and dropped here,
and both databases reflect to the same tables, columns (generic types), nullability, keys,
unique and check constraint names and indexes.
"""

import os

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from bando import create_app
from bando.core.extensions import db

PG_URL = os.environ.get("TEST_DATABASE_URL")


def init_database(url: str) -> list:
    """Run `bando init` on url; return alembic's diff between that schema and the models."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "migration-tests-only-key-not-for-real-use",
            "SQLALCHEMY_DATABASE_URI": url,
        }
    )
    result = app.test_cli_runner().invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert "loaded: cdq-2019" in result.output
    with app.app_context():
        try:
            with db.engine.connect() as connection:
                context = MigrationContext.configure(connection, opts={"compare_type": True})
                return compare_metadata(context, db.metadata)
        finally:
            db.engine.dispose()


def schema(url: str) -> dict:
    """The schema as the database reports it, in terms both dialects share."""
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        tables = {}
        for table in sorted(inspector.get_table_names()):
            pk = inspector.get_pk_constraint(table)
            tables[table] = {
                "columns": {
                    column["name"]: (repr(column["type"].as_generic()), column["nullable"])
                    for column in inspector.get_columns(table)
                },
                "primary_key": (pk["name"], tuple(pk["constrained_columns"])),
                "unique": sorted(
                    (u["name"], tuple(u["column_names"]))
                    for u in inspector.get_unique_constraints(table)
                ),
                "checks": sorted(c["name"] for c in inspector.get_check_constraints(table)),
                "foreign_keys": sorted(
                    (
                        fk["name"],
                        tuple(fk["constrained_columns"]),
                        fk["referred_table"],
                        tuple(fk["referred_columns"]),
                        (fk["options"].get("ondelete") or "").upper(),
                    )
                    for fk in inspector.get_foreign_keys(table)
                ),
                # PostgreSQL also lists the index behind each unique constraint.
                "indexes": sorted(
                    (ix["name"], tuple(ix["column_names"]), bool(ix["unique"]))
                    for ix in inspector.get_indexes(table)
                    if not ix.get("duplicates_constraint")
                ),
            }
        return tables
    finally:
        engine.dispose()


def test_init_on_empty_sqlite_matches_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    assert init_database(url) == []
    tables = schema(url)
    assert "alembic_version" in tables
    assert set(tables) - {"alembic_version"} == set(db.metadata.tables)
    edition = tables["edition"]
    assert edition["columns"]["budget_cap_cents"] == ("BigInteger()", False)
    assert edition["columns"]["ranking_published_at"] == ("DateTime()", True)
    assert "ck_edition_opens_before_closes" in edition["checks"]
    assert ("uq_edition_code", ("code",)) in edition["unique"]


@pytest.fixture
def fresh_postgres():
    """A new, empty PostgreSQL database on the TEST_DATABASE_URL server, dropped afterwards."""
    if not PG_URL:
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL")
    base = make_url(PG_URL)
    name = f"bando_schema_{os.getpid()}"
    admin = {
        "host": base.host or "127.0.0.1",
        "port": base.port or 5432,
        "user": base.username,
        "password": base.password,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**admin) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(**admin) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_init_gives_the_same_schema_on_sqlite_and_postgresql(tmp_path, fresh_postgres):
    sqlite_url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    assert init_database(sqlite_url) == []
    assert init_database(fresh_postgres) == []
    on_sqlite, on_postgres = schema(sqlite_url), schema(fresh_postgres)
    assert set(on_sqlite) == set(on_postgres)
    for table in on_sqlite:
        assert on_sqlite[table] == on_postgres[table], table
