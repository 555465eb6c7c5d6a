"""Calls (bandi): the Edition and its neighbourhoods, guidelines and criteria; the call
file (TOML) and its loading; the edition's lifecycle; the console commands.
The shipped calls are the *.toml files of this folder."""


def init_app(app):
    from bando.calls import api, cli, lifecycle, models  # noqa: F401  (routes, tick jobs, tables)

    cli.init_app(app)
