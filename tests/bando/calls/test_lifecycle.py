"""A call loaded before its opening date opens by itself when the date comes."""

from datetime import timedelta

import pytest

from bando.applications.operations import create_draft
from bando.calls.lifecycle import fire_edition, open_if_due
from bando.core.extensions import db
from bando.core.models import AuditEvent
from bando.core.operations import OperationError
from bando.core.timeutil import utcnow
from bando.core.transitions import TransitionRefused
from tests.bando.applications.data import proposal
from tests.factories import create_edition, create_user


def _draft_edition(opens_in):
    now = utcnow()
    return create_edition(
        state="draft", opens_at=now + opens_in, closes_at=now + timedelta(days=20)
    )


def test_the_tick_opens_a_call_on_its_date_and_not_before(runner):
    edition = _draft_edition(timedelta(hours=2))
    db.session.commit()
    result = runner.invoke(args=["tick"])
    assert result.exit_code == 0
    db.session.refresh(edition)
    assert edition.state == "draft"

    later = utcnow() + timedelta(hours=3)
    from bando.core.tick import tick

    assert f"edition {edition.code}: opened" in tick(now=later)
    db.session.refresh(edition)
    assert edition.state == "open"
    event = db.session.query(AuditEvent).filter_by(edition_id=edition.id, trigger="open").one()
    assert (event.from_state, event.to_state, event.actor_id) == ("draft", "open", None)
    assert tick(now=later) == []  # nothing left to do


def test_the_system_never_opens_early_or_late_but_an_officer_may_open_early(app):
    edition = _draft_edition(timedelta(days=1))
    officer = create_user("officer")
    db.session.commit()
    assert open_if_due(edition) is None
    with pytest.raises(TransitionRefused) as refused:
        fire_edition(edition, "open", None)
    assert refused.value.code == "not_yet_open"
    db.session.rollback()
    with pytest.raises(TransitionRefused) as refused:
        fire_edition(edition, "open", None, now=edition.closes_at)
    assert refused.value.code == "deadline_passed"
    db.session.rollback()
    fire_edition(edition, "open", officer, "apertura anticipata")
    db.session.commit()
    assert edition.state == "open"


def test_the_first_proposal_opens_a_call_whose_date_has_come(app):
    edition = _draft_edition(-timedelta(minutes=5))
    applicant = create_user("applicant")
    db.session.commit()
    application = create_draft(applicant, proposal(edition))
    db.session.commit()
    assert edition.state == "open"
    assert application.edition_id == edition.id


def test_a_proposal_before_the_opening_date_is_refused(app):
    edition = _draft_edition(timedelta(days=1))
    applicant = create_user("applicant")
    db.session.commit()
    with pytest.raises(OperationError) as refused:
        create_draft(applicant, proposal(edition))
    assert "non è ancora aperto" in refused.value.message
    db.session.rollback()
    assert edition.state == "draft"
