"""Administration: staff accounts (made with an invitation to choose the password,
deactivated, reactivated, sent a password link), every account listed, the calls loaded
from their TOML files, the audit chain checked; the administrator's pages and API."""


def init_app(app):
    from bando.admin import api, pages  # noqa: F401  (routes)

    app.register_blueprint(pages.bp)
