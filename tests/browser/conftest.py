"""A real Chromium (Debian's, driven by Playwright) against a live bando server.

The server is a second create_app() on the database of the `app` fixture, with CSRF on as
in production, served on a free port of 127.0.0.1 from a background thread. Every test
that needs Chromium skips with a reason where /usr/bin/chromium is missing (fails instead
when BANDO_REQUIRE_BROWSER is set, as .ci/run does).
"""

import os
import threading
from pathlib import Path

import pytest
from flask import request
from werkzeug.serving import WSGIRequestHandler, make_server

from bando import create_app
from bando.core.extensions import db

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000


KIT = Path(__file__).resolve().parents[2] / "bando/static/vendor/bootstrap-italia/css"


@pytest.fixture(scope="session")
def chromium():
    # CI sets BANDO_REQUIRE_BROWSER=1: there a missing browser fails, never skips.
    missing = pytest.fail if os.environ.get("BANDO_REQUIRE_BROWSER") else pytest.skip
    if not os.access(CHROMIUM, os.X_OK):
        missing(f"needs Debian's Chromium at {CHROMIUM} (`make browser` installs it)")
    if not (KIT / "bootstrap-italia.min.css").exists():
        missing("needs the Bootstrap Italia kit in bando/static/vendor (`make static`)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class QuietHandler(WSGIRequestHandler):
    """No access log: the browser fetches every asset, which would bury the test output."""

    def log_request(self, *args, **kwargs):
        pass


class LiveServer:
    def __init__(self, app):
        self.app = app
        self.server_errors: list[str] = []

        @app.after_request
        def _remember_server_errors(response):
            if response.status_code >= 500:
                self.server_errors.append(f"{response.status_code} {request.path}")
            return response

        self._server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()
        with self.app.app_context():
            db.engine.dispose()


def serve(app, tmp_path, **settings):
    """A second create_app() on the database of `app`, CSRF on, with `settings` on top;
    the LiveServer to enter."""
    served = create_app(
        {
            **{key: app.config[key] for key in ("SQLALCHEMY_DATABASE_URI", "ARGON2")},
            "BABEL_TRANSLATION_DIRECTORIES": app.config["BABEL_TRANSLATION_DIRECTORIES"],
            "SECRET_KEY": "browser-tests-only-key-not-for-real-use",
            "WTF_CSRF_ENABLED": True,
            "MAIL_SERVER": None,
            **settings,
        },
        instance_path=str(tmp_path / "served-instance"),
    )
    assert served.config["SQLALCHEMY_DATABASE_URI"] == app.config["SQLALCHEMY_DATABASE_URI"]
    return LiveServer(served)


@pytest.fixture
def live_server(app, tmp_path):
    """The site at `live_server.url`, on the same database as `app`, CSRF enabled.

    The test's own session (the `app` fixture's) must commit before the browser reads what
    it wrote, and end its transaction before the browser writes (SQLite locks the file).
    """
    with serve(app, tmp_path) as server:
        yield server
    # Nothing a person does in these pages may end in a server error.
    assert not server.server_errors, server.server_errors


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory):
    """Where screenshots go: $BANDO_SCREENSHOTS if set, else a pytest temp folder."""
    chosen = os.environ.get("BANDO_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser_context(chromium, live_server):
    """Opens browser contexts (one per person) on the live server; closes them after."""
    contexts = []

    def new_context(**options):
        context = chromium.new_context(
            base_url=live_server.url,
            locale="it-IT",
            viewport=options.pop("viewport", {"width": 1280, "height": 900}),  # or a phone's
            **options,
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield new_context
    for context in contexts:
        context.close()


@pytest.fixture
def shot(screenshot_dir, request):
    """shot(page, name): a full-page screenshot named after the test; returns its path."""

    def take(page, name):
        path = screenshot_dir / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def demo(runner):
    """The shipped calls (`bando init`) and the demo data set (`bando demo`), committed."""
    for command in ("init", "demo"):
        result = runner.invoke(args=[command])
        assert result.exit_code == 0, result.output
    db.session.commit()
