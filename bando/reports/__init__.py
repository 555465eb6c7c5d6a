"""Reports: the final report (rendicontazione) of a funded project and its expenses."""


def init_app(app):
    from bando.reports import api, models, operations, pages  # noqa: F401  (routes, tables, tick)

    app.register_blueprint(pages.bp)
