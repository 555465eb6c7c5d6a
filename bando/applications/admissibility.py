"""The admissibility checklist of a proposal: rows → workflows.admissibility, and the
officer's ticks on the manual checks the call lists. Declaring a proposal eligible asks
that no check fails or waits (the lifecycle's guard `admissible`)."""

from sqlalchemy import func, select

from bando.accounts.models import User
from bando.applications.attachments import attachment_kinds
from bando.applications.facts import application_fact, call_rules, proposal_of
from bando.applications.models import AdmissibilityTick, Application
from bando.core import audit
from bando.core.extensions import db
from bando.core.operations import OperationError
from workflows.admissibility import AdmissibilityFacts, Check, checklist, outstanding
from workflows.application import UNDER_CHECK

INACTIVE_STATES = ("draft", "withdrawn")


def manual_checks(application: Application) -> tuple[tuple[str, str], ...]:
    """The call's manual checks that apply to this proposal's neighbourhood."""
    slug = application.neighbourhood.slug if application.neighbourhood else None
    return tuple(
        (c["code"], c["label"])
        for c in application.edition.admissibility_checks
        if c["neighbourhood"] in (None, slug)
    )


def admissibility_facts(application: Application) -> AdmissibilityFacts:
    edition, organisation = application.edition, application.organisation
    active = db.session.scalar(
        select(func.count(Application.id)).where(
            Application.edition_id == edition.id,
            Application.organisation_id == organisation.id,
            Application.state.not_in(INACTIVE_STATES),
        )
    )
    ticks = db.session.scalars(
        select(AdmissibilityTick).where(AdmissibilityTick.application_id == application.id)
    )
    return AdmissibilityFacts(
        legal_form=organisation.legal_form,
        tax_code=organisation.tax_code,
        proposal=proposal_of(application),
        rules=call_rules(edition),
        required_guidelines=edition.required_guidelines(
            application.neighbourhood.slug if application.neighbourhood else None
        ),
        attachments=frozenset(a.kind for a in application.attachments),
        required_attachments=tuple(edition.required_attachments),
        attachment_labels=attachment_kinds(edition),
        submitted_at=application.submitted_at,
        closes_at=edition.closes_at,
        applications_of_organisation=active,
        max_applications=edition.max_applications_per_organisation,
        manual_checks=manual_checks(application),
        ticks={tick.code: tick.passed for tick in ticks},
    )


def checks_of(application: Application) -> list[Check]:
    return checklist(admissibility_facts(application))


@application_fact("admissibility_problems", triggers=("declare_eligible",))
def _problems(application: Application) -> tuple[str, ...]:
    return tuple(
        f"{check.label}: {check.message or 'da verificare'}"
        for check in outstanding(checks_of(application))
    )


def tick(application: Application, officer: User, code: str, passed: bool, note: str = ""):
    """The officer's outcome of a manual check (recorded, and changeable until decided)."""
    if code not in dict(manual_checks(application)):
        raise OperationError(
            422, "controllo sconosciuto", {"code": [f"il bando non prevede «{code}»"]}
        )
    if application.state not in UNDER_CHECK:
        raise OperationError(409, "l'istruttoria di questa domanda è conclusa", code="decided")
    row = db.session.scalar(
        select(AdmissibilityTick).where(
            AdmissibilityTick.application_id == application.id, AdmissibilityTick.code == code
        )
    )
    if row is None:
        row = AdmissibilityTick(application_id=application.id, code=code)
        db.session.add(row)
    row.passed, row.note, row.ticked_by_id = passed, note.strip(), officer.id
    db.session.flush()
    audit.append(
        subject="application",
        trigger="tick_check",
        actor=officer,
        application_id=application.id,
        edition_id=application.edition_id,
        reason=note.strip(),
        payload={"code": code, "passed": passed},
    )
    return row
