"""A funded, accepted award ready for payments and the final report: the allocation and
the acceptance are done by bando.allocation's own operations."""

from bando.allocation import operations as allocation
from bando.core.extensions import db
from tests.allocation_factories import ranked_world
from tests.bando.applications.data import pdf_bytes
from tests.factories import create_user

PDF = pdf_bytes("Fattura n. 1 del 10/05/2020")


def funded_world(award_euro=10_000, *, exempt=False, accept=True, **rules):
    """One proposal (planned cost € 12.000,00, see lifecycle_factories) funded with
    `award_euro`; returns (application, owner, finance, officer)."""
    edition, officer, rows = ranked_world([award_euro], cap_euro=award_euro * 2, **rules)
    application, owner = rows[0]
    application.organisation.withholding_exempt = exempt
    allocation.run(edition, officer)
    if accept:
        allocation.accept(application, owner)
    finance = create_user("finance")
    db.session.commit()
    return application, owner, finance, officer


def report_body(*amounts_euro, category="personale"):
    return {
        "activities": "Laboratori di orticoltura con 12 famiglie, da marzo a giugno.",
        "people_reached": 48,
        "expenses": [
            {
                "category": category,
                "description": f"Spesa {i}",
                "amount": f"{euro}.00",
                "document": f"Fattura n. {i} del 10/05/2020",
            }
            for i, euro in enumerate(amounts_euro, 1)
        ],
    }
