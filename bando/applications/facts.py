"""What an application still lacks before it can be submitted, listed in one go.

Called by the lifecycle's submit guard: an empty list lets the submission through.
"""

from sqlalchemy import func, select

from bando.applications.models import Application
from bando.calls.lifecycle import edition_fact
from bando.core.extensions import db
from workflows.proposal import proposal_problems

# Where a rule's message is shown, for the fields whose name says little on its own.
FIELD_LABELS = {
    "neighbourhood": "quartiere",
    "guidelines": "linee di indirizzo",
    "budget": "piano economico",
    "requested_amount": "contributo richiesto",
    "cofinancing_amount": "cofinanziamento",
    "start_date": "data di inizio",
    "end_date": "data di fine",
}


def submission_problems(application: Application) -> list[str]:
    """Everything missing, in Italian; an empty list means the application is complete."""
    from bando.applications.attachments import attachment_kinds
    from bando.applications.operations import call_rules, proposal_of

    problems = []
    if not application.title.strip():
        problems.append("manca il titolo del progetto")
    if not application.summary.strip():
        problems.append("manca la sintesi del progetto")
    rules = proposal_problems(
        proposal_of(application), call_rules(application.edition), complete=True
    )
    for field, messages in rules.items():
        label = FIELD_LABELS.get(field.split(".")[0], "piano economico")
        problems.extend(f"{label}: {message}" for message in messages)
    present = {a.kind for a in application.attachments}
    for kind, label in attachment_kinds(application.edition).items():
        if kind in application.edition.required_attachments and kind not in present:
            problems.append(f"manca l'allegato obbligatorio «{label}»")
    return problems


@edition_fact("unscored_eligible")
def unscored_eligible(edition) -> int:
    return db.session.scalar(
        select(func.count(Application.id)).where(
            Application.edition_id == edition.id, Application.state == "eligible"
        )
    )
