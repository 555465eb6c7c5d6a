"""Language: Italian first; English when chosen from the header (kept in the session)."""

from flask import request, session
from flask_babel import refresh as refresh_locale
from flask_login import current_user

from bando.core.extensions import babel


def select_locale():
    languages = ("it", "en")
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if current_user and getattr(current_user, "locale", None) in languages:
        return current_user.locale
    # Italian first: only an explicit choice switches to English.
    return "it"


def init_app(app):
    babel.init_app(app, locale_selector=select_locale, default_timezone="Europe/Rome")

    @app.before_request
    def _remember_language():
        lang = request.args.get("lang")
        if lang in app.config["LANGUAGES"]:
            session["lang"] = lang
        # Flask-Babel caches the locale on the app context, which an outer context (tests,
        # scripts) shares between requests: choose it afresh for each request.
        refresh_locale()
