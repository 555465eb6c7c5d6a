"""GET /api/v1/applications: each role's list (rules.listed, the SQL form of rules.can_see),
its filters and pages, the parameters it refuses, and a cost in statements that does not
grow with the rows."""

from datetime import timedelta

import pytest

from bando.applications import rules
from bando.applications.models import Application
from bando.core.extensions import db
from bando.core.timeutil import utcnow
from bando.evaluation.models import Assignment
from bando.evaluation.operations import recuse, sign_declaration
from tests.evaluation_factories import committee_world, token
from tests.factories import create_edition, create_organisation, create_user
from tests.lifecycle_factories import create_application, put_in_state
from tests.statements import recorded_statements

URL = "/api/v1/applications"


def listed(client, headers, **params) -> dict:
    response = client.get(URL, headers=headers, query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def ids(body) -> set[int]:
    return {row["id"] for row in body["applications"]}


def new(edition, owner, state, *, second_hood=False) -> Application:
    application = create_application(edition, owner.organisation, owner)
    if second_hood:
        application.neighbourhood = edition.neighbourhoods[1]
    return put_in_state(application, state)


@pytest.fixture
def world(app):
    """Three calls and every kind of row the rules tell apart.

    - open call: the owner's draft, a draft withdrawn before sending (no protocol), a
      submitted one; another organisation's submitted one (in the second neighbourhood);
    - a call under evaluation (the committee_world): four eligible proposals; the evaluator
      named the first one's organisation in the declaration and recused from the second;
      an ineligible one;
    - an allocated call: funded, reserve, not funded;
    - a call the evaluator sits on without having signed the declaration, and one where the
      evaluator does not sit: an eligible proposal each."""
    edition, officer, (evaluator, *_others), proposals = committee_world(proposals=4)
    owner = create_user("applicant")
    other = create_user("applicant")
    open_call = create_edition(state="open")
    rows = {
        "draft": new(open_call, owner, "draft"),
        "withdrawn_draft": new(open_call, owner, "draft"),
        "submitted": new(open_call, owner, "submitted"),
        "theirs": new(open_call, other, "submitted", second_hood=True),
        "ineligible": new(edition, other, "ineligible"),
    }
    rows["withdrawn_draft"].state = "withdrawn"  # withdrawn before sending: no protocol
    rows.update({f"eligible{i}": a for i, a in enumerate(proposals)})
    allocated = create_edition(state="allocated")
    for state in ("funded", "reserve", "not_funded"):
        rows[state] = new(allocated, owner, state)
    undeclared = create_edition(state="closed")
    db.session.add(
        Assignment(edition_id=undeclared.id, evaluator=evaluator, assigned_by_id=officer.id)
    )
    rows["undeclared"] = new(undeclared, other, "eligible")
    rows["not_on_committee"] = new(create_edition(state="closed"), other, "eligible")
    db.session.flush()
    sign_declaration(edition, evaluator, [proposals[0].organisation.tax_code])
    recuse(proposals[1], evaluator, "mio cugino è il presidente")
    db.session.commit()
    users = {
        "applicant": owner,
        "officer": officer,
        "evaluator": evaluator,
        "finance": create_user("finance"),
        "admin": create_user("admin"),
    }
    db.session.commit()
    return users, rows, {"open": open_call, "evaluation": edition, "allocated": allocated}


def test_each_role_lists_exactly_what_it_may_see(client, world):
    users, rows, _calls = world
    expected = {
        "applicant": {"draft", "withdrawn_draft", "submitted", "funded", "reserve", "not_funded"},
        "officer": set(rows) - {"draft", "withdrawn_draft"},
        "admin": set(rows) - {"draft", "withdrawn_draft"},
        # Not the linked organisation's, not the recused one, not the undeclared call's.
        "evaluator": {"eligible2", "eligible3"},
        "finance": {"funded", "reserve", "not_funded"},
    }
    for role, user in users.items():
        body = listed(client, token(client, user))
        assert ids(body) == {rows[name].id for name in expected[role]}, role
        assert body["total"] == len(expected[role])
        # The same as the rule for one application (what GET /applications/{id} asks).
        assert ids(body) == {a.id for a in rows.values() if rules.can_see(user, a)}, role


def test_a_draft_withdrawn_before_sending_stays_the_organisations_own(client, world):
    users, rows, _calls = world
    url = f"{URL}/{rows['withdrawn_draft'].id}"
    assert client.get(url, headers=token(client, users["applicant"])).status_code == 200
    for role in ("officer", "admin"):
        assert client.get(url, headers=token(client, users[role])).status_code == 404, role


def test_the_evaluator_page_and_the_api_list_the_same_proposals(client, world):
    from bando.evaluation.pages.evaluator import work_of

    users, rows, calls = world
    evaluator = users["evaluator"]
    work = work_of(evaluator, calls["evaluation"])
    api = listed(client, token(client, evaluator), edition=calls["evaluation"].code)
    assert {a.id for a, _status in work.proposals} == ids(api)
    assert [a.id for a in work.recused] == [rows["eligible1"].id]


def test_filters_by_call_state_and_neighbourhood(client, world):
    users, rows, calls = world
    headers = token(client, users["officer"])
    open_call = calls["open"]
    assert ids(listed(client, headers, edition=open_call.code)) == {
        rows["submitted"].id,
        rows["theirs"].id,
    }
    assert ids(listed(client, headers, state="eligible", edition=calls["evaluation"].code)) == {
        rows[f"eligible{i}"].id for i in range(4)
    }
    second = open_call.neighbourhoods[1].slug
    body = listed(client, headers, edition=open_call.code, neighbourhood=second)
    assert ids(body) == {rows["theirs"].id} and body["total"] == 1
    # A draft is never the staff's, even asked for; an unknown call or neighbourhood is an
    # empty list, not a hint about what exists.
    assert listed(client, headers, state="draft")["total"] == 0
    assert listed(client, headers, edition="nessun-bando")["applications"] == []
    assert listed(client, headers, neighbourhood="atlantide")["total"] == 0
    # The applicant filters its own rows the same way.
    mine = listed(client, token(client, users["applicant"]), state="draft")
    assert ids(mine) == {rows["draft"].id}


def test_a_request_past_its_deadline_expires_before_the_count(client, world):
    users, rows, calls = world
    owner = users["applicant"]
    overdue = put_in_state(
        create_application(calls["open"], owner.organisation, owner, title="In ritardo"),
        "integration_requested",
        integration_deadline=utcnow() - timedelta(seconds=1),
    )
    waiting = put_in_state(
        create_application(calls["open"], owner.organisation, owner, title="In attesa"),
        "integration_requested",
        integration_deadline=utcnow() + timedelta(days=1),
    )
    db.session.commit()
    headers = token(client, users["officer"])
    asked = listed(client, headers, state="integration_requested")
    assert ids(asked) == {waiting.id} and asked["total"] == 1
    assert [row["state"] for row in asked["applications"]] == ["integration_requested"]
    gone = listed(client, headers, state="ineligible", edition=calls["open"].code)
    assert ids(gone) == {overdue.id} and gone["total"] == 1
    db.session.expire_all()
    assert db.session.get(Application, overdue.id).state == "ineligible"
    events = client.get(f"{URL}/{overdue.id}/events", headers=headers).get_json()["events"]
    assert [e["trigger"] for e in events][-1] == "expire_integration"


def test_pages_with_the_total(client, world):
    users, rows, _calls = world
    headers = token(client, users["officer"])
    everything = listed(client, headers)
    assert everything["limit"] == 50 and everything["offset"] == 0
    total = everything["total"]
    order = [row["id"] for row in everything["applications"]]
    pages = [listed(client, headers, limit=3, offset=offset) for offset in range(0, total, 3)]
    assert [row["id"] for page in pages for row in page["applications"]] == order
    assert {page["total"] for page in pages} == {total}
    assert all(len(page["applications"]) <= 3 for page in pages)
    beyond = listed(client, headers, offset=total + 5)
    assert beyond["applications"] == [] and beyond["total"] == total
    assert len(listed(client, headers, limit=200)["applications"]) == total


def test_the_applicant_row_keeps_its_shape(client, world):
    users, rows, _calls = world
    body = listed(client, token(client, users["applicant"]))
    draft = next(r for r in body["applications"] if r["id"] == rows["draft"].id)
    assert draft["state"] == "draft" and draft["protocol"] is None
    for name in ("edition", "organisation", "neighbourhood", "budget", "attachments", "version"):
        assert name in draft
    assert draft["requested_amount"] == "10000.00"


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "201"},
        {"limit": "molti"},
        {"limit": "2.5"},
        {"offset": "-1"},
        {"offset": "99999999999999999999"},
        {"state": "approvata"},
        {"state": ""},
        {"edition": "x" * 65},
        {"edition": "cdq\x00"},
        {"neighbourhood": "san\nsiro"},
    ],
)
def test_bad_parameters_are_refused_by_name(client, world, params):
    users, _rows, _calls = world
    response = client.get(URL, headers=token(client, users["officer"]), query_string=params)
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["error"] and list(body["errors"]) == list(params)


def test_without_a_token(client, world):
    assert client.get(URL).status_code == 401
    assert client.get(URL, query_string={"limit": "0"}).status_code == 401


def test_the_document_describes_the_parameters(client):
    operation = client.get("/api/v1/openapi.json").get_json()["paths"]["/applications"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert set(parameters) == {"edition", "state", "neighbourhood", "limit", "offset"}
    assert all(p["in"] == "query" and not p["required"] for p in parameters.values())
    assert parameters["limit"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 200,
        "default": 50,
    }
    assert "submitted" in parameters["state"]["schema"]["enum"]
    assert "403" not in operation["responses"] and "422" in operation["responses"]


# --- statements ------------------------------------------------------------------------------


def statements(client, headers, **params) -> tuple[int, dict]:
    db.session.remove()  # nothing left from the test's own reads in the identity map
    with recorded_statements() as seen:
        body = listed(client, headers, **params)
    return len(seen), body


def grow(edition_id, owner_id, count, state):
    """More rows (by ids: the counting empties the session)."""
    from bando.accounts.models import User
    from bando.calls.models import Edition

    edition, owner = db.session.get(Edition, edition_id), db.session.get(User, owner_id)
    for _ in range(count):
        new(edition, owner, state)
    db.session.commit()


@pytest.mark.parametrize("role", ["applicant", "officer", "evaluator", "finance"])
def test_the_same_statements_at_10_and_at_100_rows(client, app, role):
    edition, officer, (evaluator, *_), _proposals = committee_world(proposals=0, evaluators=1)
    owner = create_user("applicant", organisation=create_organisation())
    state = {"finance": "funded", "applicant": "draft"}.get(role, "eligible")
    sign_declaration(edition, evaluator, [])
    db.session.commit()
    user = {"applicant": owner, "officer": officer, "evaluator": evaluator}.get(role)
    user = user or create_user("finance")
    db.session.commit()
    headers = token(client, user)
    code, ids_ = edition.code, (edition.id, owner.id)
    grow(*ids_, 10, state)
    listed(client, headers)  # the first request warms what is cached
    small, body = statements(client, headers, limit=200)
    assert body["total"] == 10
    grow(*ids_, 90, state)
    large, body = statements(client, headers, limit=200)
    assert body["total"] == len(body["applications"]) == 100
    assert all(len(row["budget"]) == 2 for row in body["applications"])
    assert small == large, (small, large)
    filtered, body = statements(client, headers, edition=code, state=state, offset=40)
    assert len(body["applications"]) == 50
    assert filtered == large
