"""A call after its closing, with eligible proposals and a committee, for the evaluation
and ranking tests. Test setup only: states are put straight on the rows."""

from bando.core.extensions import db
from tests.factories import create_edition, create_organisation, create_user
from tests.lifecycle_factories import create_application, put_in_state


def token(client, user) -> dict:
    from tests.factories import PASSWORD

    response = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def committee_world(*, proposals=4, evaluators=3, **rules):
    """An edition closed for submissions, `proposals` eligible applications of different
    organisations, an officer and `evaluators` evaluators assigned (not yet declared)."""
    edition = create_edition(state="closed", **rules)
    officer = create_user("officer")
    applications = []
    for _ in range(proposals):
        organisation = create_organisation()
        owner = create_user("applicant", organisation=organisation)
        applications.append(
            put_in_state(create_application(edition, organisation, owner), "eligible")
        )
    members = [create_user("evaluator") for _ in range(evaluators)]
    from bando.evaluation.models import Assignment

    for member in members:
        db.session.add(
            Assignment(edition_id=edition.id, evaluator=member, assigned_by_id=officer.id)
        )
    db.session.commit()
    return edition, officer, members, applications


def scores(edition, *points):
    """{criterion code: points} for the edition's criteria, in order."""
    return {c.code: p for c, p in zip(edition.criteria, points, strict=True)}
