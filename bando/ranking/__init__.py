"""The ranking (graduatoria): computed by scoring.ranking from the committee's reviews,
approved and published by the officer (the edition goes closed → ranked), frozen as rows
for the allocation and the public; its exports, its minute (verbale) and its pages."""


def init_app(app):
    from bando.ranking import api, models, pages  # noqa: F401  (routes, tables)

    app.register_blueprint(pages.bp)
