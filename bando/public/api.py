"""Public read of the calls: GET /api/v1/editions and /api/v1/editions/{code}."""

from flask import jsonify, url_for
from sqlalchemy import select

from bando.budget.figures import committed_cents
from bando.calls.models import Edition
from bando.core.api import ApiError, bp
from bando.core.extensions import db
from bando.core.timeutil import to_rome, utcnow
from scoring.money import cents_to_str


def _moment(value):
    return to_rome(value).isoformat() if value else None


def _share(basis_points: int) -> float:
    """Basis points as the share the call file wrote: 1000 → 0.1 (a ratio, not money)."""
    return basis_points / 10000


def _guideline(guideline) -> dict:
    return {"code": guideline.code, "text": guideline.text}


def edition_summary(edition: Edition) -> dict:
    committed = committed_cents(edition.id)
    return {
        "code": edition.code,
        "title": edition.title,
        "state": edition.state,
        # True only while the call is open and its deadline (Europe/Rome) has not passed.
        "accepting_applications": edition.state == "open" and utcnow() < edition.closes_at,
        "budget_cap": cents_to_str(edition.budget_cap_cents),
        "committed": cents_to_str(committed),
        "available": cents_to_str(edition.budget_cap_cents - committed),
        "opens_at": _moment(edition.opens_at),
        "closes_at": _moment(edition.closes_at),
        "project_starts_on": edition.project_starts_on.isoformat(),
        "project_ends_on": edition.project_ends_on.isoformat(),
        "legal_basis": edition.legal_basis,
        "office": edition.office,
        "url": url_for("api.get_edition", code=edition.code, _external=False),
    }


def edition_detail(edition: Edition) -> dict:
    data = edition_summary(edition)
    data.update(
        description=edition.description,
        protocol_prefix=edition.protocol_prefix,
        ranking_published_at=_moment(edition.ranking_published_at),
        rules={
            "max_grant": cents_to_str(edition.max_grant_cents),
            "min_cofinancing_share": _share(edition.min_cofinancing_bp),
            "integration_days": edition.integration_days,
            "reviews_required": edition.reviews_required,
            "aggregation": edition.aggregation,
            "threshold": edition.threshold,
            "advance_share": _share(edition.advance_share_bp),
            "tie_break": list(edition.tie_break),
            "required_attachments": list(edition.required_attachments),
            "budget_categories": list(edition.budget_categories),
            "max_applications_per_organisation": edition.max_applications_per_organisation,
        },
        allocation={
            "mode": edition.allocation_mode,
            "on_insufficient": edition.on_insufficient,
            "min_partial_share": _share(edition.min_partial_share_bp),
        },
        attachment_labels=edition.attachment_labels,
        criteria=[
            {"code": c.code, "label": c.label, "max_points": c.max_points} for c in edition.criteria
        ],
        neighbourhoods=[
            {
                "slug": hood.slug,
                "name": hood.name,
                "inhabitants": hood.inhabitants,
                "households": hood.households,
                "erp_units": hood.erp_units,
                "intervention_units": hood.intervention_units,
                "quota": None if hood.quota_cents is None else cents_to_str(hood.quota_cents),
                "lab_address": hood.lab_address,
                "guidelines": [_guideline(g) for g in hood.guidelines],
            }
            for hood in edition.neighbourhoods
        ],
        general_guidelines=[_guideline(g) for g in edition.general_guidelines],
    )
    return data


@bp.get("/editions")
def list_editions():
    editions = db.session.scalars(select(Edition).order_by(Edition.opens_at.desc(), Edition.id))
    return jsonify(editions=[edition_summary(edition) for edition in editions])


@bp.get("/editions/<code>")
def get_edition(code):
    edition = db.session.scalar(select(Edition).where(Edition.code == code))
    if edition is None:
        raise ApiError(404, f"no edition with code {code!r}")
    return jsonify(edition_detail(edition))
