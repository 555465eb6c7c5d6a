"""A call after its allocation with an award in each state the transparency cares about."""

from bando.allocation import operations as allocation
from bando.budget.models import Payment
from bando.core.extensions import db
from tests.allocation_factories import ranked_world
from tests.lifecycle_factories import put_in_state

# A natural person's codice fiscale (a sole trader): never published.
PERSON_TAX_CODE = "RSSMRA85T10A562S"
ADVANCE = 100_00
FINAL = 80_00
FORMULA_NAME = '=HYPERLINK("http://evil.example/x","clicca")'


def allocated_world():
    """Seven proposals, cap € 1.000: the first five are funded (300+200+100+150+250); the
    sixth (500) stays in reserve, the seventh is under the threshold. Then the second
    files its report, the third is closed, the fourth renounces and the fifth is revoked
    (the 400 freed do not cover the reserve's 500). The second was paid its advance; the
    third's report gave a final contribution of 80.

    Returns (edition, officer, {name: application}) with the names active_funded,
    reported, closed, renounced, revoked, reserve, not_funded."""
    edition, officer, rows = ranked_world(
        [300, 200, 100, 150, 250, 500, 50],
        fundable=[True] * 6 + [False],
        on_insufficient="skip",
    )
    applications = [application for application, _ in rows]
    applications[0].organisation.tax_code = PERSON_TAX_CODE
    applications[1].organisation.name = FORMULA_NAME
    applications[1].title = "+SUM(1;2) laboratorio"
    allocation.run(edition, officer)
    db.session.commit()
    names = (
        "active_funded",
        "reported",
        "closed",
        "renounced",
        "revoked",
        "reserve",
        "not_funded",
    )
    world = dict(zip(names, applications, strict=True))
    put_in_state(world["reported"], "reported")
    # Half of the second's 200 paid as the advance.
    db.session.add(Payment(award=world["reported"].award, kind="advance", amount_cents=ADVANCE))
    put_in_state(world["closed"], "closed")
    # Its report approved with 80 of its 100: the final contribution.
    world["closed"].award.final_amount_cents = FINAL
    owner = rows[3][1]
    allocation.renounce(world["renounced"], owner)
    allocation.revoke(world["revoked"], officer, "attività non svolte")
    db.session.commit()
    db.session.expire_all()
    return edition, officer, world
