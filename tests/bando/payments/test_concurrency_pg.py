"""The same payment sent many times at once, through four gunicorn workers on PostgreSQL:
with one Idempotency-Key, one row and the same payment for every answer; with different
keys, still one advance (the others refused), never a 500, the audit chain whole."""

import http.client
import json
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from bando.budget.models import Payment
from bando.core import audit
from bando.core.extensions import db
from tests.factories import PASSWORD
from tests.finance_factories import funded_world
from tests.serving import Gunicorn


def call(port, path, token, body, key):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {token}",
        "Idempotency-Key": key,
    }
    try:
        connection.request("POST", path, json.dumps(body), headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def test_concurrent_identical_payments_record_one(app, database_url, postgres_only, tmp_path):
    application, _, finance, _ = funded_world(10_000)
    server = Gunicorn(
        tmp_path / "served",
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "concurrency-" + uuid.uuid4().hex,
            "ARGON2": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1},
            "REDIS_URL": None,
        },
        workers=4,
    ).wait_ready()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        connection.request(
            "POST",
            "/api/v1/tokens",
            json.dumps({"email": finance.email, "password": PASSWORD}),
            {"Content-Type": "application/json"},
        )
        token = json.loads(connection.getresponse().read())["token"]
        connection.close()
        path = f"/api/v1/applications/{application.id}/payments"
        with ThreadPoolExecutor(8) as pool:
            same = list(
                pool.map(
                    lambda _: call(server.port, path, token, {"kind": "advance"}, "mandato-1"),
                    range(8),
                )
            )
        assert {status for status, _ in same} <= {200, 201}, same
        assert sum(status == 201 for status, _ in same) == 1
        assert len({body["id"] for _, body in same}) == 1
        with ThreadPoolExecutor(8) as pool:
            others = list(
                pool.map(
                    lambda i: call(server.port, path, token, {"kind": "advance"}, f"altro-{i}"),
                    range(8),
                )
            )
        assert {status for status, _ in others} == {409}, others
    finally:
        server.stop()
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
    assert audit.verify() is None
