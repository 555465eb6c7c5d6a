"""The allocation: the call's money down the approved ranking under the cap (simulation and
run, the same code), the awards' acceptance, renunciation and revocation with the reserve
list moving down, the explanation of each outcome, the budget figures, and their pages."""


def init_app(app):
    from bando.allocation import api, models, operations, pages  # noqa: F401  (routes, tables, effects)

    app.register_blueprint(pages.bp)
