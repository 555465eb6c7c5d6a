"""The floor of a submission: the statements the design asks of one, in their plainest
form (SQLAlchemy Core text, no ORM, no framework beyond Flask), on tables of their own.

One request: the token's user, the application, the call's protocol counter bumped (its
row lock, held to the commit, as bando's), the application updated, the message queued,
the audit chain's head locked, the event inserted and the head moved, the commit. What it
leaves out of bando's request: the completeness checks' reads, the workflow machine, the
mail sent after the commit. Served by gunicorn as bando is (`benchmarks.floor:create_app()`),
on the database named by BENCH_FLOOR_DATABASE_URL: beside bando's rate it shows how much
of the gap to the bare insert the design's own writes and locks explain."""

import hashlib
import json
import os
from datetime import UTC, datetime

from flask import Flask, jsonify, request
from sqlalchemy import create_engine, text

SCHEMA = """
CREATE TABLE floor_user (id serial PRIMARY KEY, email text NOT NULL, organisation int);
CREATE TABLE floor_token (sha256 text PRIMARY KEY, user_id int NOT NULL);
CREATE TABLE floor_edition (id serial PRIMARY KEY, state text, counter int, prefix text);
CREATE TABLE floor_application (id serial PRIMARY KEY, edition_id int, organisation int,
    state text, title text, protocol text, submitted_at timestamptz);
CREATE TABLE floor_notification (id serial PRIMARY KEY, to_address text, subject text,
    body text, created_at timestamptz, sent_at timestamptz);
CREATE TABLE floor_audit_head (id int PRIMARY KEY, last_hash text, count int);
CREATE TABLE floor_audit_event (id serial PRIMARY KEY, application_id int, payload text,
    prev_hash text, hash text)
"""

USER = text(
    "SELECT u.id, u.email, u.organisation FROM floor_token t "
    "JOIN floor_user u ON u.id = t.user_id WHERE t.sha256 = :sha256"
)
APPLICATION = text(
    "SELECT id, edition_id, organisation, state, title FROM floor_application WHERE id = :id"
)
PROTOCOL = text(
    "UPDATE floor_edition SET counter = counter + 1 WHERE id = :id AND state = 'open' "
    "RETURNING counter, prefix"
)
SUBMITTED = text(
    "UPDATE floor_application SET state = 'submitted', protocol = :protocol, "
    "submitted_at = :at WHERE id = :id"
)
QUEUED = text(
    "INSERT INTO floor_notification (to_address, subject, body, created_at) "
    "VALUES (:to, :subject, :body, :at)"
)
HEAD = text("SELECT last_hash FROM floor_audit_head WHERE id = 1 FOR UPDATE")
EVENT = text(
    "INSERT INTO floor_audit_event (application_id, payload, prev_hash, hash) "
    "VALUES (:id, :payload, :prev, :hash)"
)
MOVED = text("UPDATE floor_audit_head SET last_hash = :hash, count = count + 1 WHERE id = 1")


def create_app(database_url=None):
    app = Flask(__name__)
    engine = create_engine(
        database_url or os.environ["BENCH_FLOOR_DATABASE_URL"], pool_pre_ping=True
    )

    @app.get("/ping")
    def ping():
        return jsonify(ok=True)

    @app.post("/applications/<int:application_id>/submit")
    def submit(application_id):
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        sha256 = hashlib.sha256(token.encode()).hexdigest()
        with engine.begin() as connection:
            user = connection.execute(USER, {"sha256": sha256}).one_or_none()
            application = connection.execute(APPLICATION, {"id": application_id}).one_or_none()
            if user is None or application is None or application.organisation != user.organisation:
                return jsonify(error="not found"), 404
            if application.state != "draft":
                return jsonify(error="already sent", code="invalid_state"), 409
            counter = connection.execute(PROTOCOL, {"id": application.edition_id}).one()
            protocol = f"{counter.prefix}/{counter.counter:04d}"
            now = datetime.now(UTC)
            connection.execute(SUBMITTED, {"protocol": protocol, "at": now, "id": application_id})
            connection.execute(
                QUEUED,
                {
                    "to": user.email,
                    "subject": f"Domanda {protocol} ricevuta",
                    "body": f"La domanda «{application.title}» ha il protocollo {protocol}.",
                    "at": now,
                },
            )
            prev = connection.execute(HEAD).scalar_one()
            payload = json.dumps(
                {
                    "application": application_id,
                    "to": "submitted",
                    "protocol": protocol,
                    "at": now.isoformat(),
                },
                sort_keys=True,
            )
            digest = hashlib.sha256(f"{prev}{payload}".encode()).hexdigest()
            connection.execute(
                EVENT, {"id": application_id, "payload": payload, "prev": prev, "hash": digest}
            )
            connection.execute(MOVED, {"hash": digest})
        return jsonify(state="submitted", protocol=protocol)

    return app


def seed(database_url: str, count: int) -> list[tuple[int, str]]:
    """The tables, one open call and `count` drafts each of its own organisation, with a
    token of its user: [(application id, token)]."""
    engine = create_engine(database_url)
    drafts = []
    with engine.begin() as connection:
        for statement in SCHEMA.split(";"):
            connection.execute(text(statement))
        connection.execute(text("INSERT INTO floor_edition VALUES (1, 'open', 0, 'FLOOR')"))
        connection.execute(text("INSERT INTO floor_audit_head VALUES (1, 'genesis', 0)"))
        for n in range(count):
            user_id = connection.execute(
                text("INSERT INTO floor_user (email, organisation) VALUES (:e, :n) RETURNING id"),
                {"e": f"ente{n}@example.it", "n": n},
            ).scalar_one()
            token = f"floor-token-{n}"
            connection.execute(
                text("INSERT INTO floor_token VALUES (:sha256, :user_id)"),
                {"sha256": hashlib.sha256(token.encode()).hexdigest(), "user_id": user_id},
            )
            application_id = connection.execute(
                text(
                    "INSERT INTO floor_application (edition_id, organisation, state, title) "
                    "VALUES (1, :n, 'draft', :title) RETURNING id"
                ),
                {"n": n, "title": f"Progetto {n}"},
            ).scalar_one()
            drafts.append((application_id, token))
    engine.dispose()
    return drafts
