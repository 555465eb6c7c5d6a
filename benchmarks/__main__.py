"""`make bench`: time and memory of bando's heavier paths, as ratios to a baseline.

Each case runs the real code on a temporary SQLite database, and a baseline that does the
irreducible part of the same job in the same process (hashing the same bytes, drawing an
empty page…). The ratio says how much bando adds on top; a change that makes a ratio grow
is a regression worth a look. Absolute seconds are printed for context only.
"""

import gc
import hashlib
import io
import sys
import tempfile
import time
import tracemalloc

from reportlab.pdfgen import canvas


def best_of(function, repeat=3):
    """The best wall time of `repeat` runs (the least disturbed by the machine)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def peak_memory(function):
    gc.collect()
    tracemalloc.start()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def make_app(folder):
    from flask_migrate import upgrade

    from bando import create_app

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite3",
            "TESTING": True,
            "SECRET_KEY": "benchmarks-only-key-not-for-any-real-use",
        }
    )
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
    return app


def bench_audit_verify(app, events=2000):
    """Walking the audit chain vs hashing the same canonical bytes in memory."""
    from bando.core import audit
    from bando.core.extensions import db
    from bando.core.models import AuditEvent

    with app.app_context():
        for i in range(events):
            audit.append(subject="edition", trigger="bench", reason=f"evento {i}", payload={"i": i})
        db.session.commit()
        blobs = [audit.canonical(e) for e in db.session.query(AuditEvent).all()]
        db.session.expunge_all()
        verify = best_of(lambda: audit.verify_chain())
        baseline = best_of(lambda: [hashlib.sha256(b).hexdigest() for b in blobs])
    return f"audit verify, {events} events", verify, baseline


def bench_call_page(app):
    """The public page of a call vs the plain 404 page, both rendered through Flask."""
    from bando.calls.loading import load_shipped_calls

    with app.app_context():
        load_shipped_calls()
    client = app.test_client()

    def page():
        for _ in range(20):
            assert client.get("/bandi/cdq-2019").status_code == 200

    def baseline():
        for _ in range(20):
            client.get("/bandi/nessuno")

    return "call page, 20 requests", best_of(page), best_of(baseline)


def bench_receipt_memory(app):
    """Peak memory of a receipt PDF vs a one-line ReportLab PDF."""
    from bando.applications.models import Application
    from bando.applications.receipts import receipt_pdf

    with app.app_context():
        application = Application.query.filter(Application.protocol.isnot(None)).first()
        if application is None:
            return None
        used = peak_memory(lambda: receipt_pdf(application))

    def baseline():
        page = canvas.Canvas(io.BytesIO())
        page.drawString(72, 720, "ricevuta")
        page.save()

    return "receipt PDF, peak memory", used, peak_memory(baseline)


def main():
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        app = make_app(folder)
        rows.append(bench_audit_verify(app))
        rows.append(bench_call_page(app))
        with app.app_context():
            from bando.demo import load_demo

            load_demo()
        memory = bench_receipt_memory(app)
    print(f"{'case':38} {'bando':>12} {'baseline':>12} {'ratio':>8}")
    for name, value, base in rows:
        print(f"{name:38} {value * 1000:10.1f}ms {base * 1000:10.1f}ms {value / base:8.2f}")
    if memory:
        name, value, base = memory
        print(f"{name:38} {value / 1024:10.0f}KB {base / 1024:10.0f}KB {value / base:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
