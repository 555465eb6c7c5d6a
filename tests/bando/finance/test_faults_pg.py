"""A gunicorn worker killed (SIGKILL) while it issues a call's letters for the ZIP, on
PostgreSQL: after the kill the protocols already given are kept and no number is lost or
given twice; the ZIP asked again issues each letter once, the numbers gap-free, and the
audit chain stays intact. How the worker is stopped mid-transaction: tests/faults.py."""

import io
import zipfile

import pytest
from sqlalchemy import func, select

from bando.core.extensions import db
from bando.core.models import AuditEvent
from bando.finance import operations
from bando.finance.models import Letter
from tests.access_world import token
from tests.faults import (
    audit_verified,
    kill_in_the_middle,
    pause_before_insert,
    request,
    resume,
    serving,
)
from tests.letters_factories import letters_world


@pytest.fixture
def server(app, tmp_path, postgres_only):
    with serving(tmp_path) as server:
        yield server


def letters(edition_id):
    """(number, protocol, application, kind) of the call's letters, in number order."""
    db.session.expire_all()
    rows = db.session.execute(
        select(Letter.number, Letter.protocol, Letter.application_id, Letter.kind)
        .where(Letter.edition_id == edition_id)
        .order_by(Letter.number)
    ).all()
    db.session.rollback()
    return [tuple(row) for row in rows]


def issued_events():
    db.session.expire_all()
    return db.session.scalar(
        select(func.count(AuditEvent.id)).where(AuditEvent.trigger == "issue_letter")
    )


def test_a_worker_killed_mid_letters_batch(app, client, runner, server):
    world = letters_world()
    edition, finance = world["edition"], world["finance"]
    code, edition_id = edition.code, edition.id
    expected = len(operations.edition_applications(edition))
    assert expected >= 4
    # One letter given before the batch: its protocol must survive the kill unchanged.
    operations.issue([world["first"]], finance)
    db.session.commit()
    (earlier,) = letters(edition_id)
    assert earlier[0] == 1
    headers = token(client, finance.email)
    path = f"/api/v1/editions/{code}/letters"
    zip_path = f"{path}.zip"
    audit_verified(runner)
    # The batch writes its first letter (number 2) and waits before the next one.
    pause_before_insert(
        "letter", "(SELECT count(*) FROM letter WHERE edition_id = NEW.edition_id) >= 2"
    )

    kill_in_the_middle(server, lambda: request(server.port, "POST", path, headers))

    assert letters(edition_id) == [earlier]  # no number used up, none given twice
    assert issued_events() == 1
    audit_verified(runner)

    resume()
    status, _, answer = request(server.port, "POST", path, headers)
    assert status == 200, answer
    assert answer["issued_now"] == expected - 1 and answer["missing"] == 0
    status, _, archive = request(server.port, "GET", zip_path, headers)
    assert status == 200, archive
    issued = letters(edition_id)
    numbers = [number for number, *_ in issued]
    assert numbers == list(range(1, expected + 1))  # gap-free, each once
    assert issued[0] == earlier
    assert len({(application, kind) for *_, application, kind in issued}) == expected
    assert len({protocol for _, protocol, *_ in issued}) == expected
    assert issued_events() == expected
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        names = opened.namelist()
        assert opened.testzip() is None
    assert len(names) == expected
    for _, protocol, _, kind in issued:
        assert f"{kind}-{protocol.replace('/', '-')}.pdf" in names

    status, _, _ = request(server.port, "POST", path, headers)
    assert status == 200
    status, _, again = request(server.port, "GET", zip_path, headers)
    assert status == 200 and again == archive  # nothing issued again, the same letters
    assert letters(edition_id) == issued
    assert issued_events() == expected
    audit_verified(runner)
