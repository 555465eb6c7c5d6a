"""Submissions per second through bando (gunicorn -w 4, PostgreSQL, the API) against
inserts per second of a bare Flask + SQLAlchemy endpoint served the same way, measured
one after the other in the same run; and, to tell where the difference comes from, two
more rates in the same rounds (submissions each to a call of its own: no shared row lock;
the floor of benchmarks/floor.py: the design's writes and locks as plain statements) and
what one submission costs: its SQL statements, its relationship loads, how long it holds
the call's row lock (the span during which every other submission to the same call
waits), and its CPU."""

from __future__ import annotations

import re
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from benchmarks.common import (
    SECRET,
    Row,
    make_app,
    not_measured,
    postgres_database,
    postgres_problem,
)
from benchmarks.floor import seed as seed_floor
from benchmarks.serving import Served, hammer

FIGURE = "submissions/s (app) ÷ inserts/s (bare Flask + SQLAlchemy), gunicorn -w 4, PostgreSQL"
TARGET = "≥ 0.5"
SUBMISSIONS = 48  # concurrent submissions to one call
INSERTS = 192
THREADS = 8
API = "/api/v1"
# Bursts of each side in turn; the best of each counts (the least disturbed by the
# machine's other work).
ROUNDS = 3
CPU_SUBMISSIONS = 30
CPU_INSERTS = 50
PROFILED = 7
# The statement that takes the call's row lock (a SELECT … FOR UPDATE or an UPDATE of it).
EDITION_LOCK = re.compile(
    r"^\s*(UPDATE\s+edition\b|SELECT\s.*\sFROM\s+edition\b.*\sFOR\s+UPDATE)", re.S | re.I
)


@contextmanager
def watching(engine, session):
    """Records every statement sent with its time, the relationship loads, and the end of
    the commit."""
    from sqlalchemy import event

    log = {"statements": [], "loads": 0, "commits": []}

    def statement(conn, cursor, text, parameters, context, executemany):
        log["statements"].append((time.perf_counter(), text))

    def orm_execute(state):
        if state.is_relationship_load:
            log["loads"] += 1

    def committed(session_):
        log["commits"].append(time.perf_counter())

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(session, "do_orm_execute", orm_execute)
    event.listen(session, "after_commit", committed)
    try:
        yield log
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(session, "do_orm_execute", orm_execute)
        event.remove(session, "after_commit", committed)


def seed(app, count: int, *, own_calls: int = 0):
    """One open call and `count` complete drafts to it, then `own_calls` drafts each to an
    open call of its own; each draft of its own organisation, with an API token of one of
    its users. Returns [(application id, token)], the shared call's drafts first."""
    from bando.accounts.models import User
    from bando.accounts.operations import issue_token
    from bando.core.extensions import db
    from bando.core.timeutil import utcnow
    from tests.factories import create_edition, create_organisation
    from tests.lifecycle_factories import create_application

    with app.app_context():
        shared = create_edition("bench-rush", max_applications_per_organisation=1)
        drafts = []
        for n in range(count + own_calls):
            edition = shared
            if n >= count:
                edition = create_edition(f"bench-own-{n}", max_applications_per_organisation=1)
            organisation = create_organisation()
            owner = User(
                email=f"ente{n}@example.it",
                password_hash="!",
                role="applicant",
                organisation=organisation,
                full_name=f"Referente {n}",
                email_confirmed_at=utcnow(),
            )
            db.session.add(owner)
            db.session.flush()
            application = create_application(edition, organisation, owner, title=f"Progetto {n}")
            drafts.append((application.id, issue_token(owner, 2)))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return drafts


def profile_submission(app, application_id: int, token: str) -> dict:
    """One submission through the API, alone: statements, relationship loads, lock span."""
    from bando.core.extensions import db

    client = app.test_client()
    with app.app_context():
        engine = db.engine
        with watching(engine, db.session) as log:
            response = client.post(
                f"/api/v1/applications/{application_id}/submit",
                json={},
                headers={"Authorization": f"Bearer {token}"},
            )
        assert response.status_code == 200, response.get_data(as_text=True)
        db.session.remove()
    locked = [t for t, text in log["statements"] if EDITION_LOCK.match(text)]
    # The lock ends with the first commit after it (the mail sent after the commit, and
    # its own commit, come later).
    ends = [t for t in log["commits"] if locked and t > locked[0]]
    span = ends[0] - locked[0] if ends else None
    after_lock = [text for t, text in log["statements"] if span and locked[0] <= t < ends[0]]
    return {
        "statements": len(log["statements"]),
        "loads": log["loads"],
        "lock_ms": None if span is None else span * 1000,
        "under_lock": len(after_lock),
        "under_lock_text": after_lock,
        "all": log["statements"],
    }


def cpu_per_request(app, path_token_body, status: int) -> float:
    """Milliseconds of this process's CPU per request, the requests made in-process one
    after the other (no network, no waiting on other requests): what each request costs
    the machine's cores whatever the concurrency."""
    client = app.test_client()
    start = time.process_time()
    for path, token, body in path_token_body:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == status, response.get_data(as_text=True)
    return (time.process_time() - start) * 1000 / len(path_token_body)


def cpu_figures(app, bare_url: str, drafts) -> tuple[float, float]:
    """CPU per submission and per bare insert, each measured in this process."""
    from benchmarks.bare import create_app as create_bare
    from benchmarks.bare import db as bare_db

    app_cpu = cpu_per_request(
        app, [(f"/api/v1/applications/{i}/submit", token, {}) for i, token in drafts], 200
    )
    bare = create_bare(bare_url)
    with bare.app_context():
        bare_db.create_all()
    inserts = [("/entries", None, {"title": f"Progetto {n}"}) for n in range(CPU_INSERTS)]
    cpu_per_request(bare, inserts[:5], 201)  # warm
    bare_cpu = cpu_per_request(bare, inserts, 201)
    with bare.app_context():
        bare_db.engine.dispose()
    return app_cpu, bare_cpu


def throughput(folder: Path, urls: dict, drafts, spread, floor) -> dict:
    """Bursts of bare inserts and of submissions in turn, through gunicorn -w 4 each;
    the best rate of each side. Each round also sends a burst of `spread` drafts, each to
    a call of its own: no call's row lock is shared there, so the difference from the
    one-call burst is what queueing on that lock costs; and a burst to the floor
    (benchmarks/floor.py): the same writes and locks in plain statements, so the difference
    from it is what bando's own code costs. `urls`: the databases of "app", "bare", "floor"."""
    from benchmarks.bare import create_schema

    create_schema(urls["bare"])
    instance = folder / "instance"
    instance.mkdir()
    settings = {
        "SQLALCHEMY_DATABASE_URI": urls["app"],
        "SECRET_KEY": SECRET,
        "REDIS_URL": None,
        "LOG_LEVEL": "WARNING",  # as common.settings
    }
    (instance / "config.py").write_text(
        "\n".join(f"{key} = {value!r}" for key, value in settings.items()) + "\n"
    )
    bare = Served(
        "benchmarks.bare:create_app()",
        folder / "bare.log",
        env={"BENCH_BARE_DATABASE_URL": urls["bare"]},
    )
    plain = Served(
        "benchmarks.floor:create_app()",
        folder / "floor.log",
        env={"BENCH_FLOOR_DATABASE_URL": urls["floor"]},
    )
    served = Served(f"bando:create_app(instance_path={str(instance)!r})", folder / "app.log")
    rates = {"app_rate": 0.0, "bare_rate": 0.0, "spread_rate": 0.0, "floor_rate": 0.0}
    try:
        bare.wait_ready("/ping")
        plain.wait_ready("/ping")
        served.wait_ready("/static/css/bando.css")
        # Warm both (imports, each worker's connection pool) before timing.
        hammer(bare.port, [("POST", "/entries", None, {"title": "warm"})] * 16, THREADS)
        hammer(served.port, [("GET", "/api/v1/openapi.json", None, None)] * 16, THREADS)
        hammer(plain.port, [("GET", "/ping", None, None)] * 16, THREADS)
        for burst in range(ROUNDS):
            inserts = [
                ("POST", "/entries", None, {"title": f"Progetto {n}"}) for n in range(INSERTS)
            ]
            seconds, answers = hammer(bare.port, inserts, THREADS)
            check(answers, 201)
            rates["bare_rate"] = max(rates["bare_rate"], INSERTS / seconds)
            mine = slice(burst * SUBMISSIONS, (burst + 1) * SUBMISSIONS)
            # The three bursts in turn, each round starting with another one.
            sides = [
                ("app_rate", served.port, drafts, API),
                ("spread_rate", served.port, spread, API),
                ("floor_rate", plain.port, floor, ""),
            ]
            for name, port, which, prefix in sides[burst % 3 :] + sides[: burst % 3]:
                rate, protocols = submitted(port, which[mine], prefix)
                rates[name] = max(rates[name], rate)
                if len(set(protocols)) != len(protocols):
                    raise RuntimeError("two submissions got the same protocol")
    finally:
        served.stop()
        plain.stop()
        bare.stop()
    return rates


def submitted(port: int, drafts, prefix: str = API) -> tuple[float, list[str]]:
    """Submits every draft of `drafts` at once: (submissions per second, the protocols)."""
    calls = [("POST", f"{prefix}/applications/{i}/submit", token, {}) for i, token in drafts]
    seconds, answers = hammer(port, calls, THREADS)
    check(answers, 200)
    return len(calls) / seconds, [body["protocol"] for _, body in answers]


def check(answers, status: int) -> None:
    bad = [answer for answer in answers if answer[0] != status]
    if bad:
        raise RuntimeError(f"{len(bad)} unexpected answers, e.g. {bad[0]}")


def bench_submissions() -> tuple[Row, dict]:
    problem = postgres_problem()
    if problem:
        return not_measured(FIGURE, TARGET, problem), {}
    with (
        tempfile.TemporaryDirectory() as folder,
        postgres_database("app") as app_url,
        postgres_database("bare") as bare_url,
        postgres_database("floor") as floor_url,
    ):
        folder = Path(folder)
        app = make_app(app_url, str(folder / "profile-instance"))
        shared = ROUNDS * SUBMISSIONS + CPU_SUBMISSIONS + 1 + PROFILED
        drafts = seed(app, shared, own_calls=ROUNDS * SUBMISSIONS)
        drafts, spread = drafts[:shared], drafts[shared:]
        profile_submission(app, *drafts[-PROFILED - 1])  # the first also starts the audit chain
        profiles = [profile_submission(app, *draft) for draft in drafts[-PROFILED:]]
        # The machine's other work lengthens some spans: the median of a few.
        profile = dict(profiles[-1])
        spans = sorted(p["lock_ms"] for p in profiles if p["lock_ms"] is not None)
        profile["lock_ms"] = spans[len(spans) // 2] if spans else None
        app_cpu, bare_cpu = cpu_figures(
            app, bare_url, drafts[ROUNDS * SUBMISSIONS : ROUNDS * SUBMISSIONS + CPU_SUBMISSIONS]
        )
        with app.app_context():
            from bando.core.extensions import db

            db.engine.dispose()
        floor = seed_floor(floor_url, ROUNDS * SUBMISSIONS)
        urls = {"app": app_url, "bare": bare_url, "floor": floor_url}
        rates = throughput(folder, urls, drafts[: ROUNDS * SUBMISSIONS], spread, floor)
    ratio = rates["app_rate"] / rates["bare_rate"]
    lock = profile["lock_ms"]
    detail = (
        f"{rates['app_rate']:.0f} submissions/s ({SUBMISSIONS} to one call) vs "
        f"{rates['bare_rate']:.0f} inserts/s ({INSERTS}), {THREADS} client threads, best of "
        f"{ROUNDS}; {rates['spread_rate']:.0f} submissions/s when each goes to a call of its "
        f"own (ratio {rates['spread_rate'] / rates['bare_rate']:.2f}: what the call's row lock "
        f"costs is the difference); {rates['floor_rate']:.0f} submissions/s through the "
        "floor, the same writes and locks as plain statements (benchmarks/floor.py; ratio "
        f"{rates['floor_rate'] / rates['bare_rate']:.2f}: what bando's own code costs is the "
        f"difference); one submission: {profile['statements']} SQL statements "
        f"({profile['loads']} relationship loads), the call's row lock held (median of "
        f"{PROFILED}) "
        + ("—" if lock is None else f"{lock:.1f} ms over {profile['under_lock']} statements")
        + f"; CPU per request, in-process: {app_cpu:.1f} ms per submission vs "
        f"{bare_cpu:.1f} ms per bare insert (a ceiling of {bare_cpu / app_cpu:.2f} on the "
        "ratio once the cores are the limit)"
    )
    profile.update(app_cpu=app_cpu, bare_cpu=bare_cpu, **rates)
    return Row(FIGURE, f"{ratio:.2f}", TARGET, ratio >= 0.5, detail), profile
