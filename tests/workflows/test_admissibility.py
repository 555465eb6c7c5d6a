"""The admissibility checklist on plain data: each rule named, with why it fails."""

from dataclasses import replace
from datetime import UTC, date, datetime

from workflows.admissibility import AdmissibilityFacts, checklist, outstanding
from workflows.proposal import BudgetLine, CallRules, Proposal

RULES = CallRules(
    max_grant_cents=16_000_00,
    min_cofinancing_bp=1000,
    project_starts_on=date(2019, 6, 1),
    project_ends_on=date(2019, 12, 31),
    categories=("personale", "materiali"),
    guidelines={"san-siro": frozenset({"SS1", "SS2"}), "mazzini": frozenset({"MZ1"})},
    general_guidelines=frozenset({"G1"}),
)
GOOD = AdmissibilityFacts(
    legal_form="aps",
    tax_code="97000010013",
    proposal=Proposal(
        neighbourhood="san-siro",
        guidelines=("SS1", "G1"),
        budget=(BudgetLine("personale", 9_000_00), BudgetLine("materiali", 1_000_00)),
        requested_cents=9_000_00,
        cofinancing_cents=1_000_00,
        start_date=date(2019, 6, 1),
        end_date=date(2019, 12, 1),
    ),
    rules=RULES,
    attachments=frozenset({"statuto", "piano_economico"}),
    required_attachments=("statuto", "piano_economico"),
    attachment_labels={"statuto": "Statuto"},
    submitted_at=datetime(2019, 4, 15, 9, 59, tzinfo=UTC),
    closes_at=datetime(2019, 4, 15, 10, 0, tzinfo=UTC),
)


def failed(facts):
    return {check.code: check.message for check in checklist(facts) if check.passed is False}


def test_a_proposal_that_follows_every_rule_passes_every_check():
    checks = checklist(GOOD)
    assert [c.code for c in checks][:3] == ["non_profit", "tax_code", "neighbourhood"]
    assert all(c.passed for c in checks) and outstanding(checks) == []


def test_each_rule_says_why_it_fails():
    proposal = GOOD.proposal
    cases = {
        "non_profit": replace(GOOD, legal_form="srl"),
        "tax_code": replace(GOOD, tax_code="97000010014"),
        "neighbourhood": replace(GOOD, proposal=replace(proposal, neighbourhood="altrove")),
        "guideline": replace(GOOD, proposal=replace(proposal, guidelines=("G1",))),
        "required_guidelines": replace(GOOD, required_guidelines=("SS2",)),
        "max_grant": replace(GOOD, proposal=replace(proposal, requested_cents=17_000_00)),
        "cofinancing": replace(GOOD, proposal=replace(proposal, cofinancing_cents=99_99)),
        "dates": replace(GOOD, proposal=replace(proposal, end_date=date(2020, 1, 8))),
        "attachments": replace(GOOD, attachments=frozenset({"piano_economico"})),
        "in_time": replace(GOOD, submitted_at=datetime(2019, 4, 15, 10, 0, tzinfo=UTC)),
        "per_organisation": replace(GOOD, applications_of_organisation=2),
    }
    for code, facts in cases.items():
        problems = failed(facts)
        assert code in problems, code
        assert problems[code], code
    assert "lucro" in failed(cases["non_profit"])["non_profit"]
    assert "SS2" in failed(cases["required_guidelines"])["required_guidelines"]
    assert "«Statuto»" in failed(cases["attachments"])["attachments"]
    assert "all'08/01/2020" in failed(cases["dates"])["dates"]
    assert "€ 1.000,00" in failed(cases["cofinancing"])["cofinancing"]


def test_the_budget_must_add_up():
    proposal = replace(GOOD.proposal, requested_cents=8_000_00)
    assert "budget" in failed(replace(GOOD, proposal=proposal))


def test_manual_checks_wait_for_the_officer_and_hold_the_decision():
    facts = replace(GOOD, manual_checks=(("signed", "Domanda firmata"),))
    [manual] = [c for c in checklist(facts) if c.manual]
    assert (manual.code, manual.passed) == ("signed", None)
    assert [c.code for c in outstanding(checklist(facts))] == ["signed"]
    ticked = replace(facts, ticks={"signed": True})
    assert outstanding(checklist(ticked)) == []
    refused = replace(facts, ticks={"signed": False})
    assert [c.code for c in outstanding(checklist(refused))] == ["signed"]
