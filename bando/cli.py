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
    from .calls import CallFileError, load_shipped_calls

    try:
        shipped = load_shipped_calls()
    except CallFileError as error:
        raise click.ClickException(str(error)) from None
    for code, created in shipped:
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
    from .calls import CallFileError, describe, load_call_file

    try:
        edition, created = load_call_file(path)
    except CallFileError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{'loaded' if created else 'updated'}: {describe(edition)}")


@click.group("audit")
def audit_group():
    """The tamper-evident audit trail."""


@audit_group.command("verify")
@with_appcontext
def audit_verify():
    """Walk the hash chain; name the first event that does not match (exit status 1)."""
    from .audit import verify_chain

    result = verify_chain()
    if result.ok:
        click.echo(f"OK: {result.count} events, chain intact")
        return
    if result.bad is None:
        raise click.ClickException(f"audit chain broken: {result.problem}")
    event = result.bad
    subject = (
        f"application {event.application_id}"
        if event.application_id is not None
        else f"{event.subject} {event.edition_id}"
    )
    raise click.ClickException(
        f"audit chain broken at event {event.id} ({subject}, trigger {event.trigger}, "
        f"{event.at.isoformat()}): {result.problem}"
    )


@click.command("tick")
@with_appcontext
def tick_command():
    """For cron: expire overdue requests for documents, close calls past their deadline."""
    from .lifecycle import tick

    done = tick()
    for line in done:
        click.echo(line)
    click.echo(f"tick: {len(done)} change(s)")


@click.command("diagram")
def diagram_command():
    """Print the state diagrams (Mermaid) drawn from the transition tables, for the README."""
    from workflows.diagram import readme_block

    click.echo(readme_block(), nl=False)


@click.command("demo")
@with_appcontext
def demo_command():
    """Load the walk-through data set (idempotent) and print the demo logins."""
    from .demo import DEMO_CODE, PASSWORD, load_demo

    logins = load_demo()
    click.echo(f"demo edition: {DEMO_CODE} (open for submissions)")
    click.echo(f"demo logins (password for all: {PASSWORD}):")
    for role, email in logins:
        click.echo(f"  {role:10} {email}")


def register(app):
    for command in (
        init_command,
        demo_command,
        users_group,
        calls_group,
        audit_group,
        tick_command,
    ):
        app.cli.add_command(command)
    from .mail import mail_group

    app.cli.add_command(mail_group)
    app.cli.add_command(diagram_command)
