"""HTTP API v1 (JSON). Same rules as the pages; errors are {"error", "errors"}.

Each capability declares its endpoints with `endpoint(...)`: one declaration gives the
Flask route, the bearer-token check, the validation of the body by its schema and the
entry of the OpenAPI document (bando.core.openapi), so the document cannot drift from
what the server does.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps

from flask import Blueprint, Response, abort, current_app, g, jsonify, request
from pydantic import BaseModel, ValidationError
from pydantic_core import from_json
from werkzeug.exceptions import HTTPException

from bando.core.auth import user_by_token
from bando.core.schemas import field_errors

bp = Blueprint("api", __name__, url_prefix="/api/v1")


THROTTLED = "too many attempts: wait as Retry-After says (code too_many_attempts)"


class ApiError(HTTPException):
    """Raised anywhere in an API view; rendered as {"error": ..., "errors": {...}}."""

    def __init__(self, status: int, error: str, errors: dict | None = None, *, refusal=None):
        super().__init__(description=error)
        self.code = status
        self.errors = errors or {}
        # The body's "code", naming the refusal: every 409 has one.
        self.refusal = refusal or ("conflict" if status == 409 else None)


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    body = {"error": error.description}
    if error.errors:
        body["errors"] = error.errors
    if error.refusal:
        body["code"] = error.refusal
    return jsonify(body), error.code


def current_api_user():
    """The user of the bearer token, or None (looked up once per request)."""
    if "api_user" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        g.api_user = user_by_token(token.strip()) if scheme.lower() == "bearer" and token else None
    return g.api_user


def _authenticated(roles: tuple[str, ...]):
    user = current_api_user()
    if user is None:
        raise ApiError(401, "authentication required: Authorization: Bearer <token>")
    if roles and user.role not in roles:
        raise ApiError(403, f"this needs the role {' or '.join(roles)}")
    return user


def _raw_body(required: bool) -> bytes:
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise ApiError(400, "the body must be a JSON object (Content-Type: application/json)")
        return b"{}"
    if not request.is_json:
        raise ApiError(400, "the body must be a JSON object (Content-Type: application/json)")
    return raw


def json_object(*, required: bool = True) -> dict:
    """The request's JSON object, read by pydantic's JSON reader (bounded nesting), for an
    operation that validates it itself; 400 for anything else."""
    try:
        data = from_json(_raw_body(required))
    except ValueError:
        raise ApiError(400, "the body must be a JSON object: JSON non valido") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object")
    return data


def parse_body(schema: type[BaseModel], *, required: bool = True):
    """The request's JSON body validated by `schema`; an empty body is an empty object
    when the body is optional. 400 for what is not a JSON object, 422 by field."""
    raw = _raw_body(required)
    try:
        # Parsed by pydantic's own JSON reader: bounded nesting, exact types.
        return schema.model_validate_json(raw)
    except ValidationError as error:
        problems = field_errors(error)
        kinds = {e["type"] for e in error.errors() if not e["loc"]}
        if kinds & {"json_invalid", "model_type", "model_attributes_type", "recursion_loop"}:
            raise ApiError(400, "the body must be a JSON object", problems) from None
        raise ApiError(422, "invalid data", problems) from None


def parse_query(schema: type[BaseModel]):
    """The query string validated by `schema` (each parameter once; the first one counts
    when repeated); 422 by parameter for a value it does not take."""
    try:
        return schema.model_validate(request.args.to_dict(flat=True))
    except ValidationError as error:
        raise ApiError(422, "invalid query parameters", field_errors(error)) from None


def query_parameters(schema: type[BaseModel]) -> list[dict]:
    """The OpenAPI parameters (in: query) of a flat schema of optional fields."""
    properties = schema.model_json_schema()["properties"]
    parameters = []
    for name in schema.model_fields:
        spec = dict(properties[name])
        description = spec.pop("description", None)
        spec.pop("title", None)
        # A query string cannot say null: an optional field is simply left out.
        branches = [b for b in spec.pop("anyOf", []) if b.get("type") != "null"]
        if len(branches) == 1:
            spec.update(branches[0])
        if spec.get("default", 0) is None:
            del spec["default"]
        parameter = {"name": name, "in": "query", "required": False, "schema": spec}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


# --- declaring an endpoint --------------------------------------------------------------


@dataclass
class Operation:
    """One method of one path, as the OpenAPI document describes it."""

    method: str
    path: str  # OpenAPI form: /applications/{application_id}
    summary: str
    tag: str
    roles: tuple[str, ...] | None  # None: public; (): any signed-in user
    body: type[BaseModel] | None
    body_required: bool
    multipart: dict | None
    responses: dict[int, tuple[str, object]]  # status → (description, schema or media)
    parameters: list[dict] = field(default_factory=list)


OPERATIONS: list[Operation] = []

_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def _openapi_path(rule: str) -> tuple[str, list[dict]]:
    parameters = []

    def replace(match):
        converter, name = match.group(1), match.group(2)
        schema = {"type": "integer", "minimum": 1} if converter == "int" else {"type": "string"}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    return _CONVERTER.sub(replace, rule), parameters


def endpoint(
    method: str,
    rule: str,
    *,
    summary: str,
    tag: str,
    roles: tuple[str, ...] | None = (),
    body: type[BaseModel] | None = None,
    body_required: bool = True,
    validate: bool = True,
    multipart: dict | None = None,
    ok: tuple[int, str, object],
    errors: dict[int, str] | None = None,
    headers: tuple[dict, ...] = (),
    query: type[BaseModel] | None = None,
):
    """Declares an endpoint of the API.

    `roles`: None for a public endpoint, () for any signed-in user, or the roles allowed
    (the view then gets the user as its first argument). `body`: the schema of the JSON
    body (the view gets it as `body=`; with validate=False, the JSON object itself, for an
    operation that reports the schema's problems together with the rules'). `ok`: (status,
    description, schema or media type dict) of success. `errors`: the other statuses the
    view may answer, with why (or a (why, schema) pair for another success); 400, 401,
    403, 404, 413 and 422 are added where the declaration implies them, 503 (database out
    of reach) everywhere. `headers`: the request headers the view reads, as OpenAPI
    parameters (e.g. Idempotency-Key). `query`: the schema of the query string (optional
    fields only; the view gets it validated as `query=`).
    """
    path, parameters = _openapi_path(rule)
    path_parameters = bool(parameters)
    parameters += headers
    if query is not None:
        parameters += query_parameters(query)
    responses: dict[int, tuple[str, object]] = {ok[0]: (ok[1], ok[2])}
    implied = {}
    if roles is not None:
        implied[401] = "no valid token"
        if roles:
            implied[403] = f"only for: {', '.join(roles)}"
    if body is not None:
        implied[400] = "the body is not a JSON object"
        implied[422] = "invalid data, messages by field"
    if headers:
        implied[400] = "a malformed header"
        implied[422] = "invalid data, messages by field"
    if query is not None:
        implied[422] = "invalid data, messages by field"
    if path_parameters or headers:
        implied[404] = "not found, or not visible to this user"
    if body is not None or multipart is not None:
        implied[413] = "the body is larger than the server accepts"
    implied[503] = "the database cannot be reached: retry after Retry-After seconds"
    for status, description in {**implied, **(errors or {})}.items():
        # Another success may come with its schema: (description, schema).
        responses[status] = description if isinstance(description, tuple) else (description, None)

    def decorator(view: Callable) -> Callable:
        if getattr(view, "limited_by", None):  # under a shared limit (bando.core.ratelimit)
            responses.setdefault(429, (THROTTLED, None))

        @wraps(view)
        def handler(**kwargs):
            args = []
            if roles is not None:
                args.append(_authenticated(roles))
            if query is not None:
                kwargs["query"] = parse_query(query)
            if body is not None and validate:
                kwargs["body"] = parse_body(body, required=body_required)
            elif body is not None:
                kwargs["body"] = json_object(required=body_required)
            result = view(*args, **kwargs)
            if isinstance(result, Response):
                return result
            status = ok[0]
            if isinstance(result, tuple):
                result, status = result
            if isinstance(result, BaseModel):
                return jsonify(result.model_dump(mode="json", by_alias=True)), status
            return jsonify(result), status

        bp.add_url_rule(rule, endpoint=view.__name__, view_func=handler, methods=[method])
        OPERATIONS.append(
            Operation(
                method=method.lower(),
                path=path,
                summary=summary,
                tag=tag,
                roles=roles,
                body=body,
                body_required=body_required,
                multipart=multipart,
                responses=responses,
                parameters=parameters,
            )
        )
        return view

    return decorator


def token_required(*roles):
    """For a view outside `endpoint`: gets the authenticated user as its first argument."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            return view(_authenticated(roles), *args, **kwargs)

        return wrapped

    return decorator


@bp.route("/<path:anything>", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
def not_found(anything):
    # This rule takes every method of every path: a path that exists with other methods
    # answers 405 with them, as the routing would without it.
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST", "PATCH", "PUT", "DELETE"):
        try:
            endpoint_name, _ = adapter.match(method=method)
        except HTTPException:
            continue
        if endpoint_name != request.endpoint:
            allowed.append(method)
    if allowed:
        abort(405, valid_methods=allowed)
    abort(404, description=f"no such endpoint: /api/v1/{anything}")
