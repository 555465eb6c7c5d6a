"""Fixtures in the flaskr style: app, client, runner — on a real database.

SQLite by default; PostgreSQL when TEST_DATABASE_URL is set. The schema is built once
per run by the migrations (as `bando init` does), then every test starts from empty
tables.
"""

import os
import shutil
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import g, has_app_context
from flask.testing import FlaskClient
from hypothesis import settings
from sqlalchemy import text

from bando import create_app
from bando.core.extensions import db
from tests.openapi_check import DocumentChecker

PG_URL = os.environ.get("TEST_DATABASE_URL")

# The property tests assert outcomes, never speed: a loaded machine must not fail them
# (speed is measured by `make bench`).
settings.register_profile("bando", deadline=None)
settings.load_profile("bando")


def pytest_report_header(config):
    return f"database: {PG_URL or 'SQLite (set TEST_DATABASE_URL for PostgreSQL)'}"


TRANSLATIONS = Path(__file__).resolve().parents[1] / "bando" / "translations"
COMPILED: dict[str, str] = {}


def compile_catalogues(folder: Path) -> str:
    """The catalogues compiled from the .po files into `folder`, outside the source tree,
    so the pages are checked against the .po as it is now."""
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        target = folder / po.relative_to(TRANSLATIONS).with_suffix(".mo")
        target.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as source, target.open("wb") as handle:
            write_mo(handle, read_po(source, locale=po.parts[-3]), use_fuzzy=True)
    return str(folder)


@pytest.fixture(scope="session", autouse=True)
def compiled_translations(tmp_path_factory):
    COMPILED["dir"] = compile_catalogues(tmp_path_factory.mktemp("translations"))
    return COMPILED["dir"]


def _config(url):
    return {
        "BABEL_TRANSLATION_DIRECTORIES": COMPILED.get("dir", "translations"),
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        "SECRET_KEY": "test-only-key-not-for-any-real-install",
        # Cheap hashing: the suite signs in hundreds of times; production keeps the defaults.
        "ARGON2": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1},
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


_CHECKER: list[DocumentChecker] = []


def document_checker(app) -> DocumentChecker:
    """The checker of the OpenAPI document the app serves (the same for every app)."""
    if not _CHECKER:
        from bando.core.openapi import document

        with app.test_request_context():
            _CHECKER.append(DocumentChecker(document()))
    return _CHECKER[0]


class RequestClient(FlaskClient):
    """A test client whose requests start with an empty `g`, as each request does in
    production. The `app` fixture keeps one app context open for the test's own database
    work, and Flask reuses that context (and its `g`) for requests made inside it.

    Every answer of the API is checked against the served OpenAPI document."""

    def open(self, *args, **kwargs):
        if has_app_context():
            for name in list(g):
                g.pop(name)
        response = super().open(*args, **kwargs)
        request = response.request
        document_checker(self.application).check(
            request.method, request.path, response.status_code, response.mimetype, response.data
        )
        return response


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
