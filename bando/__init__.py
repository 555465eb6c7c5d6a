"""bando: a workflow engine for public grant calls."""

import os

from flask import Flask, request, session
from flask_babel import refresh as refresh_locale
from flask_login import current_user

from . import config as config_module
from .extensions import babel, csrf, db, login_manager, migrate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def select_locale():
    languages = ("it", "en")
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if current_user and getattr(current_user, "locale", None) in languages:
        return current_user.locale
    # Italian first: only an explicit choice switches to English.
    return "it"


def create_app(config=None, instance_path=None):
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=os.path.join(ROOT, "templates"),
    )
    app.config.from_object(config_module.Defaults)
    app.config.from_pyfile("config.py", silent=True)
    for key in config_module.ENV_KEYS:
        if key in os.environ:
            app.config[key] = os.environ[key]
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", config_module.database_url(app.instance_path))
    if config:
        app.config.update(config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config_module.instance_secret(app.instance_path)

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "migrations"))
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_timezone="Europe/Rome")
    csrf.init_app(app)

    from . import auth, formatting, layout, mail, models  # noqa: F401  (models register their tables)

    formatting.init_app(app)
    layout.init_app(app)
    auth.init_app(app)
    mail.init_app(app)

    from .api import bp as api_bp
    from .applicant import bp as applicant_bp
    from .errors import init_app as init_errors
    from .officer import bp as officer_bp
    from .public import bp as public_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(applicant_bp)
    app.register_blueprint(officer_bp)
    csrf.exempt(api_bp)  # the API authenticates with bearer tokens, not cookies
    init_errors(app)

    from .cli import register

    register(app)

    @app.before_request
    def _remember_language():
        lang = request.args.get("lang")
        if lang in app.config["LANGUAGES"]:
            session["lang"] = lang
        # Flask-Babel caches the locale on the app context, which an outer context (tests,
        # scripts) shares between requests: choose it afresh for each request.
        refresh_locale()

    return app
