"""`bando tick` (cron): each package registers the jobs that the passing of time makes
due (open a call, expire a request for documents, close a call…); they run in order."""

from collections.abc import Callable
from datetime import datetime

from bando.core.timeutil import utcnow

Job = Callable[[datetime], list[str]]
JOBS: list[tuple[int, str, Job]] = []


def tick_job(order: int):
    """Registers a job; lower `order` runs first. A job commits its own changes and
    returns one line per thing it did."""

    def register(job: Job) -> Job:
        if all(existing is not job for _, _, existing in JOBS):
            JOBS.append((order, job.__name__, job))
            JOBS.sort(key=lambda entry: (entry[0], entry[1]))
        return job

    return register


def tick(now: datetime | None = None) -> list[str]:
    now = now or utcnow()
    done = []
    for _, _, job in JOBS:
        done.extend(job(now))
    return done
