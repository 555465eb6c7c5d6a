"""`make bench`: one table of ratios, each side measured in this run on this machine, with
its target and a verdict.

| figure | target |
|---|---|
| submissions/s through bando (gunicorn -w 4 + PostgreSQL) ÷ inserts/s of a bare Flask +
  SQLAlchemy endpoint served the same way | ≥ 0.5 |
| ranking + allocation, 10 000 proposals × 3 reviews: time ÷ time at 1 000 | ≤ 12, < 1 s |
| award letters/s ÷ a bare ReportLab page with the same font | ≥ 0.5 |
| SQL queries per page at 1 000 vs 10 proposals | equal |
| peak memory of streaming 2 000 letters in a ZIP − 20 letters | < 50 MB |

PostgreSQL is reached at BENCH_DATABASE_URL (default postgresql+psycopg://postgres@
127.0.0.1:5432/); the bench creates its databases there and drops them. Without it, the
rows that need it say "not measured". The letters' rows come from benchmarks/letters.py
(`bench_letters(folder)` returning rows) once that module exists.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import tempfile
import traceback

from benchmarks.common import Row, not_measured

LETTERS_FIGURE = "award letters/s ÷ a bare ReportLab page with the same font"
LETTERS_TARGET = "≥ 0.5"
ZIP_FIGURE = "peak memory of streaming 2 000 letters in a ZIP − 20 letters"
ZIP_TARGET = "< 50 MB"


def letters_rows(folder: str) -> list[Row]:
    """The letters' rows from benchmarks/letters.py when it exists; else "not measured"."""
    if importlib.util.find_spec("benchmarks.letters") is None:
        return [
            not_measured(LETTERS_FIGURE, LETTERS_TARGET, "no award letters yet"),
            not_measured(ZIP_FIGURE, ZIP_TARGET, "no award letters yet"),
        ]
    from benchmarks.letters import bench_letters

    return [as_row(row) for row in bench_letters(folder)]


def as_row(row) -> Row:
    """A row as Row, from a Row, a dict of its fields or a tuple in their order."""
    if isinstance(row, Row):
        return row
    if isinstance(row, dict):
        return Row(**row)
    return Row(*row)


def is_memory(row: Row) -> bool:
    return "memor" in row.figure.lower() or "zip" in row.figure.lower()


def guarded(name: str, bench) -> list[Row]:
    """A benchmark's rows; a benchmark that fails gives a row saying so, not a traceback
    instead of the table."""
    try:
        rows = bench()
    except Exception as error:
        traceback.print_exc(file=sys.stderr)
        return [Row(name, "—", "", False, f"failed: {type(error).__name__}: {error}")]
    return rows if isinstance(rows, list) else [rows]


def verdict(ok: bool | None) -> str:
    return {True: "ok", False: "MISSED", None: "not measured"}[ok]


def print_table(rows: list[Row]) -> None:
    print()
    print("| figure | value | target | verdict |")
    print("|---|---|---|---|")
    for row in rows:
        print(f"| {row.figure} | {row.value} | {row.target} | {verdict(row.ok)} |")
    print()
    for row in rows:
        if row.detail:
            print(f"- {row.figure}: {row.detail}")


def main() -> int:
    # The migrations' and the served apps' log lines are not the table.
    logging.disable(logging.WARNING)
    from benchmarks.queries import bench_queries
    from benchmarks.scale import FIGURE as SCALE
    from benchmarks.scale import bench_scale
    from benchmarks.submissions import FIGURE as SUBMISSIONS
    from benchmarks.submissions import bench_submissions

    submissions = guarded(SUBMISSIONS, lambda: bench_submissions()[0])
    scale = guarded(SCALE, bench_scale)
    with tempfile.TemporaryDirectory() as folder:
        letters = guarded(LETTERS_FIGURE, lambda: letters_rows(folder))
    queries = guarded("SQL queries per page", bench_queries)
    # The issue's order: the letters' throughput third, their memory last.
    memory = [row for row in letters if is_memory(row)]
    throughput = [row for row in letters if not is_memory(row)]
    print_table(submissions + scale + throughput + queries + memory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
