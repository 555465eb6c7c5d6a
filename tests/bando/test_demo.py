from sqlalchemy import func, select

from bando.accounts.models import Organisation, User
from bando.accounts.operations import authenticate
from bando.applications.facts import submission_problems
from bando.applications.models import Application, Attachment
from bando.budget.models import Award
from bando.calls.models import Edition
from bando.core import audit
from bando.core.audit import verify_chain
from bando.core.extensions import db
from bando.core.models import AuditEvent
from bando.demo import ASSIGNED_CODE, DEMO_CODE, PASSWORD
from tests.factories import create_organisation, create_user
from tests.lifecycle_factories import create_application

DRAFT_OWNER = "biblioteca.sansiro@bando.demo"


def _states():
    rows = db.session.execute(
        select(Application.state, func.count()).group_by(Application.state)
    ).all()
    return dict(rows)


def _count(model):
    return db.session.scalar(select(func.count(model.id)))


def _draft():
    return db.session.scalar(
        select(Application)
        .join(User, User.organisation_id == Application.organisation_id)
        .where(User.email == DRAFT_OWNER)
    )


def _fresh_demo(runner):
    assert runner.invoke(args=["init"]).exit_code == 0
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    return result


def test_demo_loads_every_persona_and_is_idempotent(runner):
    result = _fresh_demo(runner)
    for role in ("admin", "officer", "evaluator", "finance", "applicant"):
        assert role in result.output
    assert PASSWORD in result.output

    demo = db.session.scalar(select(Edition).where(Edition.code == DEMO_CODE))
    assert demo.state == "open"
    codes = set(db.session.scalars(select(Edition.code)))
    assert {"cdq-2017-2018", "cdq-2019", DEMO_CODE} <= codes
    states = _states()
    assert states == {
        **{"draft": 1, "submitted": 2, "integration_requested": 1, "eligible": 1},
        **{"funded": 2, "reserve": 1},  # the assigned demo call
    }
    # Every printed login works with the printed password.
    for line in result.output.splitlines():
        parts = line.split()
        if len(parts) == 2 and "@" in parts[1]:
            user = authenticate(parts[1], PASSWORD)
            assert user is not None and user.role == parts[0]

    users = _count(User)
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0
    assert _count(User) == users
    assert _states() == states
    assert verify_chain().ok


def test_every_event_of_the_demo_has_words_in_both_languages(app, runner):
    """The administrator's register names every trigger the demo's trail holds (the demo
    walks every step: its events are those of the whole lifecycle)."""
    from bando.core.labels import event_label
    from bando.core.models import AuditEvent

    _fresh_demo(runner)
    kinds = db.session.execute(select(AuditEvent.subject, AuditEvent.trigger).distinct()).all()
    assert len(kinds) > 10
    for language in ("it", "en"):
        with app.test_request_context(f"/?lang={language}"):
            app.preprocess_request()
            unnamed = [k for k in kinds if event_label(*k) == k.trigger]
            assert unnamed == [], language


def test_the_draft_to_complete_has_work_left(runner):
    _fresh_demo(runner)
    draft = _draft()
    assert draft.state == "draft"
    assert draft.attachments == []
    assert draft.objectives == "" and draft.timeline == "" and draft.budget_lines == []
    problems = submission_problems(draft)
    assert any("piano economico" in p for p in problems), problems
    assert sum("manca l'allegato" in p for p in problems) == len(draft.edition.required_attachments)


def test_demo_submissions_have_protocols(runner):
    _fresh_demo(runner)
    protocols = db.session.scalars(
        select(Application.protocol).where(Application.protocol.is_not(None))
    ).all()
    assert sorted(protocols) == [
        *["DEMO/0001", "DEMO/0002", "DEMO/0003", "DEMO/0004"],
        *["DEMOA/0001", "DEMOA/0002", "DEMOA/0003"],
    ]


def test_the_assigned_demo_call_gives_finance_and_the_beneficiaries_work(app, runner):
    _fresh_demo(runner)
    edition = db.session.scalar(select(Edition).where(Edition.code == ASSIGNED_CODE))
    assert edition.state == "allocated"
    rows = db.session.execute(
        select(Organisation.name, Application.state, Award.state, Award.accepted_at)
        .join(Application, Application.organisation_id == Organisation.id)
        .outerjoin(Award, Award.application_id == Application.id)
        .where(Application.edition_id == edition.id)
        .order_by(Application.protocol_number)
    ).all()
    assert [(name, state, award) for name, state, award, _ in rows] == [
        ("Gratosoglio Insieme ODV", "funded", "active"),
        ("Comitato Inquilini Ponte Lambro", "funded", "active"),
        ("Fondazione Mazzini Bene Comune", "reserve", None),
    ]
    assert all(accepted for *_, award, accepted in rows if award)
    # The ranking came from three submitted reviews each, the events say who did what.
    triggers = set(
        db.session.scalars(select(AuditEvent.trigger).where(AuditEvent.edition_id == edition.id))
    )
    assert {"submit", "declare_eligible", "submit_review", "rank", "allocate", "accept"} <= (
        triggers
    )
    assert verify_chain().ok

    client = app.test_client()
    headers = token_headers(client, "ragioneria@bando.demo")
    letters = client.get(f"/api/v1/editions/{ASSIGNED_CODE}/letters", headers=headers)
    assert letters.status_code == 200, letters.get_json()
    assert [row["kind"] for row in letters.get_json()["letters"]] == ["award", "award", "reserve"]
    register = client.get(f"/api/v1/editions/{ASSIGNED_CODE}/payments", headers=headers)
    assert register.status_code == 200, register.get_json()
    paid = register.get_json()["payments"]
    assert [(p["organisation"], p["kind"], p["amount"]) for p in paid] == [
        ("Gratosoglio Insieme ODV", "advance", "4250.00")
    ]
    mine = token_headers(client, "insieme.gratosoglio@bando.demo")
    listed = client.get("/api/v1/applications", headers=mine).get_json()["applications"]
    assert sorted(a["state"] for a in listed) == ["funded", "submitted"]


def token_headers(client, email):
    response = client.post("/api/v1/tokens", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_demo_refuses_a_database_in_use_unless_forced(runner):
    assert runner.invoke(args=["init"]).exit_code == 0
    organisation = create_organisation(name="Associazione Vera di Quarto Oggiaro")
    create_user("applicant", "segreteria@vera.example.it", organisation=organisation)
    db.session.commit()
    users = _count(User)

    refused = runner.invoke(args=["demo"])

    assert refused.exit_code != 0
    assert "not the demo's" in refused.output
    assert "Associazione Vera di Quarto Oggiaro" in refused.output
    assert "--force" in refused.output
    assert _count(User) == users
    assert db.session.scalar(select(Edition.id).where(Edition.code == DEMO_CODE)) is None

    forced = runner.invoke(args=["demo", "--force"])
    assert forced.exit_code == 0, forced.output
    assert _count(User) == users + 11
    assert verify_chain().ok


def test_a_demo_database_where_someone_registered_still_loads(runner):
    _fresh_demo(runner)
    create_user("applicant", "nuova@example.it")  # registered while trying the site
    db.session.commit()
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0, again.output


def test_reset_makes_the_walk_through_as_new(runner):
    _fresh_demo(runner)
    fresh_states = _states()
    counts = {model: _count(model) for model in (User, Organisation, Application, Attachment)}
    # The walk-through, in part: the draft written, a request answered by the officer…
    draft = _draft()
    draft.title = "Titolo cambiato durante la prova"
    from bando.applications.lifecycle import fire

    officer = db.session.scalar(select(User).where(User.email == "istruttore@bando.demo"))
    submitted = db.session.scalar(select(Application).where(Application.state == "submitted"))
    fire(submitted, "declare_eligible", officer, "verificata durante la prova")
    db.session.commit()
    assert _states() != fresh_states
    events_before = verify_chain().count

    result = runner.invoke(args=["demo", "--reset"])

    assert result.exit_code == 0, result.output
    assert f"{events_before} events dropped" in result.output
    db.session.expire_all()
    assert _states() == fresh_states
    assert _draft().title != "Titolo cambiato durante la prova"
    assert {model: _count(model) for model in counts} == counts
    chain = verify_chain()
    assert chain.ok, chain.problem
    first = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id).limit(1))
    assert first.trigger == "reset_demo"
    assert first.payload["dropped_events"] == events_before
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    # The shipped calls are still there.
    assert {"cdq-2017-2018", "cdq-2019"} <= set(db.session.scalars(select(Edition.code)))


def test_reset_refuses_when_the_audit_chain_tells_of_other_data(runner):
    _fresh_demo(runner)
    edition = db.session.scalar(select(Edition).where(Edition.code == "cdq-2019"))
    organisation = create_organisation()
    applicant = create_user("applicant", organisation=organisation)
    application = create_application(edition, organisation, applicant)
    audit.append(
        subject="application",
        trigger="withdraw",
        actor=applicant,
        application_id=application.id,
        edition_id=edition.id,
        from_state="draft",
        to_state="withdrawn",
    )
    db.session.commit()
    users, events = _count(User), verify_chain().count

    result = runner.invoke(args=["demo", "--reset", "--force"])

    assert result.exit_code != 0
    assert "audit chain" in result.output and "nothing was deleted" in result.output
    db.session.expire_all()
    assert _count(User) == users
    chain = verify_chain()
    assert chain.ok and chain.count == events


def test_reset_refuses_once_an_account_was_made_from_the_console(runner):
    _fresh_demo(runner)
    made = runner.invoke(
        args=["users", "create", "--role", "finance", "--email", "cassa@comune.example.it"]
        + ["--password", "una-password-lunga"]
    )
    assert made.exit_code == 0, made.output
    events = verify_chain().count
    result = runner.invoke(args=["demo", "--reset", "--force"])
    assert result.exit_code != 0 and "nothing was deleted" in result.output
    assert verify_chain().count == events
