"""`bando backup` while the app writes, then a restore: the copy opens as the app's
database, its audit chain verifies, and every attachment still has its sha256."""

import hashlib
import shutil
import subprocess
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bando import create_app
from bando.applications.models import Application, Attachment
from bando.core.extensions import db
from tests.bando.applications.data import submitted_application
from tests.conftest import PG_URL
from tests.factories import create_edition


def config_of(app, url):
    keys = ("ARGON2", "BABEL_TRANSLATION_DIRECTORIES", "SECRET_KEY", "TESTING")
    return {**{k: app.config[k] for k in keys}, "SQLALCHEMY_DATABASE_URI": url}


def attachments_intact(restored) -> int:
    """Every stored file against its recorded sha256; returns how many."""
    with restored.app_context():
        rows = db.session.execute(select(Attachment.sha256, Attachment.data)).all()
        for recorded, data in rows:
            assert hashlib.sha256(data).hexdigest() == recorded
        return len(rows)


def verified(restored):
    result = restored.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "chain intact" in result.output


def test_a_backup_taken_while_writing_restores_whole(app, runner, tmp_path):
    if PG_URL:
        pytest.skip("SQLite's online backup (PostgreSQL: see the pg_dump test)")
    edition = create_edition("cdq-copia")
    for _ in range(3):
        submitted_application(edition)
    db.session.commit()
    code = edition.code
    live = app.config["SQLALCHEMY_DATABASE_URI"]

    # Another process's worth of work: submissions going on while the copy is made.
    writer = create_app(config_of(app, live), instance_path=str(tmp_path / "writer"))
    stop, written, failures = threading.Event(), [], []

    def write():
        with writer.app_context():
            from bando.calls.models import Edition

            try:
                while not stop.is_set() or len(written) < 3:
                    target = db.session.scalar(select(Edition).where(Edition.code == code))
                    written.append(submitted_application(target).id)
                    db.session.commit()
            except Exception as error:  # reported by the test below
                failures.append(error)
            finally:
                db.session.remove()
                db.engine.dispose()

    thread = threading.Thread(target=write)
    thread.start()
    copies = []
    try:
        for n in range(3):
            out = tmp_path / "backups" / f"copia-{n}.sqlite3"
            result = runner.invoke(args=["backup", "--out", str(out)])
            assert result.exit_code == 0, result.output
            assert "integrity ok" in result.output
            copies.append(out)
    finally:
        stop.set()
        thread.join(timeout=120)
    assert not failures, failures
    assert written, "the writer wrote nothing"

    for n, copy in enumerate(copies):
        # The restore: the copy put where the app reads its database.
        place = tmp_path / f"ripristino-{n}" / "bando.sqlite3"
        place.parent.mkdir()
        shutil.copy(copy, place)
        restored = create_app(config_of(app, f"sqlite:///{place}"), instance_path=str(place.parent))
        verified(restored)
        with restored.app_context():
            applications = db.session.scalar(select(func.count(Application.id)))
            attachments = db.session.scalar(select(func.count(Attachment.id)))
            db.engine.dispose()
        assert applications >= 3
        # Each application came with its three documents: none half-copied.
        assert attachments == 3 * applications
        assert attachments_intact(restored) == attachments


def test_backup_refuses_to_overwrite_and_refuses_postgresql(app, runner, tmp_path):
    out = tmp_path / "gia-presente.sqlite3"
    out.write_bytes(b"")
    result = runner.invoke(args=["backup", "--out", str(out)])
    assert result.exit_code != 0
    if PG_URL:
        assert "pg_dump" in result.output
    else:
        assert "exists already" in result.output
        assert out.read_bytes() == b""


def test_pg_dump_and_pg_restore_as_the_readme_says(app, runner, tmp_path, postgres_only):
    """The README's commands: pg_dump -Fc, then pg_restore into an empty database."""
    if not shutil.which("pg_dump") or not shutil.which("pg_restore"):
        pytest.skip("needs pg_dump and pg_restore")
    edition = create_edition("cdq-dump")
    for _ in range(3):
        submitted_application(edition)
    db.session.commit()
    url = make_url(PG_URL)
    target = f"{url.database}_ripristino"
    connection = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username]
    dump = tmp_path / "bando.dump"
    subprocess.run(
        ["pg_dump", *connection, "-Fc", "-f", str(dump), url.database], check=True, timeout=300
    )
    subprocess.run(["dropdb", *connection, "--if-exists", target], check=True, timeout=60)
    subprocess.run(["createdb", *connection, target], check=True, timeout=60)
    try:
        subprocess.run(
            ["pg_restore", *connection, "--no-owner", "-d", target, str(dump)],
            check=True,
            timeout=300,
        )
        restored_url = url.set(database=target).render_as_string(hide_password=False)
        restored = create_app(config_of(app, restored_url), instance_path=str(tmp_path / "r"))
        verified(restored)
        assert attachments_intact(restored) == 9
        with restored.app_context():
            db.engine.dispose()
    finally:
        subprocess.run(["dropdb", *connection, "--if-exists", target], check=False, timeout=60)
