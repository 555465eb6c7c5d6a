"""The letters' figures: how fast award letters are made (against a bare ReportLab page in
the same font), the time per letter, and the peak memory of the streamed ZIP of 2 000
letters against that of 20 (flat: the archive never sits whole in memory), each streamed
in a fresh process whose peak resident memory is read back.

`bench_letters(folder)` returns the rows (figure, value, target, ok, detail) of `make bench`;
`render_award_letters(app, n)` and `stream_zip(app, n)` are the two helpers it times, on
a call of `n` funded proposals written in a SQLite database in `folder`.
"""

from __future__ import annotations

import io
import os
import queue
import time
from datetime import timedelta

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

# The targets of `make bench` (benchmarks/__main__.py): a letter costs at most two bare
# pages; the ZIP of 2 000 letters peaks less than 50 MB above that of 20.
RATIO_TARGET = 0.5
MEMORY_TARGET = 50 * 1024 * 1024


def make_app(folder, *, migrate: bool = True):
    from flask_migrate import upgrade

    from bando import create_app

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/letters.sqlite3",
            "TESTING": True,
            "SECRET_KEY": "benchmarks-only-key-not-for-any-real-use",
        },
        instance_path=str(folder),
    )
    if migrate:
        with app.app_context():
            upgrade(directory=app.extensions["migrate"].directory)
    return app


def funded_call(app, n: int, code: str):
    """A shipped call copied as `code` with `n` funded proposals, each ranked and awarded
    € 16.000,00 (rows written directly: this is setup, not the code under test)."""
    from bando.accounts.models import Organisation, User
    from bando.applications.models import Application, BudgetLine
    from bando.budget.models import Award
    from bando.calls.loading import load_shipped_calls
    from bando.calls.models import Edition
    from bando.core.extensions import db
    from bando.core.timeutil import utcnow
    from bando.ranking.models import RankingEntry

    with app.app_context():
        load_shipped_calls()
        edition = db.session.query(Edition).filter_by(code="cdq-2019").one()
        edition.code, edition.protocol_prefix = code, code.upper().replace("-", "")[:12]
        edition.state = "allocated"
        edition.budget_cap_cents = n * 16_000_00
        user = User(email=f"bench@{code}.example", password_hash="x", role="officer")
        db.session.add(user)
        db.session.flush()
        now = utcnow()
        hoods = edition.neighbourhoods
        for i in range(1, n + 1):
            organisation = Organisation(
                name=f"Associazione di quartiere n. {i}",
                tax_code=f"{code[-1].upper()}{i:010d}",
                legal_form="aps",
                pec=f"ente{i}@pec.example.it",
                address=f"via dei Tigli {i}, 20100 Milano",
                legal_representative="Maria Rossi",
            )
            application = Application(
                edition=edition,
                organisation=organisation,
                created_by_id=user.id,
                neighbourhood=hoods[i % len(hoods)],
                state="funded",
                protocol=f"{edition.protocol_prefix}/{i:04d}",
                protocol_number=i,
                submitted_at=now - timedelta(days=60),
                title=f"Laboratori e orti condivisi, edizione {i}",
                start_date=edition.project_starts_on,
                end_date=edition.project_ends_on,
                requested_cents=16_000_00,
                cofinancing_cents=2_000_00,
                cup=f"B41H19{i:09d}",
            )
            application.budget_lines = [
                BudgetLine(category="personale", description="Educatori", amount_cents=18_000_00)
            ]
            db.session.add(application)
            db.session.flush()
            db.session.add(
                Award(
                    application_id=application.id,
                    edition_id=edition.id,
                    amount_cents=16_000_00,
                    accept_by=now + timedelta(days=15),
                )
            )
            db.session.add(
                RankingEntry(
                    edition_id=edition.id,
                    application_id=application.id,
                    position=i,
                    neighbourhood_position=i,
                    total_numerator=90,
                    total_denominator=1,
                    total="90.00",
                    points={},
                    fundable=True,
                )
            )
        edition.protocol_counter = n
        db.session.commit()
        return edition.id


def _issued(app, edition_id):
    from bando.calls.models import Edition
    from bando.core.extensions import db
    from bando.finance import operations

    edition = db.session.get(Edition, edition_id)
    operations.issue_edition(edition)
    db.session.commit()
    return operations.edition_letter_ids(edition)


def render_award_letters(app, edition_id: int) -> tuple[int, float]:
    """Makes every award letter of the call (issued first); (letters, seconds)."""
    from bando.core.extensions import db
    from bando.finance import operations
    from bando.finance.models import Letter

    with app.app_context():
        ids = _issued(app, edition_id)
        start = time.perf_counter()
        for letter_id in ids:
            operations.letter_pdf(db.session.get(Letter, letter_id), app.config)
        return len(ids), time.perf_counter() - start


def resident_bytes() -> int:
    """This process's resident memory now (Linux: /proc/self/statm, in pages)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _stream_in_child(folder: str, edition_id: int, answer) -> None:
    """In a fresh process: streams the call's ZIP (letters issued already) to nowhere and
    sends back (bytes streamed, the highest resident memory seen after each chunk)."""
    from bando.calls.models import Edition
    from bando.core.extensions import db
    from bando.finance import operations

    app = make_app(folder, migrate=False)  # the parent made the schema
    with app.app_context():
        edition = db.session.get(Edition, edition_id)
        total, peak = 0, resident_bytes()
        for chunk in operations.edition_zip(edition, app.config):
            total += len(chunk)
            peak = max(peak, resident_bytes())
    answer.put((total, peak))


def stream_zip(app, edition_id: int) -> tuple[int, int]:
    """Streams the ZIP of the call's letters as the download does, chunk by chunk (one
    chunk per letter), to nowhere, in a process of its own (spawned: nothing inherited);
    (bytes streamed, that process's highest resident memory while streaming). Everything
    the process holds counts — ReportLab's and zlib's C buffers too — and two calls of
    different sizes differ only by what the number of letters adds."""
    import multiprocessing

    with app.app_context():
        _issued(app, edition_id)
    context = multiprocessing.get_context("spawn")
    answer = context.Queue()
    child = context.Process(target=_stream_in_child, args=(app.instance_path, edition_id, answer))
    child.start()
    try:
        while True:
            try:
                return answer.get(timeout=1)
            except queue.Empty:
                # A child that failed puts nothing: its traceback is on stderr.
                if not child.is_alive():
                    raise RuntimeError(
                        f"the streaming process ended with no answer (exit code {child.exitcode})"
                    ) from None
    finally:
        child.join(timeout=5)
        if child.is_alive():
            child.kill()


def bare_pages(n: int) -> float:
    """Seconds to make `n` one-page PDFs with a few lines in the letters' embedded font."""
    from bando.finance.letters import FONT, register_fonts

    register_fonts()
    start = time.perf_counter()
    for i in range(n):
        page = canvas.Canvas(io.BytesIO(), pagesize=A4, invariant=1)
        page.setFont(FONT, 10)
        for line in range(5):
            page.drawString(
                72, 760 - 14 * line, f"Comune di Milano — € 16.000,00 — riga {line} {i}"
            )
        page.showPage()
        page.save()
    return time.perf_counter() - start


def bench_letters(folder, *, small: int = 20, large: int = 2000, timed: int = 100):
    """The rows of `make bench` (benchmarks.common.Row's fields, in order): figure, value,
    target, ok, detail."""
    app = make_app(folder)
    timed_call = funded_call(app, timed, "bench-t")
    count, seconds = render_award_letters(app, timed_call)
    letters_per_second = count / seconds
    bare_per_second = timed / bare_pages(timed)
    ratio = letters_per_second / bare_per_second
    small_call = funded_call(app, small, "bench-s")
    large_call = funded_call(app, large, "bench-l")
    small_bytes, small_peak = stream_zip(app, small_call)
    large_bytes, large_peak = stream_zip(app, large_call)
    growth = large_peak - small_peak
    mb = 1024 * 1024
    return [
        (
            "award letters/s ÷ a bare ReportLab page with the same font",
            f"{ratio:.2f}",
            f"≥ {RATIO_TARGET}",
            ratio >= RATIO_TARGET,
            f"{letters_per_second:.1f} letters/s ({seconds / count * 1000:.0f} ms per letter, "
            f"two pages, signed: no) vs {bare_per_second:.1f} bare pages/s",
        ),
        (
            f"peak memory of streaming {large:,} letters in a ZIP − {small} letters".replace(
                ",", " "
            ),
            f"{growth / mb:.1f} MB",
            f"< {MEMORY_TARGET // mb} MB",
            growth < MEMORY_TARGET,
            f"highest resident memory of the streaming process: {small}: {small_peak / mb:.1f} MB "
            f"for {small_bytes / mb:.1f} MB of ZIP; {large}: {large_peak / mb:.1f} MB for "
            f"{large_bytes / mb:.0f} MB of ZIP",
        ),
    ]


if __name__ == "__main__":
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        sizes = [int(a) for a in sys.argv[1:3]]
        rows = bench_letters(folder, **dict(zip(("small", "large"), sizes, strict=False)))
    for figure, value, target, ok, detail in rows:
        print(f"{figure} | {value} | {target} | {'ok' if ok else 'MISSED'} | {detail}")
