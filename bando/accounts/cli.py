"""`bando users create`: staff accounts from the console."""

import click
from flask.cli import with_appcontext

from bando.accounts.operations import UserError, create_user
from bando.core.extensions import db


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
    if role == "applicant":
        raise click.UsageError("applicants register with their organisation, on the site or API")
    try:
        user = create_user(email, password, role, full_name=full_name)
    except UserError as error:
        raise click.UsageError(f"{error.field}: {error.message}") from None
    db.session.commit()
    click.echo(f"created {user.role} {user.email}")


def init_app(app):
    app.cli.add_command(users_group)
