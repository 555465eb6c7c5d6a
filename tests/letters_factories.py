"""A call after its allocation, with proposals in every state a letter is written for.
Test setup only: the allocation runs for real; the other states are put on the rows."""

from datetime import timedelta

from bando.allocation import operations as allocation
from bando.core import audit
from bando.core.extensions import db
from bando.core.timeutil import utcnow
from tests.allocation_factories import ranked_world
from tests.factories import create_organisation, create_user
from tests.lifecycle_factories import create_application, put_in_state


def letters_world(*, exempt=False, cup="B41H19000010004"):
    """Two 16 000 € awards under a 32 000 € cap, one proposal in reserve, one not
    admissible (with the officer's reason in the audit trail) and one asked for documents.
    Returns a dict of the rows."""
    edition, officer, rows = ranked_world([16000, 16000, 16000], cap_euro=32000)
    (first, first_owner), (second, second_owner), (third, third_owner) = rows
    first.cup = cup
    first.cofinancing_cents = 2_000_00
    first.organisation.withholding_exempt = exempt
    if exempt:
        first.organisation.withholding_reason = "ONLUS (art. 16 D.Lgs. 460/1997)"
    allocation.run(edition, officer)
    db.session.commit()
    rejected_org = create_organisation(name="Circolo Respinto APS")
    rejected_owner = create_user("applicant", organisation=rejected_org)
    rejected = create_application(edition, rejected_org, rejected_owner, title="Progetto escluso")
    put_in_state(rejected, "ineligible")
    audit.append(
        subject="application",
        trigger="declare_ineligible",
        actor=officer,
        application_id=rejected.id,
        edition_id=edition.id,
        from_state="submitted",
        to_state="ineligible",
        reason="Statuto non conforme: manca lo scopo sociale.",
    )
    asked_org = create_organisation(name="Cooperativa Documenti")
    asked_owner = create_user("applicant", organisation=asked_org)
    asked = create_application(edition, asked_org, asked_owner, title="Progetto da integrare")
    put_in_state(asked, "integration_requested", integration_deadline=utcnow() + timedelta(days=9))
    finance = create_user("finance")
    db.session.commit()
    return {
        "edition": edition,
        "officer": officer,
        "finance": finance,
        "first": first,
        "first_owner": first_owner,
        "second": second,
        "second_owner": second_owner,
        "reserve": third,
        "reserve_owner": third_owner,
        "rejected": rejected,
        "rejected_owner": rejected_owner,
        "asked": asked,
        "asked_owner": asked_owner,
    }
