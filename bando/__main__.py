"""The `bando` console script: the Flask CLI group of create_app (see `bando --help`)."""

import click
from flask.cli import FlaskGroup

from bando import create_app


@click.group(cls=FlaskGroup, create_app=create_app, add_version_option=False)
def main():
    """bando — workflow engine for public grant calls."""


if __name__ == "__main__":
    main()
