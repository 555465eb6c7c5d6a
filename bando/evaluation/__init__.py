"""Evaluation: the committee of a call, the evaluators' conflict-of-interest declarations,
their reviews and scores — models, operations, the API and the evaluators' pages."""


def init_app(app):
    from bando.evaluation import api, models, operations  # noqa: F401  (routes, tables, facts)
    from bando.evaluation.pages import evaluator

    app.register_blueprint(evaluator.bp)
    from bando.evaluation.pages import officer as committee_pages

    app.register_blueprint(committee_pages.bp)
