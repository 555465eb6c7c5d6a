"""bando.applications.lifecycle.fire: the one entry point of state changes, on a real database."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bando.accounts.models import User
from bando.applications.facts import attached_kinds, proposal_of
from bando.applications.lifecycle import expire_if_overdue, fire, integration_deadline
from bando.applications.models import Application, BudgetLine
from bando.applications.notifications import recipients
from bando.budget.models import Award
from bando.calls.lifecycle import fire_edition
from bando.calls.models import Edition
from bando.core import audit
from bando.core.extensions import db
from bando.core.models import AuditEvent, Notification
from bando.core.timeutil import utcnow
from bando.core.transitions import ConcurrentChange, TransitionRefused
from bando.evaluation.models import Review
from tests.factories import create_edition, create_organisation
from tests.lifecycle_factories import create_application, put_in_state
from tests.statements import recorded_statements
from workflows import application as machine
from workflows.proposal import BudgetLine as RuleLine


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def quick_user(role, organisation=None):
    """A user that never signs in here: no password hashing to wait for."""
    user = User(
        email=f"{role}-{len(_users)}@example.it",
        password_hash="!",
        role=role,
        organisation=organisation,
        email_confirmed_at=utcnow(),
    )
    _users.append(user)
    db.session.add(user)
    db.session.flush()
    return user


_users = []


@pytest.fixture
def world(app):
    """An open edition, an organisation with its applicant, another applicant, staff."""
    # Many applications of one organisation below: the limit per organisation is not tested here.
    edition = create_edition(max_applications_per_organisation=1000)
    organisation = create_organisation()
    actors = {
        "owner": quick_user("applicant", organisation),
        "applicant": quick_user("applicant", create_organisation()),
        "officer": quick_user("officer"),
        "evaluator": quick_user("evaluator"),
        "finance": quick_user("finance"),
        "admin": quick_user("admin"),
        "system": None,
    }
    committee = [quick_user("evaluator") for _ in range(edition.reviews_required)]
    db.session.commit()
    return {
        "edition": edition,
        "organisation": organisation,
        "actors": actors,
        "committee": committee,
    }


def expected_dest(state, trigger, kind):
    for row in machine.MACHINE.table:
        if row["trigger"] == trigger and state in row["source"] and kind in row["roles"]:
            return state if row["dest"] == "=" else row["dest"]
    return None


def favour(application, trigger, state, world):
    """What the guards of `trigger` need that the plain setting lacks (as the pure test's
    favourable facts): the call's notice before rejection, the committee's reviews."""
    notice = {"rules": {"rejection_notice_days": 10}}
    application.edition.source = notice if trigger == "notify_rejection" else {}
    if trigger == "declare_ineligible" and state == "rejection_notified":
        application.notice_answered_at = utcnow()
    if state in ("funded", "reported") and application.award is None:
        # The award of a funded application; past its acceptance deadline only where the
        # system renounces it.
        late = trigger == "renounce"
        db.session.add(
            Award(
                application=application,
                edition_id=application.edition_id,
                amount_cents=1_00,
                accept_by=utcnow() + timedelta(days=-1 if late else 1),
            )
        )
    if trigger == "complete_scoring":
        for evaluator in world["committee"]:
            db.session.add(
                Review(application=application, evaluator=evaluator, submitted_at=utcnow())
            )
    db.session.flush()


@pytest.mark.parametrize("state", machine.STATES)
def test_every_trigger_and_actor_from_each_state(world, state):
    """Allowed: moves, one audit event. Refused: a reason, and nothing written."""
    edition, organisation = world["edition"], world["organisation"]
    owner = world["actors"]["owner"]
    now = utcnow()
    for trigger in machine.TRIGGERS:
        for kind, actor in world["actors"].items():
            application = create_application(edition, organisation, owner)
            # expire_integration needs its deadline passed, integrate needs it ahead.
            deadline = now - timedelta(seconds=1) if trigger == "expire_integration" else None
            put_in_state(application, state, integration_deadline=deadline)
            favour(application, trigger, state, world)
            # Flushed, not committed: a refusal must leave even the open transaction clean.
            events, notices = count(AuditEvent), count(Notification)
            version = application.version_id
            dest = expected_dest(state, trigger, kind)
            case = f"{state} --{trigger}/{kind}-->"
            if dest is None:
                with pytest.raises(TransitionRefused) as refused:
                    fire(application, trigger, actor, "motivazione")
                assert refused.value.reason, case
                assert not db.session.dirty and not db.session.new, case
                assert application.state == state, case
                assert application.version_id == version, case
                assert count(AuditEvent) == events, case
                assert count(Notification) == notices, case
            else:
                event = fire(application, trigger, actor, "motivazione")
                assert application.state == dest, case
                assert application.version_id > version, case  # the row was written
                assert count(AuditEvent) == events + 1, case
                assert (event.from_state, event.to_state, event.trigger) == (state, dest, trigger)
                assert event.actor_id == (actor.id if actor else None), case
                assert event.application_id == application.id
    db.session.commit()
    assert audit.verify() is None


def test_submit_assigns_protocol_and_queues_the_receipt(world):
    edition, organisation = world["edition"], world["organisation"]
    owner = world["actors"]["owner"]
    first = create_application(edition, organisation, owner)
    second = create_application(edition, organisation, owner, title="Secondo")
    db.session.commit()
    fire(first, "submit", owner)
    fire(second, "submit", owner)
    db.session.commit()
    assert first.protocol == f"{edition.protocol_prefix}/0001"
    assert second.protocol == f"{edition.protocol_prefix}/0002"
    assert (first.protocol_number, second.protocol_number) == (1, 2)
    assert first.submitted_at is not None
    assert db.session.get(Edition, edition.id).protocol_counter == 2
    notices = db.session.scalars(
        select(Notification).where(Notification.application_id == first.id)
    ).all()
    assert {n.to_address for n in notices} == {organisation.pec, owner.email}
    assert all(first.protocol in n.subject for n in notices)
    assert "Domanda presentata" in notices[0].subject


def test_incomplete_submission_lists_every_problem_and_takes_no_number(world):
    edition, organisation = world["edition"], world["organisation"]
    owner = world["actors"]["owner"]
    application = create_application(edition, organisation, owner)
    application.title = " "
    application.attachments.clear()
    db.session.commit()
    with pytest.raises(TransitionRefused) as refused:
        fire(application, "submit", owner)
    assert refused.value.code == "incomplete"
    assert "manca il titolo del progetto" in refused.value.reason
    assert "allegato" in refused.value.reason
    db.session.rollback()
    assert db.session.get(Edition, edition.id).protocol_counter == 0
    assert application.protocol is None


def test_the_completeness_facts_are_those_the_session_holds_not_yet_written(world):
    """The facts are read as rows: what the session holds and has not flushed counts all
    the same, a new application's included (nothing is read from a stale table)."""
    edition, organisation = world["edition"], world["organisation"]
    owner = world["actors"]["owner"]

    def unwritten(**fields):
        application = Application(
            edition=edition, organisation=organisation, created_by=owner, title="t", **fields
        )
        db.session.add(application)
        return application

    new = unwritten(budget_lines=[BudgetLine(category="personale", amount_cents=5_00)])
    assert proposal_of(new).budget == (RuleLine("personale", 5_00, ""),)
    assert recipients(unwritten()) == [organisation.pec, owner.email]
    application = create_application(edition, organisation, owner)
    application.budget_lines.append(BudgetLine(category="materiali", amount_cents=1_00))
    application.attachments.pop()
    budget = [line.amount_cents for line in proposal_of(application).budget]
    assert budget == [9_000_00, 3_000_00, 1_00]
    assert len(attached_kinds(application)) == len(edition.required_attachments) - 1


def test_deadline_exactly_at_closes_at_refused_one_second_before_accepted(world):
    edition, organisation = world["edition"], world["organisation"]
    owner = world["actors"]["owner"]
    closes_at = datetime(2030, 4, 15, 10, 0, tzinfo=UTC)  # 12:00 in Rome
    edition.opens_at = closes_at - timedelta(days=40)
    edition.closes_at = closes_at
    late = create_application(edition, organisation, owner)
    on_time = create_application(edition, organisation, owner, title="In tempo")
    db.session.commit()
    with pytest.raises(TransitionRefused) as refused:
        fire(late, "submit", owner, now=closes_at)
    assert refused.value.code == "deadline_passed"
    assert "15/04/2030 alle ore 12:00" in refused.value.reason
    db.session.rollback()
    fire(on_time, "submit", owner, now=closes_at - timedelta(seconds=1))
    db.session.commit()
    assert (late.state, on_time.state) == ("draft", "submitted")
    assert on_time.protocol.endswith("/0001")


def test_integration_deadline_is_the_end_of_the_day_in_rome():
    # 15/03/2019 23:30 in Rome is still the 15th there although it is 22:30 UTC.
    asked = datetime(2019, 3, 15, 22, 30, tzinfo=UTC)
    deadline = integration_deadline(asked, 10)
    assert deadline.astimezone(UTC) == datetime(2019, 3, 25, 22, 59, 59, tzinfo=UTC)
    # Across the change to summer time (31/03/2019) the wall clock still says 23:59:59.
    deadline = integration_deadline(asked, 20)
    assert deadline.astimezone(UTC) == datetime(2019, 4, 4, 21, 59, 59, tzinfo=UTC)


def test_request_for_documents_then_lazy_expiry(world):
    edition, organisation = world["edition"], world["organisation"]
    owner, officer = world["actors"]["owner"], world["actors"]["officer"]
    application = put_in_state(create_application(edition, organisation, owner), "submitted")
    db.session.commit()
    asked = utcnow()
    fire(application, "request_integration", officer, "Allegare lo statuto firmato.", now=asked)
    db.session.commit()
    assert application.state == "integration_requested"
    assert application.integration_request == "Allegare lo statuto firmato."
    assert application.integration_deadline == integration_deadline(asked, 10)
    notice = db.session.scalars(
        select(Notification).where(Notification.subject.like("Richiesta di integrazione%"))
    ).first()
    assert "Allegare lo statuto firmato." in notice.body
    last_second = application.integration_deadline  # 23:59:59 Rome time of the last day
    assert expire_if_overdue(application, now=last_second + timedelta(milliseconds=999)) is None
    assert application.state == "integration_requested"
    assert expire_if_overdue(application, now=last_second + timedelta(seconds=1)) is not None
    db.session.commit()
    assert application.state == "ineligible"
    [_, expired] = audit.events_of_application(application.id)
    assert (expired.trigger, expired.actor_id, expired.actor_label) == (
        "expire_integration",
        None,
        "sistema",
    )
    assert "integrazione non pervenuta" in expired.reason


def test_lazy_expiry_waits_for_the_deadline(world):
    edition, organisation = world["edition"], world["organisation"]
    owner = world["actors"]["owner"]
    application = create_application(edition, organisation, owner)
    deadline = utcnow() + timedelta(hours=1)
    put_in_state(application, "integration_requested", integration_deadline=deadline)
    db.session.commit()
    assert expire_if_overdue(application, now=deadline) is None
    assert application.state == "integration_requested"
    # The owner may answer until the end of the last second, not after.
    with pytest.raises(TransitionRefused) as refused:
        fire(application, "integrate", owner, now=deadline + timedelta(seconds=1))
    assert refused.value.code == "integration_deadline_passed"
    fire(application, "integrate", owner, now=deadline + timedelta(milliseconds=999))
    db.session.commit()
    assert application.state == "submitted"


def test_stale_write_is_a_conflict_and_writes_nothing(world, app):
    """Two sessions read the same version; the second to write gets ConcurrentChange."""
    edition, organisation = world["edition"], world["organisation"]
    owner, officer = world["actors"]["owner"], world["actors"]["officer"]
    application = put_in_state(create_application(edition, organisation, owner), "submitted")
    db.session.commit()
    application_id = application.id
    assert application.state == "submitted"  # loaded at version 1 in this session

    # Another process decides first, in its own session and connection.
    with Session(db.engine) as session:
        theirs = session.get(Application, application_id)
        theirs.state = "ineligible"  # the concurrent writer; bypasses fire on purpose
        session.commit()

    events = count(AuditEvent)
    with pytest.raises(ConcurrentChange) as conflict:
        fire(application, "declare_eligible", officer)
    assert conflict.value.code == "concurrent_update"
    assert count(AuditEvent) == events
    assert db.session.get(Application, application_id).state == "ineligible"


def test_fire_edition_close_and_rank(world):
    edition = world["edition"]
    officer = world["actors"]["officer"]
    applicant = world["actors"]["owner"]
    with pytest.raises(TransitionRefused):
        fire_edition(edition, "close", applicant)
    db.session.rollback()
    with pytest.raises(TransitionRefused) as refused:
        fire_edition(edition, "close", None)  # the tick, before closes_at
    assert refused.value.code == "deadline_not_passed"
    db.session.rollback()
    event = fire_edition(edition, "close", officer, "chiusura anticipata")
    db.session.commit()
    assert (edition.state, event.subject, event.edition_id) == ("closed", "edition", edition.id)
    application = create_application(edition, world["organisation"], applicant)
    put_in_state(application, "eligible")
    db.session.commit()
    with pytest.raises(TransitionRefused) as refused:
        fire_edition(edition, "rank", officer)
    assert refused.value.reason == "domande ammissibili ancora da valutare: 1"
    db.session.rollback()
    with pytest.raises(TransitionRefused) as refused:
        fire(application, "complete_scoring", officer)
    assert refused.value.code == "reviews_missing"
    for evaluator in world["committee"]:
        db.session.add(Review(application=application, evaluator=evaluator, submitted_at=utcnow()))
    fire(application, "complete_scoring", officer)
    fire_edition(edition, "rank", officer)
    db.session.commit()
    assert edition.state == "ranked"
    assert audit.verify() is None


def test_submitting_to_a_closed_edition_is_refused(world):
    edition, organisation = world["edition"], world["organisation"]
    owner, officer = world["actors"]["owner"], world["actors"]["officer"]
    application = create_application(edition, organisation, owner)
    fire_edition(edition, "close", officer)
    db.session.commit()
    with pytest.raises(TransitionRefused) as refused:
        fire(application, "submit", owner)
    assert refused.value.code == "edition_not_open"


def _changed_behind_the_session(edition, **values):
    """The edition changed in the database as another transaction would have, while this
    session still holds its earlier read (the guards see the old values)."""
    db.session.execute(
        update(Edition)
        .where(Edition.id == edition.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"state": "closed"}, "edition_not_open"),
        ({"closes_at": utcnow() - timedelta(minutes=1)}, "deadline_passed"),
    ],
)
def test_a_call_closed_after_the_checks_refuses_under_the_lock(world, change, code):
    """The guards pass on the session's copy of the call; the counter's UPDATE asks again
    on the row as committed, and a call closed (or its deadline moved) meanwhile refuses,
    taking no number and writing nothing."""
    edition, organisation = world["edition"], world["organisation"]
    owner = world["actors"]["owner"]
    application = create_application(edition, organisation, owner)
    db.session.commit()
    before = (count(AuditEvent), count(Notification))
    assert edition.state == "open"  # loaded: the guards will see it open
    _changed_behind_the_session(edition, **change)
    with pytest.raises(TransitionRefused) as refused:
        fire(application, "submit", owner)
    assert refused.value.code == code
    db.session.flush()
    assert db.session.scalar(select(Edition.protocol_counter).where(Edition.id == edition.id)) == 0
    assert application.protocol is None and application.state == "draft"
    assert (count(AuditEvent), count(Notification)) == before


def submitted_recording(world, lines: int = 0, colleagues: int = 0):
    """A fresh draft submitted as a request finds it (nothing loaded yet): the application
    and the statements of its submission. With `lines` budget lines instead of the
    factory's two, told also to `colleagues` more users of the organisation."""
    edition, organisation = world["edition"], world["organisation"]
    owner = world["actors"]["owner"]
    for _ in range(colleagues):
        quick_user("applicant", organisation)
    application = create_application(edition, organisation, owner, title=f"Progetto {lines}")
    if lines:
        application.budget_lines = [
            BudgetLine(
                category="materiali", description=f"Voce {n}", amount_cents=12_000_00 // lines
            )
            for n in range(lines)
        ]
    db.session.commit()
    db.session.expire_all()
    application = db.session.get(Application, application.id)
    owner = db.session.get(User, owner.id)
    with recorded_statements() as statements:
        fire(application, "submit", owner)
    db.session.commit()
    return application, statements


def test_submission_reads_everything_before_taking_the_calls_lock(world):
    """From the UPDATE that bumps the protocol counter (the call's row lock) to the end of
    fire(), only writes and the audit head's lock: no row is read lazily while other
    submissions to the call wait."""
    application, statements = submitted_recording(world)
    locked = next(i for i, s in enumerate(statements) if s.startswith("UPDATE edition"))
    under_lock = statements[locked:]
    reads = [
        s for s in under_lock if s.startswith("SELECT") and not s.startswith("SELECT audit_head")
    ]
    assert reads == [], reads
    assert application.protocol == f"{world['edition'].protocol_prefix}/0001"
    assert count(Notification) == 2  # the PEC and the owner: read before the lock


def test_a_submission_reads_what_its_checks_need_in_two_statements(world):
    """Before the call's lock, besides the call itself (which a request loads with the
    application): the completeness checks' rows (the proposal, the call's rules, the
    documents) in one statement, then who is told. Each statement costs more than its
    rows; they used to be seven."""
    application, statements = submitted_recording(world)
    locked = next(i for i, s in enumerate(statements) if s.startswith("UPDATE edition"))
    reads = [s for s in statements[:locked] if s.startswith("SELECT") and "FROM edition" not in s]
    assert len(reads) == 2, "\n".join(s[:90] for s in reads)
    assert "UNION ALL" in reads[0] and "FROM organisation" in reads[1]
    assert application.state == "submitted"


def test_a_submission_sends_as_many_statements_whatever_the_proposal_size(world):
    """The completeness checks and the recipients are read as plain rows: a bigger budget
    or more people to tell mean longer answers, not more queries (nor the ORM's per-row
    lazy loads)."""
    submitted_recording(world, lines=1)  # the first also starts the chain
    _, small = submitted_recording(world, lines=1)
    _, large = submitted_recording(world, lines=12, colleagues=5)
    assert len(large) == len(small), "\n".join(s[:90] for s in large)
    # Each message is one row of a single INSERT of the outbox: 2, 2, then 7 recipients.
    assert sum(s.startswith("INSERT INTO notification") for s in large) == 1
    assert count(Notification) == 2 + 2 + 7
