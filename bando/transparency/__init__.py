"""Transparency: the grants of each call made public as D.Lgs. 33/2013 art. 27 requires
(a page, CSV and JSON) and in the 360Giving data standard, with a public page per funded
project."""


def init_app(app):
    from bando.transparency import api, operations, pages  # noqa: F401  (routes)

    operations.init_config(app)
    app.register_blueprint(pages.bp)
