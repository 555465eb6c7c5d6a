"""`bando init` and `bando calls load`: the schema and the calls described by TOML files."""

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

from bando.calls.loading import CallFileError, describe, load_call_file, load_shipped_calls
from bando.core.extensions import db


@click.command("init")
@with_appcontext
def init_command():
    """Bring the database to the latest schema and load the shipped calls."""
    upgrade(directory=current_app.extensions["migrate"].directory)

    try:
        shipped = load_shipped_calls()
    except CallFileError as error:
        raise click.ClickException(str(error)) from None
    for code, created in shipped:
        click.echo(f"{'loaded' if created else 'already present'}: {code}")
    click.echo("database ready: " + db.engine.url.render_as_string(hide_password=True))


@click.group("calls")
def calls_group():
    """Calls (bandi) described by TOML files."""


@calls_group.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def calls_load(path):
    """Validate and load a call file; a bad file changes nothing."""
    try:
        edition, created = load_call_file(path)
    except CallFileError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{'loaded' if created else 'updated'}: {describe(edition)}")


def init_app(app):
    app.cli.add_command(init_command)
    app.cli.add_command(calls_group)
