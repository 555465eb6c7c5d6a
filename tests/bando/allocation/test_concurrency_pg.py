"""Many allocation runs, acceptances and renunciations at once, through four gunicorn
workers on PostgreSQL: never more than the cap committed, never an audit event lost,
never a 500."""

import http.client
import json
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from bando.budget.figures import committed_cents
from bando.budget.models import Award
from bando.calls.models import Edition
from bando.core import audit
from bando.core.extensions import db
from tests.allocation_factories import ranked_world
from tests.factories import PASSWORD
from tests.serving import Gunicorn


def call(port, method, path, token=None, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def test_concurrent_runs_acceptances_and_renunciations_never_exceed_the_cap(
    app, database_url, postgres_only, tmp_path
):
    requests_euro = [600, 300, 400, 100, 250, 350, 150, 500, 200, 300, 450, 120]
    edition, officer, rows = ranked_world(requests_euro, cap_euro=2000)
    code, cap = edition.code, edition.budget_cap_cents
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

        def token(user):
            status, body = call(
                server.port,
                "POST",
                "/api/v1/tokens",
                body={"email": user.email, "password": PASSWORD},
            )
            assert status == 201, body
            return body["token"]

        officer_token = token(officer)
        owners = [(application.id, token(owner)) for application, owner in rows]
        with ThreadPoolExecutor(8) as pool:
            runs = list(
                pool.map(
                    lambda _: call(
                        server.port, "POST", f"/api/v1/editions/{code}/allocation", officer_token
                    ),
                    range(8),
                )
            )
        assert {status for status, _ in runs} <= {200, 409}, runs
        assert any(status == 200 for status, _ in runs)

        # Then everyone at once: half accept, half renounce, and the officer runs again.
        def act(item):
            index, (application_id, owner_token) = item
            verb = "accept" if index % 2 else "renounce"
            return call(
                server.port, "POST", f"/api/v1/applications/{application_id}/{verb}", owner_token
            )

        with ThreadPoolExecutor(8) as pool:
            moves = list(pool.map(act, enumerate(owners)))
            again = list(
                pool.map(
                    lambda _: call(
                        server.port, "POST", f"/api/v1/editions/{code}/allocation", officer_token
                    ),
                    range(4),
                )
            )
        statuses = [status for status, _ in moves + again]
        assert all(status < 500 for status in statuses), moves + again
        assert set(statuses) <= {200, 403, 409}, moves + again
    finally:
        server.stop()
    db.session.expire_all()
    edition = db.session.scalar(select(Edition).where(Edition.code == code))
    assert committed_cents(edition.id) <= cap
    for award in db.session.scalars(select(Award).where(Award.edition_id == edition.id)):
        assert award.amount_cents <= award.application.requested_cents
    assert edition.state == "allocated"
    result = audit.verify_chain()
    assert result.ok, result.problem
