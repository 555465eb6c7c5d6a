"""`bando backup`: a consistent copy of the SQLite database while the app runs, through
SQLite's online backup API (the copy is one instant of the database, whatever the app
writes meanwhile). PostgreSQL is backed up with pg_dump (see the README)."""

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url

from bando.core.extensions import db

PAGES_PER_STEP = 1024  # copied between two looks at what the app wrote meanwhile


def sqlite_path() -> Path:
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise click.ClickException(
            "bando backup copies a SQLite database; for PostgreSQL use pg_dump "
            "(see the README, «Backups»)"
        )
    return Path(url.database)


def backup_sqlite(source: Path, target: Path) -> int:
    """Copies `source` into `target` (a new file) with the online backup API; returns the
    number of pages. Writers may go on: SQLite restarts the copy of what they changed."""
    if target.exists():
        raise click.ClickException(f"{target} exists already: choose another name")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Read-only: the backup never writes to the live database.
    live = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    copy = sqlite3.connect(target)
    try:
        live.backup(copy, pages=PAGES_PER_STEP)
        pages = copy.execute("PRAGMA page_count").fetchone()[0]
        check = copy.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise click.ClickException(f"the copy does not pass SQLite's check: {check}")
    finally:
        copy.close()
        live.close()
    return pages


@click.command("backup")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write (default: instance/backups/bando-<UTC time>.sqlite3).",
)
@with_appcontext
def backup_command(out):
    """A consistent copy of the SQLite database, safe while the app is running."""
    source = sqlite_path()
    if out is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out = Path(current_app.instance_path) / "backups" / f"bando-{stamp}.sqlite3"
    db.session.remove()  # nothing of this process holds the database meanwhile
    pages = backup_sqlite(source, out)
    click.echo(f"backup: {out} ({pages} pages, integrity ok)")
