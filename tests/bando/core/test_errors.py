"""Error answers: a page in Italian or English with the status, what happened, what to do
and a link home, or JSON under /api/; never a trace. A database out of reach answers 503
with Retry-After (a real PostgreSQL URL that stops answering, no mock)."""

import contextlib
import logging
import socket
import threading
from html import unescape
from urllib.parse import urlsplit, urlunsplit

import pytest
from flask import abort
from sqlalchemy import text
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from werkzeug.exceptions import TooManyRequests

from bando import create_app
from bando.core.extensions import db
from bando.core.operations import OperationError
from tests.conftest import PG_URL, RequestClient
from tests.factories import create_edition

SECRET = "dettaglio-interno-segreto"

HEADINGS = {
    400: ("Richiesta non valida.", "Bad request."),
    401: ("Occorre accedere.", "You need to sign in."),
    403: ("Permessi insufficienti per questa pagina.", "You are not allowed to see this page."),
    404: ("Pagina non trovata.", "Page not found."),
    405: ("Operazione non consentita.", "Operation not allowed."),
    409: (
        "L'operazione è in conflitto con lo stato attuale.",
        "The operation conflicts with the current state.",
    ),
    413: ("Il file o la richiesta sono troppo grandi.", "The file or the request is too large."),
    422: ("I dati inviati non sono validi.", "The data sent are not valid."),
    429: ("Troppe richieste.", "Too many requests."),
    500: ("Errore interno.", "Internal error."),
    503: ("Servizio momentaneamente non disponibile.", "Service temporarily unavailable."),
}

# A sentence of each page that says what to do next, in both languages.
ADVICE = {
    400: ("ricaricarla e riprovare", "reload it and try again"),
    401: ("accedere con la propria utenza", "sign in with your account"),
    403: ("acceda con l'utenza che ne ha i permessi", "sign in with the right account"),
    404: ("controllare l'indirizzo", "Check the address"),
    405: ("usare i pulsanti e i moduli della pagina", "use the page's buttons and forms"),
    409: ("ricaricare la pagina e controllare", "reload the page and check"),
    413: ("al massimo 5 MB", "at most 5 MB"),
    422: ("correggere i campi segnalati", "correct the fields marked"),
    429: ("attendere qualche minuto", "wait a few minutes"),
    500: ("riprovare tra qualche minuto", "Try again in a few minutes"),
    503: ("riprovare tra qualche minuto", "Try again in a few minutes"),
}


@pytest.fixture
def failing(app):
    """/prova-errore/<code> and /api/v1/prova-errore/<code>: each answers that status the
    way the code does (abort, an exception the handlers meet, a bug)."""

    def fail(code):
        if code == 500:
            raise RuntimeError(SECRET)
        if code == 429:
            raise TooManyRequests(retry_after=120)
        if code == 405:
            abort(405, valid_methods=["GET"])
        abort(code, description=SECRET if code >= 500 else None)

    app.add_url_rule("/prova-errore/<int:code>", view_func=fail, methods=["GET", "POST"])
    app.add_url_rule(
        "/api/v1/prova-errore/<int:code>",
        endpoint="api_fail",
        view_func=fail,
        methods=["GET", "POST"],
    )
    return app


def assert_page(response, code, language):
    italian = language == "it"
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == code
    assert response.mimetype == "text/html"
    assert f'<html lang="{language}">' in html
    assert (f"Errore {code}" if italian else f"Error {code}") in html
    assert f"<h1>{HEADINGS[code][0 if italian else 1]}</h1>" in html
    assert ADVICE[code][0 if italian else 1] in html
    assert 'class="btn btn-primary" href="/"' in html  # the way home
    for leak in ("Traceback", SECRET, "RuntimeError", "werkzeug", "sqlalchemy"):
        assert leak not in html


@pytest.mark.parametrize("code", sorted(HEADINGS))
def test_every_error_is_a_page_in_italian_and_in_english(failing, client, code):
    response = client.get(f"/prova-errore/{code}")
    assert_page(response, code, "it")
    english = client.get(f"/prova-errore/{code}?lang=en")
    assert_page(english, code, "en")
    if code == 429:
        assert response.headers["Retry-After"] == "120"
    if code == 405:
        assert response.headers["Allow"] == "GET"
    if code == 503:
        assert response.headers["Retry-After"] == "30"


@pytest.mark.parametrize("code", sorted(HEADINGS))
def test_every_error_is_json_under_the_api(failing, client, code):
    response = client.get(f"/api/v1/prova-errore/{code}")
    assert response.status_code == code
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert isinstance(body["error"], str) and body["error"]
    assert SECRET not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_an_operations_409_always_names_its_refusal(app, client):
    """A 409 refused by an operation without a name for it still carries `code`, as the
    API's document promises of every 409; a named one keeps its name."""

    def refuse(named):
        raise OperationError(409, "in conflitto", code="already_done" if named else None)

    app.add_url_rule("/api/v1/prova-rifiuto/<int:named>", view_func=refuse)
    unnamed, named = client.get("/api/v1/prova-rifiuto/0"), client.get("/api/v1/prova-rifiuto/1")
    assert (unnamed.status_code, named.status_code) == (409, 409)
    assert unnamed.get_json() == {"error": "in conflitto", "code": "conflict"}
    assert named.get_json()["code"] == "already_done"
    assert OperationError(422, "non valido").code is None


def test_real_405_and_404_of_the_routing(client):
    response = client.delete("/")
    assert_page(response, 405, "it")
    assert "GET" in response.headers["Allow"]
    assert_page(client.get("/non-esiste"), 404, "it")


def test_a_bug_is_logged_for_the_staff_not_shown(failing, client, caplog):
    with caplog.at_level(logging.ERROR):
        assert_page(client.post("/prova-errore/500"), 500, "it")
    assert any(r.exc_info and SECRET in str(r.exc_info[1]) for r in caplog.records), (
        "the trace belongs in the log"
    )


def test_the_413_page_says_the_limits_in_megabytes(failing, client):
    failing.config.update(MAX_CONTENT_LENGTH=12 * 1024 * 1024, MAX_ATTACHMENT_BYTES=2621440)
    html = client.get("/prova-errore/413").get_data(as_text=True)
    assert "al massimo 2,5 MB" in html and "al massimo 12 MB" in html
    english = client.get("/prova-errore/413?lang=en").get_data(as_text=True)
    assert "at most 2.5 MB" in english and "at most 12 MB" in english


# --- the database out of reach ---------------------------------------------------------------


def closed_port() -> int:
    """A loopback port nothing listens on: connections to it are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def app_on(app, tmp_path, url):
    served = create_app(
        {
            **{
                key: app.config[key]
                for key in ("ARGON2", "BABEL_TRANSLATION_DIRECTORIES", "SECRET_KEY", "TESTING")
            },
            "WTF_CSRF_ENABLED": False,
            "SQLALCHEMY_DATABASE_URI": url,
        },
        instance_path=str(tmp_path / "unreachable-instance"),
    )
    served.test_client_class = RequestClient  # the API's 503 is in its document
    return served


def assert_unavailable(response, language="it"):
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    text = unescape(response.get_data(as_text=True))
    for leak in ("Traceback", "psycopg", "OperationalError", "127.0.0.1", "SELECT"):
        assert leak not in text
    if response.mimetype == "application/json":
        assert "retry later" in response.get_json()["error"]
    else:
        heading = HEADINGS[503][0 if language == "it" else 1]
        assert f"<h1>{heading}</h1>" in text
        assert f'<html lang="{language}">' in text


def test_a_database_that_refuses_connections_gives_503_pages_and_json(app, tmp_path, caplog):
    served = app_on(app, tmp_path, f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/x")
    client = served.test_client()
    with caplog.at_level(logging.WARNING):
        assert_unavailable(client.get("/"))
        assert_unavailable(client.get("/api/v1/editions"))
        assert_unavailable(client.post("/accedi", data={"email": "a@b.it", "password": "x"}))
        assert_unavailable(client.post("/api/v1/tokens", json={"email": "a@b.it", "password": "x"}))
        # Someone signed in: the page cannot ask the database who they are, and need not.
        with client.session_transaction() as session:
            session["_user_id"] = "1"
            session["_sid"] = "a-session-secret"  # bando.core.auth.SESSION_KEY
            session["lang"] = "it"
        assert_unavailable(client.get("/"))
        assert_unavailable(client.get("/domande"))
        assert_unavailable(client.get("/domande?lang=en"), "en")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert any("database unavailable" in r.getMessage() for r in caplog.records)
    with served.app_context():
        db.engine.dispose()


class Forwarder:
    """A TCP relay on loopback to PostgreSQL, to cut the database off and bring it back."""

    def __init__(self, target: tuple[str, int], port: int = 0):
        self.target = target
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # cut
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def cut(self):
        """The database disappears: the port closed, every open connection dropped."""
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (Linux)
        self.listener.close()
        for each in self.sockets:
            with contextlib.suppress(OSError):
                each.shutdown(socket.SHUT_RDWR)
            each.close()


def test_losing_the_database_gives_503_then_recovers(app, tmp_path, postgres_only, caplog):
    create_edition("cdq-raggiungibile")
    db.session.commit()
    url = urlsplit(PG_URL)
    relay = Forwarder((url.hostname, url.port or 5432))
    relayed = urlunsplit(url._replace(netloc=f"{url.username}@127.0.0.1:{relay.port}"))
    served = app_on(app, tmp_path, relayed)
    client = served.test_client()
    assert client.get("/api/v1/editions").status_code == 200
    assert client.get("/").status_code == 200

    relay.cut()
    with caplog.at_level(logging.WARNING):
        assert_unavailable(client.get("/api/v1/editions"))
        assert_unavailable(client.get("/"))
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []

    relay = Forwarder((url.hostname, url.port or 5432), port=relay.port)  # back
    assert "cdq-raggiungibile" in client.get("/api/v1/editions").get_data(as_text=True)
    assert client.get("/").status_code == 200
    relay.cut()
    with served.app_context():
        db.engine.dispose()


@pytest.mark.parametrize(
    "error",
    [
        InterfaceError("SELECT 1", {}, Exception("connection already closed")),
        DisconnectionError("connection invalidated"),
        OperationalError("SELECT 1", {}, Exception("server closed the connection")),
    ],
    ids=["interface", "disconnection", "operational"],
)
def test_every_kind_of_lost_connection_is_a_503(app, tmp_path, error, caplog):
    """The driver's closed connection, the pool's failed revival, the server gone: each a
    503 page (both languages) or JSON, one warning in the log, no trace."""

    def lose():
        raise error

    app.add_url_rule("/prova-connessione", view_func=lose)
    app.add_url_rule("/api/v1/prova-connessione", endpoint="api_lose", view_func=lose)
    client = app.test_client()
    with caplog.at_level(logging.WARNING):
        assert_unavailable(client.get("/prova-connessione"))
        assert_unavailable(client.get("/prova-connessione?lang=en"), "en")
        response = client.get("/api/v1/prova-connessione")
        assert_unavailable(response)
        assert response.mimetype == "application/json"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_a_sqlite_file_out_of_reach_gives_503_then_recovers(app, tmp_path, caplog):
    """The database file replaced by something SQLite cannot open (a disk unmounted, a
    restore in progress): 503; the file back: the next request is served."""
    if PG_URL:
        pytest.skip("SQLite only")
    create_edition("cdq-su-file")
    db.session.commit()
    path = tmp_path / "bando.sqlite3"
    assert db.engine.url.database == str(path)
    served = app_on(app, tmp_path, f"sqlite:///{path}")
    client = served.test_client()
    assert client.get("/api/v1/editions").status_code == 200
    with served.app_context():
        db.engine.dispose()  # the open connections would still read the moved file
    aside = tmp_path / "altrove.sqlite3"
    path.rename(aside)
    path.mkdir()  # what stands in its place cannot be opened as a database
    with caplog.at_level(logging.WARNING):
        assert_unavailable(client.get("/api/v1/editions"))
        assert_unavailable(client.get("/"))
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    path.rmdir()
    aside.rename(path)
    assert "cdq-su-file" in client.get("/api/v1/editions").get_data(as_text=True)
    assert client.get("/").status_code == 200
    with served.app_context():
        db.engine.dispose()


def test_connections_killed_by_the_server_are_replaced(app, tmp_path, postgres_only):
    """PostgreSQL restarted or an administrator ends every session (pg_terminate_backend):
    the pool's pre-ping notices the dead connections and the next request is served."""
    create_edition("cdq-riavviato")
    db.session.commit()
    served = app_on(app, tmp_path, PG_URL)
    client = served.test_client()
    for _ in range(2):
        assert client.get("/api/v1/editions").status_code == 200
        with served.app_context():
            assert db.engine.pool.checkedin() >= 1  # a pooled connection to be killed
        killed = db.session.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        db.session.commit()
        assert killed >= 1
        response = client.get("/api/v1/editions")
        assert response.status_code == 200
        assert "cdq-riavviato" in response.get_data(as_text=True)
        assert client.get("/").status_code == 200
    with served.app_context():
        db.engine.dispose()
