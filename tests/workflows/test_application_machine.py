"""The application and edition machines as pure functions: no app, no database."""

from datetime import UTC, datetime, timedelta

import pytest

from workflows import application as machine
from workflows import diagram
from workflows import edition as edition_machine
from workflows.machine import Refused

NOW = datetime(2019, 4, 15, 10, 0, tzinfo=UTC)  # 12:00 in Rome (CEST)
CLOSES = NOW


def facts(kind, **overrides):
    """Facts under which every guard passes, for an actor kind of ACTOR_KINDS."""
    role = {"owner": "applicant", "system": None}.get(kind, kind)
    values = {
        "now": NOW - timedelta(hours=1),
        "actor_role": role,
        "is_owner": kind == "owner",
        "reason": "motivazione",
        "edition_state": "open",
        "opens_at": NOW - timedelta(days=30),
        "closes_at": CLOSES,
        "integration_deadline": NOW,
    }
    values.update(overrides)
    return machine.Facts(**values)


def favourable(trigger, kind, state=None):
    """Facts under which every guard of the move passes (some guards pull in opposite
    directions: the deadlines, and whether the call wants a notice before rejection)."""
    if trigger == "expire_integration":
        return facts(kind, now=NOW + timedelta(seconds=1))
    if trigger == "notify_rejection":
        return facts(kind, rejection_notice_days=10)
    if trigger == "answer_notice":
        return facts(kind, notice_deadline=NOW)
    if trigger == "declare_ineligible" and state == "rejection_notified":
        return facts(kind, rejection_notice_days=10, notice_answered=True)
    if trigger == "complete_scoring":
        return facts(kind, valid_reviews=3, reviews_required=3)
    if trigger == "renounce" and kind == "system":
        return facts(kind, acceptance_deadline=NOW - timedelta(days=1))
    if trigger == "accept":
        return facts(kind, acceptance_deadline=NOW)
    return facts(kind)


CASES = [
    (state, trigger, kind)
    for state in machine.STATES
    for trigger in machine.TRIGGERS
    for kind in machine.ACTOR_KINDS
]


def expected_dest(state, trigger, kind):
    for row in machine.TRANSITIONS:
        sources = (row["source"],) if isinstance(row["source"], str) else row["source"]
        if row["trigger"] == trigger and state in sources and kind in row["roles"]:
            return state if row["dest"] == "=" else row["dest"]
    return None


@pytest.mark.parametrize(("state", "trigger", "kind"), CASES)
def test_every_state_trigger_and_actor(state, trigger, kind):
    dest = expected_dest(state, trigger, kind)
    f = favourable(trigger, kind, state)
    if dest is None:
        refusals = machine.check(state, trigger, f)
        assert refusals and all(r.reason for r in refusals)
        with pytest.raises(Refused):
            machine.advance(state, trigger, f)
    else:
        assert machine.check(state, trigger, f) == []
        assert machine.advance(state, trigger, f) == dest


# Written from the diagram of DESIGN.md ("Application states"), not read from the table.
DESIGN_EDGES = {
    ("draft", "submit", "submitted"),
    ("submitted", "request_integration", "integration_requested"),
    ("integration_requested", "integrate", "submitted"),
    ("submitted", "declare_eligible", "eligible"),
    ("submitted", "declare_ineligible", "ineligible"),
    ("integration_requested", "declare_ineligible", "ineligible"),
    # The notice before rejection (art. 10-bis L. 241/1990), where the call sets it.
    ("submitted", "notify_rejection", "rejection_notified"),
    ("integration_requested", "notify_rejection", "rejection_notified"),
    ("rejection_notified", "answer_notice", "rejection_notified"),
    ("rejection_notified", "declare_eligible", "eligible"),
    ("rejection_notified", "declare_ineligible", "ineligible"),
    ("rejection_notified", "withdraw", "withdrawn"),
    ("integration_requested", "expire_integration", "ineligible"),
    ("eligible", "complete_scoring", "scored"),
    ("scored", "allocate_funded", "funded"),
    ("scored", "allocate_reserve", "reserve"),
    ("scored", "allocate_not_funded", "not_funded"),
    ("reserve", "fund", "funded"),
    ("draft", "withdraw", "withdrawn"),
    ("submitted", "withdraw", "withdrawn"),
    ("integration_requested", "withdraw", "withdrawn"),
    ("eligible", "withdraw", "withdrawn"),
    ("scored", "withdraw", "withdrawn"),
    ("reserve", "withdraw", "withdrawn"),
    ("funded", "file_report", "reported"),
    ("reported", "approve_report", "closed"),
    ("funded", "renounce", "renounced"),
    ("funded", "accept", "funded"),
    ("funded", "revoke", "revoked"),
    ("reported", "revoke", "revoked"),
}


def test_the_table_is_the_design():
    assert set(machine.MACHINE.edges()) == DESIGN_EDGES
    assert set(machine.MACHINE.final_states()) == {
        "ineligible", "not_funded", "closed", "withdrawn", "renounced", "revoked"
    }  # fmt: skip


def test_the_machine_moves_and_runs_the_effects_around_the_move():
    from workflows.machine import StateMachine

    seen = []
    toy = StateMachine(
        states=("a", "b"),
        table=[
            {"trigger": "go", "source": "a", "dest": "b", "roles": ("officer",), "guards": ("ok",)}
        ],
        guards={"ok": lambda f: None if f["ok"] else machine.Refusal("no", "non si può")},
        actor_kind=lambda f: f["role"],
        state_labels={"a": "A", "b": "B"},
        trigger_labels={"go": "Vai"},
        role_labels={},
        subject="una prova",
    )
    toy.effect("go")(lambda subject, context: seen.append(("before", subject.state, context)))
    toy.effect("go", when="after")(lambda subject, context: seen.append(("after", subject.state)))

    class Row:
        state = "a"

    row = Row()
    # Refused by a guard: the row stays, no effect runs.
    with pytest.raises(Refused) as refused:
        toy.fire(row, "go", {"ok": False, "role": "officer"}, context="ctx")
    assert (refused.value.code, row.state, seen) == ("no", "a", [])
    # Refused for the role: the same, with the role's reason.
    with pytest.raises(Refused) as refused:
        toy.fire(row, "go", {"ok": True, "role": "applicant"}, context="ctx")
    assert refused.value.code == "forbidden" and row.state == "a"
    # Allowed: the Machine moves the row itself, effects before and after the move.
    assert toy.fire(row, "go", {"ok": True, "role": "officer"}, context="ctx") == "b"
    assert row.state == "b"
    assert seen == [("before", "a", "ctx"), ("after", "b")]
    # A pure move (no context) runs no effect; an effect raising before the move stops it.
    assert toy.advance("a", "go", {"ok": True, "role": "officer"}) == "b"
    assert len(seen) == 2

    def veto(subject, context):
        raise Refused([machine.Refusal("late", "troppo tardi")])

    toy.effect("go")(veto)
    row.state = "a"
    with pytest.raises(Refused) as refused:
        toy.fire(row, "go", {"ok": True, "role": "officer"}, context="ctx")
    assert refused.value.code == "late" and row.state == "a"


def test_submitting_at_exactly_closes_at_is_refused_one_second_before_accepted():
    at_close = facts("owner", now=CLOSES)
    [refusal] = machine.check("draft", "submit", at_close)
    assert refusal.code == "deadline_passed"
    # Europe/Rome wall time in the reason: 10:00 UTC is 12:00 in April.
    assert "15/04/2019 alle ore 12:00" in refusal.reason
    assert machine.check("draft", "submit", facts("owner", now=CLOSES - timedelta(seconds=1))) == []


def test_submission_refusals_say_everything_at_once():
    f = facts(
        "owner",
        edition_state="closed",
        now=CLOSES + timedelta(days=1),
        submission_problems=("manca il titolo del progetto", "manca l'allegato «statuto»"),
    )
    codes = [r.code for r in machine.check("draft", "submit", f)]
    assert codes == ["edition_not_open", "deadline_passed", "incomplete"]
    with pytest.raises(Refused) as refused:
        machine.advance("draft", "submit", f)
    assert "manca il titolo del progetto" in refused.value.reason
    assert "il bando non accetta domande (stato: chiuso)" in refused.value.reason


def test_not_before_opening():
    f = facts("owner", now=NOW - timedelta(days=31))
    assert [r.code for r in machine.check("draft", "submit", f)] == ["not_yet_open"]


def test_integration_deadline_cuts_both_ways():
    # The deadline is the last second (23:59:59): all of that second is still in time.
    within_last_second = facts("owner", now=NOW + timedelta(milliseconds=999))
    after = facts("owner", now=NOW + timedelta(seconds=1))
    assert machine.check("integration_requested", "integrate", within_last_second) == []
    assert machine.check("integration_requested", "integrate", after)[0].code == (
        "integration_deadline_passed"
    )
    system_within = facts("system", now=NOW + timedelta(milliseconds=999))
    system_after = facts("system", now=NOW + timedelta(seconds=1))
    assert machine.check("integration_requested", "expire_integration", system_within)[0].code == (
        "integration_deadline_not_passed"
    )
    assert machine.advance("integration_requested", "expire_integration", system_after) == (
        "ineligible"
    )


@pytest.mark.parametrize("trigger", ["request_integration", "declare_ineligible", "revoke"])
def test_reason_is_required_where_the_decision_must_be_motivated(trigger):
    state = {"revoke": "funded"}.get(trigger, "submitted")
    [refusal] = machine.check(state, trigger, facts("officer", reason="   "))
    assert (refusal.code, refusal.reason) == ("reason_required", "indicare la motivazione")


def test_refusal_names_the_state_and_the_role():
    [wrong_state] = machine.check("funded", "submit", facts("owner"))
    assert wrong_state.code == "invalid_state"
    assert "«Finanziata»" in wrong_state.reason
    [wrong_role] = machine.check("submitted", "declare_eligible", facts("applicant"))
    assert wrong_role.code == "forbidden"
    assert "istruttore" in wrong_role.reason
    [unknown] = machine.check("draft", "explode", facts("officer"))
    assert unknown.code == "unknown_trigger"


def test_edition_machine():
    base = {"opens_at": NOW - timedelta(days=30), "closes_at": NOW}
    early = edition_machine.Facts(now=NOW - timedelta(days=1), actor_role="officer", **base)
    assert edition_machine.advance("open", "close", early) == "closed"
    tick_early = edition_machine.Facts(now=NOW - timedelta(seconds=1), actor_role=None, **base)
    assert edition_machine.check("open", "close", tick_early)[0].code == "deadline_not_passed"
    tick_late = edition_machine.Facts(now=NOW, actor_role=None, **base)
    assert edition_machine.advance("open", "close", tick_late) == "closed"
    unscored = edition_machine.Facts(now=NOW, actor_role="officer", unscored_eligible=2)
    assert "2" in edition_machine.check("closed", "rank", unscored)[0].reason
    applicant = edition_machine.Facts(now=NOW, actor_role="applicant")
    assert edition_machine.check("open", "close", applicant)[0].code == "forbidden"
    path = ["draft", "open", "closed", "ranked", "allocated", "archived"]
    officer = edition_machine.Facts(now=NOW, actor_role="officer", **base)
    triggers = ["open", "close", "rank", "allocate", "archive"]
    for (state, nxt), trigger in zip(zip(path, path[1:], strict=False), triggers, strict=True):
        assert edition_machine.advance(state, trigger, officer) == nxt


def test_reloading_a_call_never_takes_it_back():
    now = NOW
    past = {"opens_at": now - timedelta(days=30), "closes_at": now - timedelta(days=1)}
    future = {"opens_at": now + timedelta(days=1), "closes_at": now + timedelta(days=30)}
    running = {"opens_at": now - timedelta(days=1), "closes_at": now + timedelta(days=30)}
    console = {"now": now, "actor_role": None}
    # A call nobody has applied to may be reloaded, staying where it is…
    for state, dates in (("draft", future), ("open", running), ("closed", past)):
        assert (
            edition_machine.advance(state, "reload", edition_machine.Facts(**console, **dates))
            == state
        )
    # …but never back: an open call does not return to «in preparazione»…
    [refusal] = edition_machine.check("open", "reload", edition_machine.Facts(**console, **future))
    assert refusal.code == "already_open"
    # …nor a closed one to open.
    [refusal] = edition_machine.check(
        "closed", "reload", edition_machine.Facts(**console, **running)
    )
    assert refusal.code == "already_closed"
    # Once someone applied, never.
    applied = edition_machine.Facts(**console, **past, applications=1)
    assert [r.code for r in edition_machine.check("closed", "reload", applied)] == [
        "has_applications"
    ]
    assert edition_machine.check("ranked", "reload", applied)[0].code == "invalid_state"


def test_mermaid_is_drawn_from_the_table():
    text = diagram.mermaid()
    assert text.startswith("stateDiagram-v2\n")
    for source, trigger, dest in machine.MACHINE.edges():
        assert f"{source} --> {dest}: {trigger} (" in text
    arrows = sum(1 for line in text.splitlines() if "-->" in line and "[*]" not in line)
    assert arrows == sum(len(row["source"]) for row in machine.MACHINE.table)


def test_rows_for_the_public_page():
    rows = {r["state"]: r for r in diagram.rows()}
    assert rows["withdrawn"]["final"]
    assert {m["trigger"] for m in rows["submitted"]["moves"]} == {
        "request_integration", "declare_eligible", "declare_ineligible", "notify_rejection",
        "withdraw",
    }  # fmt: skip


def test_submitting_needs_a_confirmed_email_address():
    unconfirmed = facts("owner", email_confirmed=False)
    refusals = machine.check("draft", "submit", unconfirmed)
    assert [r.code for r in refusals] == ["email_not_confirmed"]
    assert "confermare il proprio indirizzo email" in refusals[0].reason
    with pytest.raises(Refused):
        machine.advance("draft", "submit", unconfirmed)
    # Nothing else is asked of the address: drafts are withdrawn, answers sent as before.
    assert machine.advance("draft", "withdraw", unconfirmed) == "withdrawn"
    assert machine.check("integration_requested", "integrate", unconfirmed) == []


def test_the_notice_before_rejection():
    asked = facts("officer", rejection_notice_days=10)
    # With the notice in the call, rejecting straight away is refused, saying why.
    [refusal] = machine.check("submitted", "declare_ineligible", asked)
    assert refusal.code == "rejection_notice_required"
    assert machine.advance("submitted", "notify_rejection", asked) == "rejection_notified"
    # Without it, the notice is refused and the officer decides.
    assert machine.check("submitted", "notify_rejection", facts("officer"))[0].code == (
        "no_rejection_notice"
    )
    # The officer waits for the answer or the deadline…
    pending = facts("officer", rejection_notice_days=10, notice_deadline=NOW)
    assert machine.check("rejection_notified", "declare_ineligible", pending)[0].code == (
        "notice_pending"
    )
    late = facts(
        "officer", rejection_notice_days=10, notice_deadline=NOW, now=NOW + timedelta(seconds=1)
    )
    assert machine.check("rejection_notified", "declare_ineligible", late) == []
    answered = facts("officer", rejection_notice_days=10, notice_deadline=NOW, notice_answered=True)
    assert machine.check("rejection_notified", "declare_ineligible", answered) == []
    # …and the organisation answers once, in time, with its observations.
    owner = facts("owner", notice_deadline=NOW)
    assert machine.check("rejection_notified", "answer_notice", owner) == []
    assert (
        machine.check(
            "rejection_notified", "answer_notice", facts("owner", notice_deadline=NOW, reason="")
        )[0].code
        == "reason_required"
    )
    assert (
        machine.check(
            "rejection_notified",
            "answer_notice",
            facts("owner", notice_deadline=NOW, notice_answered=True),
        )[0].code
        == "notice_answered"
    )
    assert (
        machine.check(
            "rejection_notified",
            "answer_notice",
            facts("owner", notice_deadline=NOW, now=NOW + timedelta(seconds=1)),
        )[0].code
        == "notice_deadline_passed"
    )


def test_scoring_completes_with_the_reviews_the_call_requires():
    two = facts("system", valid_reviews=2, reviews_required=3)
    assert machine.check("eligible", "complete_scoring", two)[0].code == "reviews_missing"
    three = facts("system", valid_reviews=3, reviews_required=3)
    assert machine.advance("eligible", "complete_scoring", three) == "scored"


def test_an_award_is_accepted_in_time_or_renounced_for_good():
    owner = facts("owner", acceptance_deadline=NOW)
    assert machine.advance("funded", "accept", owner) == "funded"
    late = facts("owner", acceptance_deadline=NOW, now=NOW + timedelta(seconds=1))
    assert machine.check("funded", "accept", late)[0].code == "acceptance_deadline_passed"
    twice = facts("owner", acceptance_deadline=NOW, award_accepted=True)
    assert machine.check("funded", "accept", twice)[0].code == "already_accepted"
    # The organisation renounces when it wants; the system only for an award left
    # unaccepted past its deadline.
    assert machine.advance("funded", "renounce", facts("owner")) == "renounced"
    early = facts("system", acceptance_deadline=NOW)
    assert machine.check("funded", "renounce", early)[0].code == "acceptance_deadline_not_passed"
    accepted = facts("system", acceptance_deadline=NOW - timedelta(days=1), award_accepted=True)
    assert machine.check("funded", "renounce", accepted)[0].code == "already_accepted"
    expired = facts("system", acceptance_deadline=NOW - timedelta(hours=2))  # now is NOW − 1 h
    assert machine.advance("funded", "renounce", expired) == "renounced"
