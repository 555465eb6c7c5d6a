"""Errors: JSON under /api/, an Italian page elsewhere. Never a bare 500 for user input."""

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from bando.core.extensions import db
from bando.core.operations import OperationError
from bando.core.transitions import ConcurrentChange, TransitionRefused

PAGE_MESSAGES = {
    400: _l("Richiesta non valida."),
    401: _l("Occorre accedere."),
    403: _l("Non hai i permessi per questa pagina."),
    404: _l("Pagina non trovata."),
    405: _l("Operazione non consentita."),
    409: _l("L'operazione è in conflitto con lo stato attuale."),
    413: _l("Il file o la richiesta sono troppo grandi."),
    422: _l("I dati inviati non sono validi."),
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def init_app(app):
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        if wants_json():
            return jsonify(error="CSRF token missing or invalid"), 400
        message = _l("La sessione del modulo è scaduta: ricarica la pagina e riprova.")
        return render_template("error.html", code=400, message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(error):
        code = error.code or 500
        if wants_json():
            return jsonify(error=error.description or error.name), code
        message = PAGE_MESSAGES.get(code, error.name)
        return render_template("error.html", code=code, message=message), code

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
        return render_template("error.html", code=error.status, message=error.message), (
            error.status
        )

    @app.errorhandler(TransitionRefused)
    def refused(error: TransitionRefused):
        """A refused transition anywhere: a 409 with the machine's reason and code."""
        db.session.rollback()
        if wants_json():
            body = {"error": error.reason, "code": error.code}
            if error.errors:
                body["errors"] = error.errors
            return jsonify(body), 409
        message = _("Operazione non consentita: %(reason)s.", reason=error.reason)
        return render_template("error.html", code=409, message=message), 409

    @app.errorhandler(StaleDataError)
    def stale(error):
        """A write based on a stale read, outside fire(): the same 409, nothing kept."""
        db.session.rollback()
        return refused(ConcurrentChange())

    @app.errorhandler(Exception)
    def unexpected(error):
        db.session.rollback()
        app.logger.exception("unexpected error")
        if wants_json():
            return jsonify(error="internal error"), 500
        return render_template("error.html", code=500, message=_l("Errore interno.")), 500
