"""Finance: the letters of a call (award, reserve, not funded, not admissible, notice
before rejection, request for documents) as PDFs with their protocols, signed where a
certificate is configured and downloadable all at once; the payments and their register."""


def init_app(app):
    from bando.finance import api, cli, models, operations, pages  # noqa: F401  (routes, tables)

    for key, value in operations.DEFAULTS.items():
        app.config.setdefault(key, value)
    app.register_blueprint(pages.bp)
    cli.init_app(app)
