"""HTTP API v1 (JSON). Same rules as the pages; errors are {"error", "errors"}."""

from functools import wraps

from flask import Blueprint, abort, g, jsonify, request
from werkzeug.exceptions import HTTPException

from bando.core.auth import user_by_token

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class ApiError(HTTPException):
    """Raised anywhere in an API view; rendered as {"error": ..., "errors": {...}}."""

    def __init__(self, status: int, error: str, errors: dict | None = None):
        super().__init__(description=error)
        self.code = status
        self.errors = errors or {}


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    body = {"error": error.description}
    if error.errors:
        body["errors"] = error.errors
    return jsonify(body), error.code


def json_body() -> dict:
    """The request's JSON object, or a 400 that says what is wrong with it."""
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "the body must be a JSON object (Content-Type: application/json)")
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object")
    return data


def current_api_user():
    """The user of the bearer token, or None (looked up once per request)."""
    if "api_user" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        g.api_user = user_by_token(token.strip()) if scheme.lower() == "bearer" and token else None
    return g.api_user


def token_required(*roles):
    """The view gets the authenticated user as its first argument; 401 or 403 otherwise."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            user = current_api_user()
            if user is None:
                raise ApiError(401, "authentication required: Authorization: Bearer <token>")
            if roles and user.role not in roles:
                raise ApiError(403, f"this needs the role {' or '.join(roles)}")
            return view(user, *args, **kwargs)

        return wrapped

    return decorator


@bp.route("/<path:anything>", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
def not_found(anything):
    abort(404, description=f"no such endpoint: /api/v1/{anything}")
