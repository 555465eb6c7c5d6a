"""Applications: the proposal and its documents — models, facts (rows → workflows inputs),
the lifecycle (the only state writer), operations, receipts, notifications, the pages of
the applicant and of the officer, and the API."""


def init_app(app):
    from bando.applications import admissibility, api, facts, lifecycle  # noqa: F401
    from bando.applications.pages import applicant, officer

    app.register_blueprint(applicant.bp)
    app.register_blueprint(officer.bp)

    @app.template_global("lifecycle_actor_label")
    def actor_label(event):
        """Who acted, as the signed-in viewer may know it (see rules.actor_shown_to)."""
        from flask_login import current_user

        from bando.applications.rules import actor_shown_to

        return actor_shown_to(current_user, event)
