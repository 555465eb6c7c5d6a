"""Fixtures in the flaskr style: app, client, runner — on a real database.

SQLite by default; PostgreSQL when TEST_DATABASE_URL is set. The schema is built once
per run by the migrations (as `bando init` does), then every test starts from empty
tables.
"""

import os
import shutil

import pytest
from flask import g, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import text

from bando import create_app
from bando.core.extensions import db

PG_URL = os.environ.get("TEST_DATABASE_URL")


def pytest_report_header(config):
    return f"database: {PG_URL or 'SQLite (set TEST_DATABASE_URL for PostgreSQL)'}"


def _config(url):
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        "SECRET_KEY": "test",
    }


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory):
    """The URL of a database brought to the latest schema by the migrations."""
    from flask_migrate import upgrade

    if PG_URL:
        url = PG_URL
        app = create_app(_config(url))
        with app.app_context():
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            upgrade(directory=app.extensions["migrate"].directory)
            db.engine.dispose()
        return url
    template = tmp_path_factory.mktemp("schema") / "template.sqlite3"
    url = f"sqlite:///{template}"
    app = create_app(_config(url))
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        db.engine.dispose()
    return str(template)


@pytest.fixture
def database_url(migrated_database, tmp_path):
    if PG_URL:
        return PG_URL
    copy = tmp_path / "bando.sqlite3"
    shutil.copy(migrated_database, copy)
    return f"sqlite:///{copy}"


def _truncate_all():
    tables = [t.name for t in db.metadata.sorted_tables]
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


class RequestClient(FlaskClient):
    """A test client whose requests start with an empty `g`, as each request does in
    production. The `app` fixture keeps one app context open for the test's own database
    work, and Flask reuses that context (and its `g`) for requests made inside it."""

    def open(self, *args, **kwargs):
        if has_app_context():
            for name in list(g):
                g.pop(name)
        return super().open(*args, **kwargs)


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(_config(database_url), instance_path=str(tmp_path))
    app.test_client_class = RequestClient
    with app.app_context():
        if PG_URL:
            _truncate_all()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def postgres_only():
    if not PG_URL:
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL")
