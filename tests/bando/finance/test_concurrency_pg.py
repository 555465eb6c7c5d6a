"""Letters issued from four gunicorn workers at once on PostgreSQL: each proposal gets its
letter once, and the call's protocol numbers run 1…n without a gap or a repeat; then read
at once, each letter and the ZIP, from every worker."""

import http.client
import io
import json
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from bando.core import audit
from bando.core.extensions import db
from bando.finance.models import Letter
from tests.factories import PASSWORD
from tests.letters_factories import letters_world
from tests.serving import Gunicorn


def call(port, path, token=None, body=None, method="GET"):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_letters_issued_at_once_have_gap_free_protocols(app, database_url, postgres_only, tmp_path):
    world = letters_world()
    edition = world["edition"]
    targets = [
        (world["first"].id, "award"),
        (world["second"].id, "award"),
        (world["reserve"].id, "reserve"),
        (world["rejected"].id, "not_admissible"),
        (world["asked"].id, "integration_request"),
    ]
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
        status, body = call(
            server.port,
            "/api/v1/tokens",
            body={"email": world["finance"].email, "password": PASSWORD},
            method="POST",
        )
        assert status == 201, body
        token = json.loads(body)["token"]
        issue = f"/api/v1/editions/{edition.code}/letters"
        with ThreadPoolExecutor(8) as pool:
            posts = list(
                pool.map(lambda _: call(server.port, issue, token, method="POST"), range(8))
            )
        assert [status for status, _ in posts] == [200] * 8, posts
        # Between them the eight requests issued each letter once.
        assert sum(json.loads(body)["issued_now"] for _, body in posts) == len(targets)
        paths = [f"/api/v1/applications/{a}/letters/{k}.pdf" for a, k in targets] * 2
        paths += [f"/api/v1/editions/{edition.code}/letters.zip"] * 2
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda path: call(server.port, path, token), paths))
    finally:
        server.stop()
    assert [status for status, _ in answers] == [200] * len(paths), [
        (s, b[:200]) for s, b in answers if s != 200
    ]
    db.session.expire_all()
    letters = db.session.scalars(
        select(Letter).where(Letter.edition_id == edition.id).order_by(Letter.number)
    ).all()
    assert [x.number for x in letters] == [1, 2, 3, 4, 5]
    assert sorted((x.application_id, x.kind) for x in letters) == sorted(targets)
    protocols = {x.protocol for x in letters}
    for _, archive in answers[-2:]:
        names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
        assert len(names) == 5
        assert {n.split("-", 1)[1].removesuffix(".pdf") for n in names} == {
            p.replace("/", "-") for p in protocols
        }
    assert audit.verify() is None
