"""Idempotency-Key: a client that did not get the answer (a timeout, a dropped connection,
a server killed mid-request) sends the same request again with the same key, and gets
the first answer instead of a second submission or payment.

The answer is stored in the same transaction as the work it reports, so either both are
there or neither: a retry after a crash either replays the answer or does the work, never
half of it. Only successful answers are kept: a refused request may be corrected and sent
again with the same key. Keys belong to the user who sent them.
"""

import hashlib
import json
import re
from collections.abc import Callable

from flask import Response, request
from pydantic import BaseModel
from sqlalchemy import select

from bando.core.api import ApiError
from bando.core.extensions import db
from bando.core.models import IdempotentRequest
from bando.core.operations import OperationError, commit
from bando.core.transitions import TransitionRefused

HEADER = "Idempotency-Key"
# Visible ASCII (a UUID, a ULID, a client's own counter…), as the IETF draft suggests.
_KEY = re.compile(r"[\x21-\x7e]{1,100}")

# For the OpenAPI document of an endpoint that honours the header.
PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Any unique string (e.g. a UUID) chosen by the client: a retry with the same key "
        "and the same request answers as the first time, without doing the work again"
    ),
    "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,100}$"},
}
REUSED = "the Idempotency-Key was used for a different request"


def idempotency_key() -> str | None:
    """The request's Idempotency-Key, None without one; 400 for a malformed one."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not _KEY.fullmatch(key):
        raise ApiError(
            400,
            f"{HEADER} must be 1 to 100 visible ASCII characters",
            {HEADER: ["1-100 visible ASCII characters"]},
        )
    return key


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), request.get_data(cache=True)):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def replay(user, key: str) -> Response | None:
    """The answer kept for this user's key, or None; 422 when the key was used for another
    request (another path or body)."""
    kept = db.session.scalar(
        select(IdempotentRequest).where(
            IdempotentRequest.user_id == user.id, IdempotentRequest.key == key
        )
    )
    if kept is None:
        return None
    if kept.fingerprint != _fingerprint():
        raise ApiError(422, REUSED, {HEADER: [REUSED]})
    response = Response(kept.body, status=kept.status, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def remember(user, key: str, status: int, answer) -> None:
    """Adds the answer to the unit of work (committed with it)."""
    if isinstance(answer, BaseModel):
        answer = answer.model_dump(mode="json", by_alias=True)
    db.session.add(
        IdempotentRequest(
            user_id=user.id,
            key=key,
            fingerprint=_fingerprint(),
            status=status,
            body=json.dumps(answer, ensure_ascii=False, separators=(",", ":")),
        )
    )


def once(user, work: Callable[[], object], status: int = 200):
    """Runs `work` (which flushes, never commits) and commits it; with an Idempotency-Key,
    at most once per key: a retry, even one racing the first request, gets the first
    answer. Returns what an `endpoint` view returns."""
    key = idempotency_key()
    if key is None:
        answer = work()
        commit()
        return answer, status
    if (kept := replay(user, key)) is not None:
        return kept
    try:
        answer = work()
        remember(user, key, status, answer)
        commit()
    except (OperationError, TransitionRefused):
        # Refused, perhaps because the same request sent a moment ago won (the state moved
        # on, or its key row is already there): its answer, if it committed.
        db.session.rollback()
        if (kept := replay(user, key)) is not None:
            return kept
        raise
    return answer, status
