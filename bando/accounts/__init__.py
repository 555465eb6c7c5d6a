"""Accounts: organisations, their users and API tokens — models, operations (registration
and the confirmation of the address, throttled sign-in, server-side sessions, passwords,
tokens), the sign-in pages, the API and `bando users`."""


def init_app(app):
    from bando.accounts import api, cli, pages, passwords  # noqa: F401  (API routes)
    from bando.accounts.operations import user_for_token
    from bando.accounts.sessions import user_for_session
    from bando.core.auth import init_loaders

    init_loaders(app, user_by_session=user_for_session, user_by_token=user_for_token)
    passwords.configure(app.config.get("ARGON2"))
    app.register_blueprint(pages.bp)
    cli.init_app(app)
