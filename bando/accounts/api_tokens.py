"""POST /api/v1/tokens: email and password for a bearer token."""

from flask import current_app, jsonify

from bando.accounts.operations import authenticate, issue_token
from bando.core.api import ApiError, bp, json_body
from bando.core.extensions import db


@bp.post("/tokens")
def create_token():
    data = json_body()
    email, password = data.get("email"), data.get("password")
    errors = {}
    for field, value in (("email", email), ("password", password)):
        if not isinstance(value, str) or not value:
            errors[field] = ["required"]
    if errors:
        raise ApiError(422, "email and password are required", errors)
    user = authenticate(email, password)
    if user is None:
        raise ApiError(401, "wrong email or password")
    token = issue_token(user, current_app.config["API_TOKEN_HOURS"])
    db.session.commit()
    return jsonify(token=token, role=user.role), 201
