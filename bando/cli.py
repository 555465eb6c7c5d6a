"""The `bando` console script: a Flask CLI group (init, demo, run, users, calls, audit…)."""

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate import upgrade

from .extensions import db


def _create_app():
    from . import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main():
    """bando — workflow engine for public grant calls."""


@click.command("init")
@with_appcontext
def init_command():
    """Bring the database to the latest schema and load the shipped calls."""
    upgrade(directory=current_app.extensions["migrate"].directory)
    from .calls import load_shipped_calls

    for code, created in load_shipped_calls():
        click.echo(f"{'loaded' if created else 'already present'}: {code}")
    click.echo("database ready: " + db.engine.url.render_as_string(hide_password=True))


@click.group("users")
def users_group():
    """Manage user accounts."""


@users_group.command("create")
@click.option("--role", required=True, help="applicant, officer, evaluator, finance or admin")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--name", "full_name", default="")
@with_appcontext
def users_create(role, email, password, full_name):
    """Create a staff user (applicants register with their organisation)."""
    from .users import UserError, create_user

    if role == "applicant":
        raise click.UsageError("applicants register with their organisation, on the site or API")
    try:
        user = create_user(email, password, role, full_name=full_name)
    except UserError as error:
        raise click.UsageError(f"{error.field}: {error.message}") from None
    db.session.commit()
    click.echo(f"created {user.role} {user.email}")


@click.group("calls")
def calls_group():
    """Calls (bandi) described by TOML files."""


@calls_group.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def calls_load(path):
    """Validate and load a call file; a bad file changes nothing."""
    from .calls import CallFileError, load_call_file

    try:
        edition, created = load_call_file(path)
    except CallFileError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{'loaded' if created else 'updated'}: {edition.code}")


def register(app):
    for command in (init_command, users_group, calls_group):
        app.cli.add_command(command)
