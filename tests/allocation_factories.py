"""A call with an approved ranking, ready for the allocation. Test setup only: the
proposals are put straight in `scored` and the ranking rows written as approval would."""

from bando.core.extensions import db
from bando.ranking.models import RankingEntry
from tests.factories import create_edition, create_organisation, create_user
from tests.lifecycle_factories import create_application, put_in_state


def ranked_world(requests_euro, *, cap_euro=1000, fundable=None, neighbourhoods=None, **rules):
    """Proposals in ranking order with the requests given (euro); returns (edition,
    officer, [(application, owner)])."""
    rules.setdefault("allocation_mode", "single_ranking")
    rules.setdefault("on_insufficient", "skip")
    edition = create_edition(
        state="ranked",
        cap_cents=cap_euro * 100,
        max_grant_cents=max(max(requests_euro), 1) * 100,
        **rules,
    )
    if neighbourhoods:  # slug → quota in euro
        for hood in edition.neighbourhoods:
            hood.quota_cents = neighbourhoods.get(hood.slug, 0) * 100 or None
    officer = create_user("officer")
    rows = []
    for position, euro in enumerate(requests_euro, 1):
        organisation = create_organisation()
        owner = create_user("applicant", organisation=organisation)
        application = create_application(edition, organisation, owner)
        application.requested_cents = euro * 100
        hood = edition.neighbourhoods[(position - 1) % len(edition.neighbourhoods)]
        application.neighbourhood = hood
        put_in_state(application, "scored")
        db.session.add(
            RankingEntry(
                edition_id=edition.id,
                application_id=application.id,
                position=position,
                neighbourhood_position=position,
                total_numerator=100 - position,
                total_denominator=1,
                total=f"{100 - position}.00",
                points={},
                fundable=True if fundable is None else fundable[position - 1],
            )
        )
        rows.append((application, owner))
    db.session.commit()
    return edition, officer, rows
