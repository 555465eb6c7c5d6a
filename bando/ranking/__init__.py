"""The ranking (graduatoria): computed by scoring.ranking from the committee's reviews,
approved and published by the officer (the edition goes closed → ranked), frozen as rows
for the allocation and the public; its exports and its minute (verbale)."""


def init_app(app):
    from bando.ranking import api, models  # noqa: F401  (routes, tables)
