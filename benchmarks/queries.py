"""SQL statements per page, for a call of 10 proposals and for one of 1 000: a page that
reads its rows in a fixed number of queries sends as many statements for both; one that
loads a relationship per row (N+1) sends more for the larger call.

The calls are allocated (ranked, funded, reserve), so every page listed has rows to show;
the transparency page is counted when the app has one (its endpoint in the url_map)."""

from __future__ import annotations

import tempfile
from contextlib import contextmanager

from benchmarks.common import ARGON2, SECRET, Row

FIGURE = "SQL queries per page at 1 000 vs 10 proposals"
TARGET = "equal"
SIZES = (10, 1000)
# The figure's pages: (label, endpoint, arguments besides the call's code, signed in).
PAGES = (
    ("officer list", "officer.dashboard", "bando", True),
    ("ranking", "ranking.officer_ranking", "code", True),
    ("public ranking", "ranking.public_ranking", "code", False),
    ("allocation and its dashboard", "allocation.officer_allocation", "code", True),
    ("public budget dashboard", "public.edition", "code", False),
)


@contextmanager
def counting(engine):
    from sqlalchemy import event

    statements = []

    def count(conn, cursor, text, parameters, context, executemany):
        statements.append(text)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def transparency_pages(app) -> list[tuple[str, str, str, bool]]:
    """The public transparency page(s), when the app has them."""
    found = []
    for rule in app.url_map.iter_rules():
        if "transparen" in rule.endpoint and "GET" in rule.methods and "/api/" not in rule.rule:
            argument = "code" if "code" in rule.arguments else None
            if rule.arguments - {"code"}:
                continue  # a page of one proposal, not of the call
            found.append((f"transparency ({rule.endpoint})", rule.endpoint, argument, False))
    return found


def world(app, size: int):
    """An allocated call of `size` proposals; returns (code, officer e-mail)."""
    from bando.allocation.operations import run
    from bando.core.extensions import db
    from bando.core.timeutil import utcnow
    from tests.allocation_factories import ranked_world

    with app.app_context():
        # Half the proposals fit in the cap: funded, reserve and not funded all appear.
        edition, officer, _ = ranked_world([500] * size, cap_euro=250 * size)
        edition.ranking_published_at = utcnow()
        run(edition, officer)
        db.session.commit()
        return edition.code, officer.email


def statements_per_page(size: int) -> dict[str, int]:
    from flask import url_for
    from flask_migrate import upgrade

    from bando import create_app
    from bando.core.extensions import db
    from tests.factories import PASSWORD

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/pages.sqlite3",
                "SECRET_KEY": SECRET,
                "ARGON2": ARGON2,
                "WTF_CSRF_ENABLED": False,
                "REDIS_URL": None,
            },
            instance_path=f"{folder}/instance",
        )
        with app.app_context():
            upgrade(directory=app.extensions["migrate"].directory)
        code, email = world(app, size)
        officer, public = app.test_client(), app.test_client()
        answer = officer.post("/accedi", data={"email": email, "password": PASSWORD})
        if answer.status_code != 302:
            raise RuntimeError(f"sign-in refused: {answer.status_code}")
        counts = {}
        for label, endpoint, argument, signed_in in PAGES + tuple(transparency_pages(app)):
            with app.test_request_context():
                url = url_for(endpoint, **({argument: code} if argument else {}))
            client = officer if signed_in else public
            client.get(url)  # once before counting: what a first request caches
            with app.app_context():
                engine = db.engine
            with counting(engine) as statements:
                response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"{url}: {response.status_code}")
            counts[label] = len(statements)
        with app.app_context():
            db.engine.dispose()
    return counts


def bench_queries() -> Row:
    small, large = (statements_per_page(size) for size in SIZES)
    equal = all(small[label] == large[label] for label in small)
    parts = ", ".join(f"{label} {small[label]} → {large[label]}" for label in small)
    if not any(label.startswith("transparency") for label in small):
        parts += "; transparency: no such page yet"
    value = "equal" if equal else "grows"
    return Row(FIGURE, value, TARGET, equal, parts)
