"""`bando letters EDITION --out FILE.zip`: every letter of a call, issued where missing,
in one ZIP, with a progress bar."""

import os
import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from bando.applications.operations import expire_due_in
from bando.calls.models import Edition
from bando.core.extensions import db
from bando.core.operations import OperationError, commit
from bando.finance import operations


@click.command("letters")
@click.argument("edition_code")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, writable=True),
    help="the ZIP file to write",
)
@with_appcontext
def letters_command(edition_code, out):
    """Issue the letters of a call (protocols given once) and write them all in one ZIP."""
    edition = db.session.scalar(select(Edition).where(Edition.code == edition_code))
    if edition is None:
        raise click.ClickException(f"no such call: {edition_code}")
    # Before any letter is issued: a ZIP that cannot be written issues nothing.
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise click.ClickException(f"no such folder: {folder}")
    try:
        expire_due_in(edition)  # committed apart: its locks come before the call's
        issued = operations.issue_edition(edition)
        commit()
    except OperationError as error:
        raise click.ClickException(error.message) from None
    ids = operations.edition_letter_ids(edition)
    if not ids:
        raise click.ClickException(f"{edition_code}: no letter to send yet")
    partial = f"{out}.partial"
    entries = operations.edition_entries(ids, current_app.config)
    with click.progressbar(length=len(ids), label="letters", file=sys.stderr) as bar:

        def counted():
            for entry in entries:
                yield entry
                bar.update(1)

        try:
            with open(partial, "wb") as handle:
                for chunk in operations.zip_stream(counted()):
                    handle.write(chunk)
        except BaseException as error:
            if os.path.exists(partial):
                os.remove(partial)
            if isinstance(error, OSError):  # no room, no permission: said, not a traceback
                raise click.ClickException(f"{out}: {error.strerror or error}") from None
            raise
    # Written whole or not at all: a ZIP cut short by an error never takes the name.
    os.replace(partial, out)
    click.echo(f"{len(ids)} letters ({len(issued)} newly issued) → {out}")


def init_app(app):
    app.cli.add_command(letters_command)
