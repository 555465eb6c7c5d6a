"""The officer's moves on a call through the API: closing submissions early."""

from sqlalchemy import select

from bando.calls.lifecycle import fire_edition
from bando.calls.models import Edition
from bando.calls.schemas import EditionMoved
from bando.core.api import ApiError, endpoint
from bando.core.audit import event_view
from bando.core.extensions import db
from bando.core.schemas import Reason


def edition_or_404(code) -> Edition:
    """The call of an API path, or the API's 404 (the one answer for every capability)."""
    edition = db.session.scalar(select(Edition).where(Edition.code == code))
    if edition is None:
        raise ApiError(404, "edition not found")
    return edition


@endpoint(
    "POST",
    "/editions/<code>/close",
    summary="Close submissions early",
    tag="editions",
    roles=("officer",),
    body=Reason,
    body_required=False,
    ok=(200, "closed", EditionMoved),
    errors={409: "refused by the edition's state machine"},
)
def edition_close(user, code, body: Reason):
    edition = edition_or_404(code)
    event = fire_edition(edition, "close", user, body.reason or "chiusura anticipata")
    db.session.commit()
    return EditionMoved.of(
        {"code": edition.code, "state": edition.state, "event": event_view(event)}
    )
