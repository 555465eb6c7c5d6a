"""The sign-in throttle holds across server processes: three gunicorn workers on a loopback
port, wrong passwords hammered at them concurrently (so that several workers serve them),
then the right password is refused with 429 by whichever worker gets it. The counts are
in the database of the test (SQLite file, or PostgreSQL with TEST_DATABASE_URL), or in
Redis on 127.0.0.1:6379 when it answers."""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from bando.core.extensions import db
from bando.core.ratelimit import RateLimitCounter
from tests.factories import PASSWORD, create_user

ROOT = Path(__file__).resolve().parents[3]
REDIS = ("127.0.0.1", 6379)
WRONG = "non-e-la-password"
READY = "/static/css/bando.css"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_client():
    redis = pytest.importorskip("redis", reason="needs the redis package")
    client = redis.Redis(*REDIS, socket_connect_timeout=1, socket_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"needs Redis on {REDIS[0]}:{REDIS[1]}")
    return client


def post_token(port: int, email: str, password: str) -> tuple[int, dict, dict]:
    """One request on a connection of its own (no keep-alive), as separate clients do."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            "POST",
            "/api/v1/tokens",
            body=json.dumps({"email": email, "password": password}),
            headers={"Content-Type": "application/json", "Connection": "close"},
        )
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        connection.close()


class Gunicorn:
    def __init__(self, instance: Path, workers: int = 3):
        self.port = free_port()
        self.access_log = instance / "access.log"
        self.error_log = instance / "error.log"
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")
        }
        env["PYTHONPATH"] = str(ROOT)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--access-logfile",
                str(self.access_log),
                "--access-logformat",
                "%(p)s %(s)s %(m)s %(U)s",
                "--error-logfile",
                str(self.error_log),
                f"bando:create_app(instance_path={str(instance)!r})",
            ],
            cwd=instance,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_until_served(workers)

    def _wait_until_served(self, workers: int):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            booted = self.error_log.exists() and self.error_log.read_text().count("Booting worker")
            # A worker is booted before it has loaded the app: until every one has served a
            # request, the first one ready could serve everything the test sends.
            if booted >= workers and len(set(self._pids("GET", READY))) >= workers:
                return
            if booted >= workers:
                with ThreadPoolExecutor(workers) as pool:
                    list(pool.map(lambda _: self._touch(), range(workers)))
            time.sleep(0.1)
        self.stop()
        log = self.error_log.read_text() if self.error_log.exists() else ""
        raise AssertionError(f"gunicorn did not start:\n{log[-3000:]}")

    def _touch(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request("GET", READY, headers={"Connection": "close"})
            connection.getresponse().read()
        except OSError:
            pass  # not listening yet
        finally:
            connection.close()

    def _pids(self, method: str, path: str) -> list[str]:
        lines = self.access_log.read_text().splitlines() if self.access_log.exists() else []
        pattern = rf"<?(\d+)>? \d+ {method} {re.escape(path)}$"
        return [m.group(1) for line in lines if (m := re.match(pattern, line))]

    def pids_serving(self, path: str) -> list[str]:
        return self._pids("POST", path)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def served_config(instance: Path, database_url: str, extra: dict) -> None:
    instance.mkdir()
    settings = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "workers-test-key-" + uuid.uuid4().hex,
        "REDIS_URL": None,
        **extra,
    }
    (instance / "config.py").write_text(
        "".join(f"{key} = {value!r}\n" for key, value in settings.items())
    )


@pytest.mark.parametrize("storage", ["database", "redis"])
def test_the_throttle_holds_across_three_gunicorn_workers(app, database_url, tmp_path, storage):
    extra = {}
    redis = None
    if storage == "redis":
        redis = redis_client()
        prefix = f"bando-test-{uuid.uuid4().hex}"
        extra = {"REDIS_URL": f"redis://{REDIS[0]}:{REDIS[1]}/0", "RATELIMIT_KEY_PREFIX": prefix}
    user = create_user("officer", "rup.workers@example.it")
    # A hash that takes a while to check: it keeps its worker busy, so that
    # concurrent attempts are served by different workers.
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=32 * 1024).hash(PASSWORD)
    db.session.commit()
    email = user.email
    instance = tmp_path / "served"
    served_config(instance, database_url, extra)
    server = Gunicorn(instance, workers=3)
    try:
        with ThreadPoolExecutor(3) as pool:
            statuses = [
                status
                for status, _, _ in pool.map(
                    lambda _: post_token(server.port, email, WRONG), range(9)
                )
            ]
        # Five failures are free; attempts already past the check when the fifth failed
        # still finish (at most one per other worker), then only refusals: never a token.
        assert set(statuses) <= {401, 429}, statuses
        assert 5 <= statuses.count(401) <= 5 + 3 and statuses.count(429) >= 1, statuses
        for _ in range(3):
            status, headers, body = post_token(server.port, email, PASSWORD)
            assert status == 429, body
            assert body["code"] == "too_many_attempts"
            assert int(headers["Retry-After"]) >= 1
    finally:
        server.stop()  # the access log is complete once the workers have exited
    pids = server.pids_serving("/api/v1/tokens")
    assert len(pids) == 12
    assert len(set(pids)) >= 2, pids  # the attempts went through several workers
    if redis is not None:
        keys = list(redis.scan_iter(f"{prefix}*"))
        try:
            assert any(b"backoff/login/failures/" in key for key in keys), keys
        finally:
            if keys:
                redis.delete(*keys)
    else:
        db.session.expire_all()
        keys = db.session.scalars(select(RateLimitCounter.key)).all()
        assert any(key.startswith("backoff/login/failures/") for key in keys), keys
