"""Applications: the proposal and its documents — models, facts (rows → workflows inputs),
the lifecycle (the only state writer), operations, receipts, notifications, the pages of
the applicant and of the officer, and the API."""


def init_app(app):
    from bando.applications import api, api_lifecycle, facts, lifecycle  # noqa: F401
    from bando.applications.pages import applicant, officer

    app.register_blueprint(applicant.bp)
    app.register_blueprint(officer.bp)
