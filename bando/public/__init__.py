"""What anyone reads without signing in: the calls with their budget figures, a call's
page, how the procedure works, and the same through the API."""


def init_app(app):
    from bando.public import api, pages  # noqa: F401  (API routes)

    app.register_blueprint(pages.bp)
