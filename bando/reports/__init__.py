"""Reports: the final report (rendicontazione) of a funded project and its expenses."""


def init_app(app):
    from bando.reports import models  # noqa: F401  (tables)
