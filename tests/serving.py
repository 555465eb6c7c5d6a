"""bando served by gunicorn, as in production, on a loopback socket of the test: for what
the Werkzeug development server hides (it reads a refused request body after answering;
gunicorn does not).

The app is create_app(instance_path=…) with the settings written to the instance's
config.py; the listening socket is made here and handed to gunicorn (no port race).
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Gunicorn:
    def __init__(self, instance: Path, settings: dict, workers: int = 1):
        instance.mkdir(parents=True, exist_ok=True)
        lines = [f"{key} = {value!r}" for key, value in settings.items()]
        (instance / "config.py").write_text("\n".join(lines) + "\n")
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        fd = self.listener.fileno()
        self.log = instance / "gunicorn.log"
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
        env["PYTHONPATH"] = str(ROOT)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"fd://{fd}",
                "--workers",
                str(workers),
                "--log-level",
                "warning",
                f"bando:create_app(instance_path={str(instance)!r})",
            ],
            pass_fds=(fd,),
            cwd=str(ROOT),
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, attempts: int = 300):
        """Until gunicorn answers on its socket (the kernel queues connections meanwhile,
        so one request that gets an answer is enough)."""
        import http.client

        for _ in range(attempts):
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()[-2000:]}")
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                connection.request("GET", "/static/css/bando.css")
                connection.getresponse().read()
                return self
            except OSError:
                continue
            finally:
                connection.close()
        raise RuntimeError(f"gunicorn did not answer: {self.log.read_text()[-2000:]}")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.listener.close()

    def __enter__(self):
        return self.wait_ready()

    def __exit__(self, *exc):
        self.stop()

    # --- the API, for tests that send requests at the same moment -------------------------

    def call(self, method: str, path: str, body=None, token: str | None = None):
        """(status, JSON) of one request to /api/v1`path` on a connection of its own."""
        import http.client
        import json

        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            payload = None if body is None else json.dumps(body)
            connection.request(method, "/api/v1" + path, payload, headers)
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"{}")
        finally:
            connection.close()

    def post(self, path: str, token: str | None = None, body=None):
        return self.call("POST", path, {} if body is None else body, token)

    def token(self, email: str, password: str = "password-di-prova") -> str:
        status, body = self.post("/tokens", body={"email": email, "password": password})
        assert status == 201, body
        return body["token"]


def served(app, tmp_path, workers: int = 4, **settings) -> Gunicorn:
    """bando under gunicorn on the test's own database (SQLite file or PostgreSQL), for
    requests sent at the same moment: `with served(app, tmp_path) as server: …`. The test
    commits what the server must read, and ends its session before the server writes."""
    import uuid

    from bando.core.extensions import db

    db.session.remove()  # SQLite: no read transaction of the test keeps the writers waiting
    config = {
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "served-" + uuid.uuid4().hex,
        "ARGON2": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1},
        "REDIS_URL": None,
        **settings,
    }
    return Gunicorn(tmp_path / "served", config, workers=workers)
