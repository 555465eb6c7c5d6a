from sqlalchemy import func, select

from bando.accounts.models import User
from bando.accounts.operations import authenticate
from bando.applications.models import Application
from bando.calls.models import Edition
from bando.core.audit import verify_chain
from bando.core.extensions import db
from bando.demo import DEMO_CODE, PASSWORD


def _states():
    rows = db.session.execute(
        select(Application.state, func.count()).group_by(Application.state)
    ).all()
    return dict(rows)


def test_demo_loads_every_persona_and_is_idempotent(runner):
    assert runner.invoke(args=["init"]).exit_code == 0
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    for role in ("admin", "officer", "evaluator", "finance", "applicant"):
        assert role in result.output
    assert PASSWORD in result.output

    demo = db.session.scalar(select(Edition).where(Edition.code == DEMO_CODE))
    assert demo.state == "open"
    codes = set(db.session.scalars(select(Edition.code)))
    assert {"cdq-2017-2018", "cdq-2019", DEMO_CODE} <= codes
    states = _states()
    assert states == {"draft": 1, "submitted": 2, "integration_requested": 1, "eligible": 1}
    # Every printed login works with the printed password.
    for line in result.output.splitlines():
        parts = line.split()
        if len(parts) == 2 and "@" in parts[1]:
            user = authenticate(parts[1], PASSWORD)
            assert user is not None and user.role == parts[0]

    users = db.session.scalar(select(func.count(User.id)))
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0
    assert db.session.scalar(select(func.count(User.id))) == users
    assert _states() == states
    assert verify_chain().ok


def test_demo_submissions_have_protocols(runner):
    runner.invoke(args=["init"])
    runner.invoke(args=["demo"])
    protocols = db.session.scalars(
        select(Application.protocol).where(Application.protocol.is_not(None))
    ).all()
    assert sorted(protocols) == ["DEMO/0001", "DEMO/0002", "DEMO/0003", "DEMO/0004"]
