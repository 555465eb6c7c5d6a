"""`bando users`: staff accounts from the console; a new password or the deactivation of
any account (both end its sessions and API tokens)."""

import click
from flask.cli import with_appcontext

from bando.accounts.operations import (
    UserError,
    account_event,
    create_user,
    deactivate_user,
    set_password,
    user_by_email,
)
from bando.accounts.passwords import password_problem
from bando.core.extensions import db
from bando.core.operations import OperationError


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
    account_event("create_user", user)
    db.session.commit()
    click.echo(f"created {user.role} {user.email}")


def _user(email):
    user = user_by_email(email)
    if user is None:
        raise click.UsageError(f"no user with the email {email}")
    return user


@users_group.command("deactivate")
@click.argument("email")
@with_appcontext
def users_deactivate(email):
    """The user can no longer sign in; open sessions and API tokens end now."""
    user = _user(email)
    try:
        deactivate_user(user)
    except OperationError as error:
        db.session.rollback()
        raise click.UsageError(error.message) from None
    db.session.commit()
    click.echo(f"deactivated {user.email}")


@users_group.command("password")
@click.argument("email")
@click.password_option("--password", prompt="New password")
@with_appcontext
def users_password(email, password):
    """Set a new password; open sessions and API tokens end now."""
    user = _user(email)
    if problem := password_problem(password, user.email):
        raise click.UsageError(f"password: {problem}")
    set_password(user, password)
    db.session.commit()
    click.echo(f"new password set for {user.email}; sessions and tokens ended")


def init_app(app):
    app.cli.add_command(users_group)
