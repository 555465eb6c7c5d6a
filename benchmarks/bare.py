"""The floor of a write through HTTP on this machine: a bare Flask + Flask-SQLAlchemy app
whose one endpoint reads a JSON body, inserts one row and commits, answering JSON. Served
by gunicorn as bando is (`benchmarks.bare:create_app()`), on the database named by
BENCH_BARE_DATABASE_URL."""

import os
from datetime import UTC, datetime

from flask import Flask, jsonify, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

db = SQLAlchemy()


class Entry(db.Model):
    __tablename__ = "bare_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def create_app(database_url=None):
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url or os.environ["BENCH_BARE_DATABASE_URL"]
    # The same engine options as bando's (bando.core.config.Defaults).
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
    db.init_app(app)

    @app.get("/ping")
    def ping():
        return jsonify(ok=True)

    @app.post("/entries")
    def insert():
        body = request.get_json(silent=True) or {}
        entry = Entry(title=str(body.get("title", ""))[:300], created_at=datetime.now(UTC))
        db.session.add(entry)
        db.session.commit()
        return jsonify(id=entry.id), 201

    return app


def create_schema(database_url: str) -> None:
    app = create_app(database_url)
    with app.app_context():
        db.create_all()
        db.engine.dispose()
