"""Evaluation: the committee's conflict-of-interest declarations, reviews and scores."""


def init_app(app):
    from bando.evaluation import models  # noqa: F401  (tables)
