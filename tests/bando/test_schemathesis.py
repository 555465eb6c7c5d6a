"""schemathesis over the whole API, as each role and anonymously, on a populated database:
no server error, and every answer as the OpenAPI document says (status, content type,
schema of the body).

The operations are read from the served document, so an endpoint added later is tested
without touching this file. Path parameters are sometimes generated and sometimes one of
the world's real ids and codes, so the requests reach real rows in every state (owned by
the signed-in applicant or not). Examples are few per operation and derandomized: the
run is the same every time and fits in the suite.
"""

import os
import time
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bando.accounts.operations import login_backoff
from bando.core.extensions import limiter
from tests.access_world import build_world, sign_in, token

CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Examples per operation and role: valid requests, and invalid ones (slower to generate,
# and the bad-input tests already send many).
EXAMPLES = {
    GenerationMode.POSITIVE: int(os.environ.get("SCHEMATHESIS_EXAMPLES", "10")),
    GenerationMode.NEGATIVE: int(os.environ.get("SCHEMATHESIS_NEGATIVE_EXAMPLES", "3")),
}
ROLES = ("anonymous", "applicant", "officer", "evaluator", "finance", "admin")
# Revoking the token in use would leave the rest of the run anonymous: that operation
# gets a fresh token for each example.
REVOKES_TOKEN = ("DELETE", "/tokens/current")
# A wrong current password counts as a failed sign-in of the account: the count is cleared
# after each example, or the fresh tokens the run needs would be refused (429).
CHECKS_PASSWORD = ("POST", "/accounts/password")


@pytest.fixture
def world(app, client):
    world = build_world()
    sign_in(client, world)
    return world


def real_values(world, name):
    if name == "code":
        return world.codes
    if name == "application_id":
        return world.ids()
    if name == "kind":
        return ["statuto", "piano_economico", "documento_identita"]
    return []


def run_operation(app, client, world, operation, role, mode, seen):
    strategy = operation.as_strategy(generation_mode=mode)
    names = [p.name for p in operation.path_parameters]

    @settings(
        max_examples=EXAMPLES[mode],
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, data=st.data())
    def check(case, data):
        for name in names:
            choices = real_values(world, name)
            if choices and data.draw(st.booleans(), label=f"real {name}"):
                case.path_parameters[name] = data.draw(st.sampled_from(choices), label=name)
        headers = dict(world.headers[role])
        if (operation.method.upper(), operation.path) == REVOKES_TOKEN and role != "anonymous":
            # The examples' wrong sign-ins must not throttle this one, the run's own.
            limiter.reset()
            headers = token(client, world.users[role].email)
        response = case.call(headers=headers)
        if (operation.method.upper(), operation.path) == CHECKS_PASSWORD and role != "anonymous":
            login_backoff().succeeded(world.users[role].email)
        seen[response.status_code // 100] += 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    try:
        check()
    except Unsatisfiable:
        # Nothing to make invalid (no parameter, no body): the positive run covers it.
        assert mode == GenerationMode.NEGATIVE, operation.label


@pytest.mark.parametrize("role", ROLES)
def test_the_whole_api_conforms_to_its_document(app, client, world, role):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40  # the document lists every endpoint
    seen = Counter()
    started = time.monotonic()
    for operation in operations:
        for mode in EXAMPLES:
            run_operation(app, client, world, operation, role, mode, seen)
    elapsed = time.monotonic() - started
    print(f"schemathesis as {role}: {len(operations)} operations, {dict(seen)} in {elapsed:.0f} s")
    # The run reached real rows, not only refusals: some answers succeeded.
    assert seen[2] >= 5
