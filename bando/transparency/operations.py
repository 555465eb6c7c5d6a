"""What the law makes public about the grants of a call: the active awards, with the
fields of D.Lgs. 33/2013 art. 27 (beneficiary and tax code, amount, legal basis, office and
official responsible, how the beneficiary was chosen, a link to the project), and the same
grants in the 360Giving data standard.

Money stays integer cents here; only the 360Giving package turns it into a number, as a
Decimal of exact euro (its schema wants a JSON number)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask import current_app, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bando.accounts.models import Organisation
from bando.applications.models import Application
from bando.budget.models import Award
from bando.calls.models import Edition
from bando.core.extensions import db
from bando.core.links import public_url
from bando.core.timeutil import to_rome, utcnow
from scoring.money import cents_to_str

# An award counts while the project runs, is reported or is closed (DESIGN.md, budget
# invariant 1); a renounced or revoked one is no longer a grant of the call.
ACTIVE_STATES = ("funded", "reported", "closed")

# The payer of every grant: the City of Milan, by its codice fiscale (360Giving org-id
# scheme IT-CF). Another administration sets these in its configuration.
DEFAULTS = {
    "TRANSPARENCY_OFFICE": (
        "Direzione di Progetto Periferie — Unità Contratti di Quartiere e Rigenerazione Urbana"
    ),
    "TRANSPARENCY_RESPONSIBLE": "Il Direttore della Direzione di Progetto Periferie",
    "TRANSPARENCY_LEGAL_BASIS": "Regolamento comunale per la concessione di contributi",
    "TRANSPARENCY_SELECTION_METHOD": (
        "Procedura comparativa pubblica (avviso pubblico) con graduatoria di merito"
    ),
    "TRANSPARENCY_FUNDER_ID": "IT-CF-01199250158",
    "TRANSPARENCY_FUNDER_NAME": "Comune di Milano",
    # The grants' identifiers: a publisher's 360Giving prefix, then our own id.
    "TRANSPARENCY_360_PREFIX": "360G-comunedimilano",
    "TRANSPARENCY_LICENSE": "https://creativecommons.org/licenses/by/4.0/",
}

# The columns of the art. 27 table, in the order of the CSV.
COLUMNS = (
    "bando",
    "protocollo",
    "beneficiario",
    "codice_fiscale",
    "importo",
    "importo_erogato",
    "data_concessione",
    "norma_titolo_attribuzione",
    "ufficio",
    "responsabile_procedimento",
    "modalita_individuazione",
    "progetto",
    "quartiere",
    "link_progetto",
)


def init_config(app) -> None:
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)


def is_person_tax_code(tax_code: str | None) -> bool:
    """A 16-character codice fiscale is a natural person's (a sole trader, say): it tells
    the birth date and place, and must not be published (privacy; Garante, delibera
    243/2014). An organisation's has 11 digits and is public."""
    return bool(tax_code) and len(tax_code.strip()) == 16


def public_tax_code(organisation: Organisation) -> str | None:
    return None if is_person_tax_code(organisation.tax_code) else organisation.tax_code


@dataclass(frozen=True)
class Grant:
    """One active award as the transparency pages and files show it."""

    award: Award
    application: Application
    organisation: Organisation
    edition: Edition

    @property
    def amount_cents(self) -> int:
        """The grant as it stands, as the budget counts it: the award, or the final
        contribution once the report is approved (the money left over may fund others)."""
        return self.award.committed_cents

    @property
    def modified_at(self):
        report = self.application.report
        approved = report.approved_at if report is not None else None
        award = self.award
        return award.ended_at or approved or award.accepted_at or award.decided_at

    @property
    def paid_cents(self) -> int:
        """Paid so far, net of what was given back (art. 27: "corrisposto")."""
        return self.award.paid_cents

    @property
    def awarded_on(self) -> date:
        return to_rome(self.award.decided_at).date()

    @property
    def tax_code(self) -> str | None:
        return public_tax_code(self.organisation)

    @property
    def neighbourhood(self) -> str:
        hood = self.application.neighbourhood
        return hood.name if hood else ""

    @property
    def url(self) -> str:
        """The project's public page, as an absolute address (art. 27 c. 1 f)."""
        return public_url(
            url_for(
                "transparency.project",
                code=self.edition.code,
                application_id=self.application.id,
            )
        )


def edition_by_code(code: str) -> Edition | None:
    return db.session.scalar(select(Edition).where(Edition.code == code))


def _active(edition: Edition):
    return (
        select(Award, Application)
        .join(Application, Application.id == Award.application_id)
        .where(
            Award.edition_id == edition.id,
            Award.state == "active",
            Application.state.in_(ACTIVE_STATES),
        )
        .options(
            selectinload(Award.payments),
            selectinload(Application.organisation),
            selectinload(Application.neighbourhood),
            selectinload(Application.report),
        )
    )


def grants(edition: Edition) -> list[Grant]:
    """The active awards of the call, by protocol (a fixed number of queries)."""
    rows = db.session.execute(
        _active(edition).order_by(Application.protocol_number, Application.id)
    ).all()
    return [
        Grant(award, application, application.organisation, edition) for award, application in rows
    ]


def grant(edition: Edition, application_id: int) -> Grant | None:
    row = db.session.execute(_active(edition).where(Application.id == application_id)).first()
    return None if row is None else Grant(row[0], row[1], row[1].organisation, edition)


def legal_basis(edition: Edition) -> str:
    return edition.legal_basis or current_app.config["TRANSPARENCY_LEGAL_BASIS"]


def office(edition: Edition) -> str:
    return edition.office or current_app.config["TRANSPARENCY_OFFICE"]


def art27_row(grant: Grant) -> dict:
    """The fields of D.Lgs. 33/2013 art. 27 for one grant (amount in cents)."""
    config = current_app.config
    return {
        "bando": grant.edition.code,
        "protocollo": grant.application.protocol or "",
        "beneficiario": grant.organisation.name,
        "codice_fiscale": grant.tax_code,
        "importo": grant.amount_cents,
        "importo_erogato": grant.award.paid_cents,
        "data_concessione": grant.awarded_on,
        "norma_titolo_attribuzione": legal_basis(grant.edition),
        "ufficio": office(grant.edition),
        "responsabile_procedimento": config["TRANSPARENCY_RESPONSIBLE"],
        "modalita_individuazione": config["TRANSPARENCY_SELECTION_METHOD"],
        "progetto": grant.application.title,
        "quartiere": grant.neighbourhood,
        "link_progetto": grant.url,
    }


def art27_table(edition: Edition) -> tuple[list[str], list[list]]:
    """The header and rows of the CSV: amounts as "16000.00", dates as ISO days."""
    rows = []
    for grant in grants(edition):
        row = art27_row(grant)
        row["importo"] = cents_to_str(row["importo"])
        row["importo_erogato"] = cents_to_str(row["importo_erogato"])
        row["data_concessione"] = row["data_concessione"].isoformat()
        row["codice_fiscale"] = row["codice_fiscale"] or ""
        rows.append([row[column] for column in COLUMNS])
    return list(COLUMNS), rows


def art27_document(edition: Edition) -> dict:
    rows = [art27_row(g) for g in grants(edition)]
    return {
        "edition": edition.code,
        "title": edition.title,
        "generated_at": utcnow(),
        "count": len(rows),
        "total": sum(r["importo"] for r in rows),
        "grants": rows,
    }


# --- 360Giving ------------------------------------------------------------------------------


def euro_number(cents: int) -> Decimal:
    """Exact euro for a JSON number: 1600050 → Decimal("16000.50")."""
    return Decimal(cents).scaleb(-2)


def _iso(value: datetime) -> str:
    return to_rome(value).isoformat()


def recipient_id(organisation: Organisation) -> str:
    """IT-CF-<tax code> (the org-id.guide scheme) for an organisation; a natural person's
    tax code is not published, so it gets the publisher's own identifier instead."""
    if is_person_tax_code(organisation.tax_code) or not organisation.tax_code:
        return f"{current_app.config['TRANSPARENCY_360_PREFIX']}-ente-{organisation.id}"
    return f"IT-CF-{organisation.tax_code.strip()}"


def giving_grant(grant: Grant) -> dict:
    config = current_app.config
    application = grant.application
    description = application.summary or application.title
    entry = {
        "id": f"{config['TRANSPARENCY_360_PREFIX']}-{grant.edition.code}-{application.id}",
        "title": application.title,
        "description": description,
        "currency": "EUR",
        "amountAwarded": euro_number(grant.amount_cents),
        "awardDate": grant.awarded_on.isoformat(),
        "recipientOrganization": [
            {"id": recipient_id(grant.organisation), "name": grant.organisation.name}
        ],
        "fundingOrganization": [
            {"id": config["TRANSPARENCY_FUNDER_ID"], "name": config["TRANSPARENCY_FUNDER_NAME"]}
        ],
        "grantProgramme": [
            {
                "code": grant.edition.code,
                "title": grant.edition.title,
                "url": public_url(url_for("public.edition", code=grant.edition.code)),
            }
        ],
        "url": grant.url,
        "dateModified": _iso(grant.modified_at),
    }
    if application.start_date and application.end_date:
        entry["plannedDates"] = [
            {
                "startDate": application.start_date.isoformat(),
                "endDate": application.end_date.isoformat(),
            }
        ]
    if grant.neighbourhood:
        entry["beneficiaryLocation"] = [
            {"name": f"{grant.neighbourhood}, Milano", "countryCode": "IT"}
        ]
    return entry


def giving_package(edition: Edition) -> dict:
    """The call's active grants as a 360Giving data package."""
    config = current_app.config
    now = utcnow()
    return {
        "grants": [giving_grant(g) for g in grants(edition)],
        "version": "1.4",
        "title": f"{config['TRANSPARENCY_FUNDER_NAME']} — {edition.title}",
        "description": "Contributi concessi (D.Lgs. 33/2013 art. 27)",
        "identifier": f"{config['TRANSPARENCY_360_PREFIX']}-{edition.code}",
        "issued": _iso(now),
        "modified": _iso(now),
        "publisher": {
            "identifier": config["TRANSPARENCY_FUNDER_ID"],
            "name": config["TRANSPARENCY_FUNDER_NAME"],
        },
        "license": config["TRANSPARENCY_LICENSE"],
    }
