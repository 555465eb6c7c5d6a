"""The `bando` console script: a Flask CLI group (init, demo, run, users, calls, audit…)."""

import click
from flask.cli import with_appcontext


@click.group("audit")
def audit_group():
    """The tamper-evident audit trail."""


@audit_group.command("verify")
@with_appcontext
def audit_verify():
    """Walk the hash chain; name the first event that does not match (exit status 1)."""
    from bando.core.audit import verify_chain

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
    """For cron: what time makes due — open and close calls, expire overdue requests…"""
    from bando.core.tick import tick

    done = tick()
    for line in done:
        click.echo(line)
    click.echo(f"tick: {len(done)} change(s)")


@click.command("diagram")
def diagram_command():
    """Print the state diagrams (Mermaid) drawn from the transition tables, for the README."""
    from workflows.diagram import readme_block

    click.echo(readme_block(), nl=False)


def init_app(app):
    from bando.core.backup import backup_command
    from bando.core.mail import mail_group

    for command in (audit_group, tick_command, diagram_command, mail_group, backup_command):
        app.cli.add_command(command)
