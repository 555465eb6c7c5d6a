"""Applications ready for the lifecycle tests: complete drafts, or rows put in any state.

Putting a row straight into a state is test setup only; the code under test moves
states exclusively through bando.applications.lifecycle.fire.
"""

import hashlib
from datetime import timedelta

from bando.applications.models import Application, Attachment, BudgetLine
from bando.core.extensions import db
from bando.core.timeutil import utcnow

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def create_application(edition, organisation, creator, *, title="Orti condivisi a San Siro"):
    """A draft that passes every submission check of a factories.create_edition call."""
    hood = edition.neighbourhoods[0]
    with db.session.no_autoflush:
        return _create(edition, organisation, creator, hood, title)


def _create(edition, organisation, creator, hood, title):
    application = Application(
        edition=edition,
        organisation=organisation,
        created_by=creator,
        neighbourhood=hood,
        title=title,
        summary="Laboratori di orticoltura con le famiglie del quartiere.",
        description="Descrizione del progetto.",
        start_date=edition.project_starts_on,
        end_date=edition.project_ends_on,
        requested_cents=10_000_00,
        cofinancing_cents=2_000_00,
    )
    application.guidelines = [hood.guidelines[0]]
    application.budget_lines = [
        BudgetLine(category="personale", description="Educatori", amount_cents=9_000_00),
        BudgetLine(category="materiali", description="Sementi e attrezzi", amount_cents=3_000_00),
    ]
    for kind in edition.required_attachments:
        application.attachments.append(
            Attachment(
                kind=kind,
                filename=f"{kind}.pdf",
                size=len(PDF),
                sha256=hashlib.sha256(PDF).hexdigest(),
                data=PDF,
                uploaded_by_id=creator.id,
            )
        )
    db.session.add(application)
    db.session.flush()
    return application


def put_in_state(application, state, *, integration_deadline=None, notice_deadline=None):
    """Test setup: the row as it would be after reaching `state` (protocol, dates)."""
    now = utcnow()
    if state not in ("draft",):
        edition = application.edition
        edition.protocol_counter += 1
        application.protocol_number = edition.protocol_counter
        application.protocol = f"{edition.protocol_prefix}/{edition.protocol_counter:04d}"
        application.submitted_at = now - timedelta(days=1)
    if state == "integration_requested":
        application.integration_deadline = integration_deadline or now + timedelta(days=5)
        application.integration_request = "Manca la firma sul piano economico."
    if state == "rejection_notified":
        application.notice_deadline = notice_deadline or now + timedelta(days=5)
        application.notice_reasons = "Le attività non si svolgono nel quartiere."
    application.state = state
    db.session.flush()
    return application
