"""What an application still lacks before it can be submitted, listed in one go."""

from .models import Application


def submission_problems(application: Application) -> list[str]:
    """Everything missing, in Italian; an empty list means the application is complete."""
    problems = []
    if not application.title.strip():
        problems.append("manca il titolo del progetto")
    if not application.summary.strip():
        problems.append("manca la sintesi del progetto")
    if application.neighbourhood is None:
        problems.append("manca il quartiere")
    if not application.guidelines:
        problems.append("scegliere almeno una linea di indirizzo del quartiere")
    if not application.budget_lines:
        problems.append("manca il piano economico (voci di spesa)")
    if application.requested_cents <= 0:
        problems.append("manca il contributo richiesto")
    present = {a.kind for a in application.attachments}
    for kind in application.edition.required_attachments:
        if kind not in present:
            problems.append(f"manca l'allegato obbligatorio «{kind}»")
    return problems
