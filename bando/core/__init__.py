"""What every capability shares: configuration, database types and extensions, sign-in,
errors, the audit chain, the outbox, language and formatting, time, the API blueprint
with its OpenAPI document, and the command line. Core imports no capability."""

import os

from flask import Flask

from bando.core import config as config_module
from bando.core.extensions import csrf, db, login_manager, migrate

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")


def make_app(name, config, instance_path, template_folder) -> Flask:
    """The Flask app with its configuration (defaults, instance/config.py, environment,
    then `config`) and the shared services; the capabilities are added by create_app."""
    app = Flask(
        name,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=template_folder,
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
    config_module.check_secret_key(app.config["SECRET_KEY"])
    if level := str(app.config.get("LOG_LEVEL") or "").strip().upper():
        app.logger.setLevel(int(level) if level.isdigit() else level)  # "INFO" or 20

    from bando.core import auth, cli, errors, formatting, i18n, labels, layout, mail, security

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS)
    login_manager.init_app(app)
    csrf.init_app(app)
    for module in (i18n, formatting, labels, layout, auth, mail, errors, cli):
        module.init_app(app)
    security.init_app(app)  # last: its proxy handling wraps the whole WSGI app
    return app


def register_api(app):
    """The API blueprint, once every capability has added its routes to it."""
    from bando.core import openapi  # noqa: F401  (serves the document)
    from bando.core.api import bp

    app.register_blueprint(bp)
    csrf.exempt(bp)  # the API authenticates with bearer tokens, not cookies
