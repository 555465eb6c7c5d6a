"""A WSGI app served by gunicorn with sync workers on a loopback socket made here (no
port race), and a client that sends many requests from a few threads: what both sides of
a throughput ratio go through, the same way."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Served:
    def __init__(self, app_spec: str, log: Path, *, workers: int = 4, env: dict | None = None):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        fd = self.listener.fileno()
        self.log = log
        environment = {
            k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")
        }
        environment["PYTHONPATH"] = str(ROOT)
        environment.update(env or {})
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
                app_spec,
            ],
            pass_fds=(fd,),
            cwd=str(ROOT),
            env=environment,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, path: str, attempts: int = 300):
        for _ in range(attempts):
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()[-2000:]}")
            try:
                request(self.port, "GET", path)
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer: {self.log.read_text()[-2000:]}")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.listener.close()


def request(port, method, path, token=None, body=None):
    """One request on its own connection; (status, JSON body or {})."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = connection.getresponse()
        data = response.read()
        try:
            return response.status, json.loads(data or b"{}")
        except ValueError:
            return response.status, {"raw": data[:200].decode("utf-8", "replace")}
    finally:
        connection.close()


def hammer(port, calls, threads: int):
    """Sends every (method, path, token, body) of `calls` from `threads` client threads;
    returns (seconds from the first to the last answer, the answers in order)."""
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        answers = list(pool.map(lambda call: request(port, *call), calls))
    return time.perf_counter() - start, answers
