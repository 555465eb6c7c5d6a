"""The access matrix: every endpoint of the API (read from the OpenAPI document) and every
page (read from the app's url_map) × every role × the owner's application or another
organisation's × each state an application can be in.

Nobody sees or changes what is not theirs: for an application someone may not see, the
answer is exactly the answer for an id that does not exist (404, or the role's 401/403,
the same for every id), and nothing in the database changes. Who may see what is the
small table `may_see` below, written from the design, not from the code under test;
the public endpoints and pages are the explicit lists PUBLIC_*: a new endpoint is
covered here without touching this file, and one left open by mistake fails it.
"""

import re

import pytest
from sqlalchemy import func, select

from bando.applications.models import Application
from bando.core.api import OPERATIONS
from bando.core.extensions import db
from bando.core.models import AuditEvent, Notification
from bando.core.openapi import document
from bando.finance.models import Letter
from tests.access_world import build_world, sign_in
from tests.factories import PASSWORD

ROLES = ("anonymous", "applicant", "officer", "evaluator", "finance", "admin")
MISSING_ID = 987654
MISSING_CODE = "nessun-bando"

# What anyone may call without signing in (method, path of the document).
PUBLIC_API = {
    ("GET", "/openapi.json"),
    ("POST", "/tokens"),
    ("POST", "/accounts"),
    ("POST", "/accounts/confirmation"),
    ("POST", "/accounts/confirmation/resend"),
    ("POST", "/accounts/password/forgotten"),
    ("POST", "/accounts/password/reset"),
    ("GET", "/editions"),
    ("GET", "/editions/{code}"),
    ("GET", "/editions/{code}/budget"),
    ("GET", "/editions/{code}/ranking"),
    ("GET", "/editions/{code}/ranking.csv"),
    ("GET", "/editions/{code}/ranking.xlsx"),
    ("GET", "/editions/{code}/verbale.pdf"),
    ("GET", "/editions/{code}/transparency.csv"),
    ("GET", "/editions/{code}/360giving.json"),
    ("GET", "/editions/{code}/transparency.json"),
}
# Who may call the endpoints the design assigns to one role (method, path pattern).
ROLE_RULES = [
    ("POST", r"/applications", {"applicant"}),
    ("POST", r"/applications/\{application_id\}/(submit|integrate|withdraw)", {"applicant"}),
    ("POST", r"/applications/\{application_id\}/(accept|renounce|observations)", {"applicant"}),
    ("POST", r"/applications/\{application_id\}/report", {"applicant"}),
    ("POST", r"/applications/\{application_id\}/(eligibility|checklist|revoke)", {"officer"}),
    ("POST", r"/editions/\{code\}/(close|ranking|allocation|committee|draws)", {"officer"}),
    ("POST", r"/reviews/\{review_id\}/reopen", {"officer"}),
    ("POST", r"/editions/\{code\}/conflict-declaration", {"evaluator"}),
    ("POST", r"/applications/\{application_id\}/reviews", {"evaluator"}),
    ("POST", r"/applications/\{application_id\}/report/approve", {"finance"}),
    ("GET", r"/editions/\{code\}/letters\.zip", {"finance"}),
    ("GET", r"/editions/\{code\}/letters", {"finance"}),
    ("POST", r"/editions/\{code\}/letters", {"finance"}),
    ("DELETE", r"/editions/\{code\}/committee/\{user_id\}", {"officer"}),
    ("GET", r"/users(/\{user_id\})?", {"admin"}),
    ("POST", r"/users(/\{user_id\}/(deactivate|reactivate|password-link))?", {"admin"}),
    ("POST", r"/editions", {"admin"}),
    ("GET", r"/audit", {"admin"}),
]
# Pages anyone may open (endpoint names); every other page needs signing in.
PUBLIC_PAGES = re.compile(
    r"^(public\.\w+|static|auth\.(login|register|registered|confirm|resend_confirmation|forgotten_password|reset)"
    r"|ranking\.(public_ranking|ranking_csv|ranking_xlsx|ranking_minute)|transparency\.\w+)$"
)
ALLOCATED = ("funded", "reserve", "not_funded", "reported", "closed", "renounced", "revoked")
# Finance writes the letters of every decision that calls for one (the six kinds of the
# design), so it also reads those of the proposals not allocated yet.
LETTERS = re.compile(r"/letters?[/.]|lettere")
BEFORE_ALLOCATION_LETTERS = ("integration_requested", "rejection_notified", "ineligible")


def may_see(role: str, whose: str, state: str, edition: str, path: str = "") -> bool:
    """The design's rule: the organisation sees its own; the staff never a draft; an
    evaluator the eligible proposals of the call they sit on (after the declaration);
    finance from the allocation on, and the letters; officers and administrators every
    submitted one."""
    if role == "finance" and LETTERS.search(path) and state in BEFORE_ALLOCATION_LETTERS:
        return True
    if role == "applicant":
        return whose == "mine"
    if role == "anonymous" or state == "draft":
        return False
    if role == "evaluator":
        return edition == "evaluation" and state in ("eligible", "scored")
    if role == "finance":
        return state in ALLOCATED
    return True


@pytest.fixture
def world(app, client):
    world = build_world()
    sign_in(client, world)
    return world


def fingerprint():
    """What a refused request, or a reading, must leave as it was (reading a letter issues
    none: the letters are counted too)."""
    db.session.expire_all()
    return (
        tuple(
            db.session.execute(
                select(Application.id, Application.state, Application.updated_at).order_by(
                    Application.id
                )
            )
        ),
        db.session.scalar(select(func.count(AuditEvent.id))),
        db.session.scalar(select(func.count(Notification.id))),
        db.session.scalar(select(func.count(Letter.id))),
    )


def edition_of(world, application_id):
    application = db.session.get(Application, application_id)
    return next(k for k, e in world.editions.items() if e.id == application.edition_id)


def api_operations():
    from flask import current_app

    with current_app.test_request_context():
        paths = document()["paths"]
    for path, methods in paths.items():
        for method, entry in methods.items():
            yield method.upper(), path, entry


def declared_roles(method, path):
    return next(o.roles for o in OPERATIONS if o.method.upper() == method and o.path == path)


def call(client, method, path, headers):
    url = "/api/v1" + path
    if method == "GET":
        return client.get(url, headers=headers)
    return client.open(url, method=method, headers=headers, json={})


def fill(path, world, *, application_id=None, code=None):
    values = {
        "application_id": application_id,
        "code": code,
        "kind": "statuto",
        "review_id": MISSING_ID,
        "user_id": world.users["evaluator"].id,
    }
    # Any other id (an expense, a payment… added later): one that does not exist.
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), MISSING_ID)), path)


# --- the API --------------------------------------------------------------------------------


def test_public_endpoints_are_exactly_the_designed_ones(app):
    for method, path, entry in api_operations():
        assert (entry.get("security") == []) == ((method, path) in PUBLIC_API), (method, path)
    for method, path, _ in api_operations():
        if (roles := designed_roles(method, path)) is not None:
            declared = set(declared_roles(method, path) or ())
            # The owner's actions may be open to any signed-in user: the view's check of
            # the owner is what refuses the staff (tested below).
            assert declared == roles or (roles == {"applicant"} and declared == set()), (
                method,
                path,
            )


def designed_roles(method, path):
    for rule_method, pattern, roles in ROLE_RULES:
        if method == rule_method and re.fullmatch(pattern, path):
            return roles
    return None


def test_nobody_reaches_an_application_that_is_not_theirs(app, client, world):
    before = fingerprint()
    operations = [(m, p, e) for m, p, e in api_operations() if "{application_id}" in p]
    assert len(operations) >= 15
    cases = 0
    for role in ROLES:
        headers = world.headers[role]
        for method, path, _entry in operations:
            roles = declared_roles(method, path)
            missing = call(client, method, fill(path, world, application_id=MISSING_ID), headers)
            if role == "anonymous":
                assert missing.status_code == 401, (method, path)
            elif roles and role not in roles:
                assert missing.status_code == 403, (role, method, path)
            for (state, whose), application_id in world.applications.items():
                visible = may_see(role, whose, state, edition_of(world, application_id), path)
                designed = designed_roles(method, path)
                if visible and method != "GET" and (designed is None or role in designed):
                    continue  # what the owner and the staff may do: the features' tests
                url = fill(path, world, application_id=application_id)
                response = call(client, method, url, headers)
                cases += 1
                where = (role, method, path, state, whose)
                if not visible:
                    # Exactly what an id that does not exist answers: no hint it exists.
                    assert response.status_code == missing.status_code, where
                    assert response.status_code in (400, 401, 403, 404, 422), where
                elif method != "GET":
                    # Someone who sees the application, doing what only another role
                    # may do: refused (and nothing changes: the fingerprint below).
                    assert response.status_code in (400, 403, 404, 409, 422), where
                elif path.endswith(("{application_id}", "{application_id}/events")):
                    assert response.status_code == 200, where
    assert fingerprint() == before
    assert cases > 1000


def test_the_list_shows_each_role_exactly_what_it_may_see(app, client, world):
    """Every role has its list (the organisation's own, the staff's): exactly the rows the
    design lets it see, each one also readable by its id, no draft for the staff, no other
    organisation's for the applicant."""
    assert len(world.applications) < 50  # one page holds the world
    for role in ROLES:
        response = client.get("/api/v1/applications", headers=world.headers[role])
        if role == "anonymous":
            assert response.status_code == 401
            continue
        assert response.status_code == 200, role
        body = response.get_json()
        rows = body["applications"]
        listed = {row["id"] for row in rows}
        expected = {
            application_id
            for (state, whose), application_id in world.applications.items()
            if may_see(role, whose, state, edition_of(world, application_id))
        }
        assert listed == expected, role
        assert body["total"] == len(expected) == len(rows), role
        assert expected, role  # every role has something to list in the world
        if role == "applicant":
            assert {row["organisation"]["id"] for row in rows} == {
                world.users["applicant"].organisation_id
            }
        else:
            assert "draft" not in {row["state"] for row in rows}, role
        for application_id in listed:
            url = f"/api/v1/applications/{application_id}"
            assert client.get(url, headers=world.headers[role]).status_code == 200, role


def test_call_level_endpoints_answer_by_role_the_same_for_every_call(app, client, world):
    before = fingerprint()
    operations = [
        (m, p, e)
        for m, p, e in api_operations()
        if "{application_id}" not in p and (m, p) not in PUBLIC_API
    ]
    for role in ROLES:
        headers = world.headers[role]
        for method, path, _ in operations:
            roles = declared_roles(method, path)
            allowed = role != "anonymous" and (not roles or role in roles)
            if allowed and method != "GET":
                continue
            for code in [*world.codes, MISSING_CODE]:
                response = call(client, method, fill(path, world, code=code), headers)
                where = (role, method, path, code)
                if role == "anonymous":
                    assert response.status_code == 401, where
                elif not allowed:
                    assert response.status_code == 403, where
                else:
                    assert response.status_code != 500, where
    assert fingerprint() == before


# --- the pages ------------------------------------------------------------------------------


def page_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule


def page_url(rule, world, application_id, code):
    values = {
        "application_id": application_id,
        "code": code,
        "kind": "statuto",
        "review_id": MISSING_ID,
        "user_id": world.users["evaluator"].id,
        "token": "gettone-non-valido",
        "action": "disattiva",
    }
    return re.sub(
        r"<(?:[^:>]+:)?(\w+)>", lambda m: str(values.get(m.group(1), MISSING_ID)), rule.rule
    )


@pytest.fixture
def browsers(app, world):
    """A signed-in browser (session cookie) per role, and one anonymous."""
    clients = {"anonymous": app.test_client()}
    for role, user in world.users.items():
        client = app.test_client()
        response = client.post("/accedi", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302, role
        clients[role] = client
    return clients


def test_no_page_shows_or_changes_an_application_that_is_not_theirs(app, world, browsers):
    before = fingerprint()
    rules = [(m, r) for m, r in page_rules(app) if "application_id" in r.arguments]
    assert len(rules) >= 15
    code = world.editions["evaluation"].code
    cases = 0
    for role in ROLES:
        client = browsers[role]
        for method, rule in rules:
            missing = client.open(page_url(rule, world, MISSING_ID, code), method=method)
            for (state, whose), application_id in world.applications.items():
                edition = edition_of(world, application_id)
                visible = may_see(role, whose, state, edition, rule.rule)
                if PUBLIC_PAGES.match(rule.endpoint):
                    # Transparency publishes the grants, to anyone; nothing before them.
                    visible = state in ALLOCATED
                if visible:
                    continue
                url = page_url(rule, world, application_id, world.editions[edition].code)
                response = client.open(url, method=method)
                cases += 1
                where = (role, method, rule.rule, state, whose)
                assert response.status_code == missing.status_code, where
                if PUBLIC_PAGES.match(rule.endpoint):
                    assert response.status_code == 404, where
                elif role == "anonymous":
                    assert response.status_code in (302, 401), where
                    if response.status_code == 302:
                        assert "/accedi" in response.headers["Location"], where
                else:
                    assert response.status_code in (403, 404), where
    assert fingerprint() == before
    assert cases > 1000


def test_pages_that_are_not_public_need_signing_in(app, world, browsers):
    client = browsers["anonymous"]
    code = world.editions["open"].code
    some_id = world.applications[("submitted", "mine")]
    for method, rule in page_rules(app):
        if method != "GET" or PUBLIC_PAGES.match(rule.endpoint):
            continue
        response = client.get(page_url(rule, world, some_id, code))
        assert response.status_code in (302, 401, 404), rule.rule
        if response.status_code == 302:
            assert "/accedi" in response.headers["Location"], rule.rule


def test_only_administrators_open_the_administration(app, world, browsers):
    before = fingerprint()
    rules = [(m, r) for m, r in page_rules(app) if r.endpoint.startswith("admin.")]
    assert len(rules) >= 7
    for role in ROLES:
        for method, rule in rules:
            if role == "admin" and method != "GET":
                continue  # the administrator's changes are tested in tests/bando/admin
            url = page_url(rule, world, MISSING_ID, world.editions["open"].code)
            response = browsers[role].open(url, method=method)
            where = (role, method, rule.rule)
            if role == "anonymous":
                assert response.status_code == 302, where
                assert "/accedi" in response.headers["Location"], where
            elif role != "admin":
                assert response.status_code == 403, where
            else:
                assert response.status_code == 200, where
    assert fingerprint() == before
