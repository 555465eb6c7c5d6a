"""Errors: JSON under /api/, a page in the reader's language elsewhere, never a trace.
Never a bare 500 for user input; a database out of reach is a 503 with Retry-After."""

from flask import current_app, g, jsonify, render_template, request
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from bando.core.extensions import db, login_manager
from bando.core.operations import OperationError
from bando.core.security import drain_request_body
from bando.core.transitions import ConcurrentChange, TransitionRefused

RETRY_AFTER_SECONDS = 30  # what a 503 asks the client to wait

# Each status: the page's heading and a sentence on what to do next.
PAGES = {
    400: (
        _l("Richiesta non valida."),
        _l(
            "La richiesta non è stata capita: tornare alla pagina precedente, ricaricarla e "
            "riprovare."
        ),
    ),
    401: (
        _l("Occorre accedere."),
        _l(
            "Questa pagina è per chi ha effettuato l'accesso: accedere con la propria utenza e "
            "riprovare."
        ),
    ),
    403: (
        _l("Permessi insufficienti per questa pagina."),
        _l("Questa pagina è riservata: chi deve vederla acceda con l'utenza che ne ha i permessi."),
    ),
    404: (
        _l("Pagina non trovata."),
        _l(
            "La pagina cercata non esiste o è stata spostata: controllare l'indirizzo oppure "
            "tornare all'elenco dei bandi."
        ),
    ),
    405: (
        _l("Operazione non consentita."),
        _l(
            "Questa pagina non si usa in questo modo: tornare indietro e usare i pulsanti e i "
            "moduli della pagina."
        ),
    ),
    409: (
        _l("L'operazione è in conflitto con lo stato attuale."),
        _l(
            "Nel frattempo i dati sono cambiati, oppure la pratica è passata a un'altra fase: "
            "ricaricare la pagina e controllare prima di riprovare."
        ),
    ),
    413: (_l("Il file o la richiesta sono troppo grandi."), None),  # the limits: too_large()
    422: (
        _l("I dati inviati non sono validi."),
        _l("Tornare al modulo, correggere i campi segnalati e inviarlo di nuovo."),
    ),
    429: (
        _l("Troppe richieste."),
        _l("Sono arrivati troppi tentativi in poco tempo: attendere qualche minuto e riprovare."),
    ),
    500: (
        _l("Errore interno."),
        _l("Qualcosa non ha funzionato da parte nostra: riprovare tra qualche minuto."),
    ),
    503: (
        _l("Servizio momentaneamente non disponibile."),
        _l(
            "Il sito non riesce a raggiungere i suoi dati in questo momento: riprovare tra "
            "qualche minuto e, se si stava inviando un modulo, controllare che sia stato salvato."
        ),
    ),
}

JSON_SERVER_ERRORS = {
    500: "internal error",
    503: "the service is unavailable: retry later",
}

# Headers an HTTP error carries that the answer must keep (Allow of a 405, Retry-After…).
KEPT_HEADERS = {"allow", "retry-after", "www-authenticate"}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def megabytes(size: int) -> str:
    return format_decimal(size / (1024 * 1024), format="#,##0.#")


def page(code: int, message=None, detail=None):
    """The error page of `code`: its heading (or `message`), what to do, a link home."""
    title, default_detail = PAGES.get(code, PAGES[500] if code >= 500 else PAGES[400])
    if code == 413:
        default_detail = too_large_detail()
    try:
        html = render_template(
            "error.html", code=code, message=message or title, detail=detail or default_detail
        )
    except Exception:  # the page itself failed (the layout needs what is broken): plain text
        current_app.logger.exception("error page %s not rendered", code)
        html = f"<!doctype html><title>{code}</title><h1>{code}</h1><p><a href='/'>bando</a></p>"
    return html, code


def too_large_detail() -> str:
    config = current_app.config
    return _(
        "Ogni allegato può pesare al massimo %(attachment)s MB e un invio, con tutti i suoi "
        "file, al massimo %(request)s MB. Torna indietro e scegli un file più piccolo.",
        attachment=megabytes(config["MAX_ATTACHMENT_BYTES"]),
        request=megabytes(config["MAX_CONTENT_LENGTH"]),
    )


def _rollback():
    try:
        db.session.rollback()
    except Exception:  # the connection may be gone already: nothing left to undo
        current_app.logger.warning("rollback failed", exc_info=False)


def init_app(app):
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        if wants_json():
            return jsonify(error="CSRF token missing or invalid"), 400
        message = _l("La sessione del modulo è scaduta: ricaricare la pagina e riprovare.")
        return page(400, message)

    @app.errorhandler(HTTPException)
    def http_error(error):
        code = error.code or 500
        if code == 413:
            # Read what the client is still sending, or it gets a reset, not this answer.
            drain_request_body(app)
        if wants_json():
            if code == 413:
                config = app.config
                description = (
                    f"the request is larger than {megabytes(config['MAX_CONTENT_LENGTH'])} MB "
                    f"(one attachment at most {megabytes(config['MAX_ATTACHMENT_BYTES'])} MB)"
                )
            elif code >= 500:  # what went wrong inside stays in the log
                description = JSON_SERVER_ERRORS.get(code, JSON_SERVER_ERRORS[500])
            else:
                description = error.description or error.name
            # Every 409 names its refusal for programs; a bare one says only "conflict".
            response = jsonify(error=description, **({"code": "conflict"} if code == 409 else {}))
            response.status_code = code
        else:
            response = app.make_response(page(code))
        for name, value in error.get_headers():
            if name.lower() in KEPT_HEADERS:
                response.headers[name] = value
        if code == 503:
            response.headers.setdefault("Retry-After", str(RETRY_AFTER_SECONDS))
        return response

    @app.errorhandler(OperationError)
    def operation_refused(error: OperationError):
        """An operation's refusal no view caught: its status and message, nothing kept."""
        db.session.rollback()
        if wants_json():
            body = {"error": error.message}
            if error.errors:
                body["errors"] = error.errors
            if error.code:
                body["code"] = error.code
            return jsonify(body), error.status
        return page(error.status, error.message)

    @app.errorhandler(TransitionRefused)
    def refused(error: TransitionRefused):
        """A refused transition anywhere: a 409 with the machine's reason and code."""
        db.session.rollback()
        if wants_json():
            body = {"error": error.reason, "code": error.code}
            if error.errors:
                body["errors"] = error.errors
            return jsonify(body), 409
        return page(409, _("Operazione non consentita: %(reason)s.", reason=error.reason))

    @app.errorhandler(StaleDataError)
    def stale(error):
        """A write based on a stale read, outside fire(): the same 409, nothing kept."""
        db.session.rollback()
        return refused(ConcurrentChange())

    def unavailable(error):
        """The database cannot be reached (refused, dropped, pool exhausted): a 503 the
        client may retry, nothing kept, one line in the log."""
        _rollback()
        cause = getattr(error, "orig", None) or error
        first_line = (str(cause).strip().splitlines() or [""])[0]
        app.logger.warning("database unavailable: %s: %s", type(cause).__name__, first_line)
        if wants_json():
            response = jsonify(error="the service cannot reach its database: retry later")
            response.status_code = 503
        else:
            # The page must not ask the database who is signed in: it is anonymous.
            if "_login_user" not in g:
                g._login_user = login_manager.anonymous_user()
            response = app.make_response(page(503))
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(DBAPIError)
    def database_error(error: DBAPIError):
        # InterfaceError: the driver's connection object is closed or broken (psycopg
        # raises it when the server went away between two statements).
        if isinstance(error, OperationalError | InterfaceError) or error.connection_invalidated:
            return unavailable(error)
        return unexpected(error)

    # The pool gave up on a connection it could not revive, or waited too long for one.
    app.register_error_handler(DisconnectionError, unavailable)
    app.register_error_handler(PoolTimeout, unavailable)

    @app.errorhandler(Exception)
    def unexpected(error):
        _rollback()
        app.logger.exception("unexpected error")
        if wants_json():
            return jsonify(error=JSON_SERVER_ERRORS[500]), 500
        return page(500)
