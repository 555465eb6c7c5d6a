"""A populated database for the whole-API tests (schemathesis, the access matrix): every
role, two organisations (the owner's and another), and an application of each of them in
each state a person can meet, across three calls (open, under evaluation, allocated).

Test setup only: states are put straight on the rows, except the allocation, which is
run by its operation so the awards, decisions and audit are the real ones.
"""

from dataclasses import dataclass, field

from bando.allocation.operations import run as allocate
from bando.core.extensions import db
from bando.evaluation.models import Assignment
from bando.evaluation.operations import sign_declaration
from tests.allocation_factories import ranked_world
from tests.factories import PASSWORD, create_edition, create_user
from tests.lifecycle_factories import create_application, put_in_state

ROLES = ("applicant", "officer", "evaluator", "finance", "admin")
# The states of the open call and of the call under evaluation; the allocated call adds
# funded, reserve and not_funded.
OPEN_STATES = ("draft", "submitted", "integration_requested", "rejection_notified", "withdrawn")
EVALUATION_STATES = ("eligible", "ineligible")


@dataclass
class World:
    users: dict  # role → User (the applicant is the owner of the "mine" applications)
    other_applicant: object
    editions: dict  # "open" | "evaluation" | "allocated" → Edition
    applications: dict = field(default_factory=dict)  # (state, "mine" | "theirs") → id
    headers: dict = field(default_factory=dict)  # role or "anonymous" → headers

    @property
    def codes(self) -> list[str]:
        return [edition.code for edition in self.editions.values()]

    def ids(self) -> list[int]:
        return sorted(self.applications.values())


def _pair(edition, state, owner, other, world):
    for whose, user in (("mine", owner), ("theirs", other)):
        application = create_application(edition, user.organisation, user)
        put_in_state(application, state)
        world.applications[(state, whose)] = application.id


def build_world() -> World:
    """The rows of the world, committed (no tokens yet: see sign_in)."""
    users = {role: create_user(role) for role in ROLES}
    other = create_user("applicant")
    editions = {
        "open": create_edition(state="open"),
        "evaluation": create_edition(state="closed"),
    }
    world = World(users=users, other_applicant=other, editions=editions)
    for state in OPEN_STATES:
        _pair(editions["open"], state, users["applicant"], other, world)
    for state in EVALUATION_STATES:
        _pair(editions["evaluation"], state, users["applicant"], other, world)
    db.session.add(
        Assignment(
            edition_id=editions["evaluation"].id,
            evaluator=users["evaluator"],
            assigned_by_id=users["officer"].id,
        )
    )
    db.session.flush()
    sign_declaration(editions["evaluation"], users["evaluator"], [])
    db.session.commit()

    # Allocated: the owner's proposal funded, the other's in reserve, a third not funded.
    edition, officer, rows = ranked_world([600, 300, 500], cap_euro=900)
    (mine, mine_owner), (theirs, theirs_owner), (third, _) = rows
    put_in_state(third, "scored")
    # The owner's and the other organisation's accounts own these too.
    for application, owner in ((mine, users["applicant"]), (theirs, other)):
        application.organisation = owner.organisation
        application.created_by = owner
    allocate(edition, officer)
    db.session.commit()
    editions["allocated"] = edition
    for application, whose in ((mine, "mine"), (theirs, "theirs")):
        world.applications[(application.state, whose)] = application.id
    world.applications[(third.state, "theirs")] = third.id
    return world


def sign_in(client, world: World) -> None:
    """A bearer token for each role (the applicant is the owner), none for anonymous."""
    world.headers = {"anonymous": {}}
    for role, user in world.users.items():
        world.headers[role] = token(client, user.email)


def token(client, email: str) -> dict:
    response = client.post("/api/v1/tokens", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}
