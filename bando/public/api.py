"""Public read of the calls: GET /api/v1/editions and /api/v1/editions/{code}."""

from flask import url_for
from sqlalchemy import select

from bando.budget.figures import committed_cents
from bando.calls.models import Edition
from bando.core.api import ApiError, endpoint
from bando.core.extensions import db
from bando.core.timeutil import utcnow
from bando.public.schemas import EditionDetail, EditionList, EditionSummary


def _share(basis_points: int) -> float:
    """Basis points as the share the call file wrote: 1000 → 0.1 (a ratio, not money)."""
    return basis_points / 10000


def edition_summary(edition: Edition) -> dict:
    committed = committed_cents(edition.id)
    return {
        "code": edition.code,
        "title": edition.title,
        "state": edition.state,
        "accepting_applications": edition.state == "open" and utcnow() < edition.closes_at,
        "budget_cap": edition.budget_cap_cents,
        "committed": committed,
        "available": edition.budget_cap_cents - committed,
        "opens_at": edition.opens_at,
        "closes_at": edition.closes_at,
        "project_starts_on": edition.project_starts_on,
        "project_ends_on": edition.project_ends_on,
        "legal_basis": edition.legal_basis,
        "office": edition.office,
        "url": url_for("api.get_edition", code=edition.code, _external=False),
    }


def edition_detail(edition: Edition) -> dict:
    return {
        **edition_summary(edition),
        "description": edition.description,
        "protocol_prefix": edition.protocol_prefix,
        "ranking_published_at": edition.ranking_published_at,
        "rules": {
            "max_grant": edition.max_grant_cents,
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
        "allocation": {
            "mode": edition.allocation_mode,
            "on_insufficient": edition.on_insufficient,
            "min_partial_share": _share(edition.min_partial_share_bp),
        },
        "attachment_labels": edition.attachment_labels,
        "criteria": edition.criteria,
        "neighbourhoods": [
            {
                **{
                    name: getattr(hood, name)
                    for name in (
                        "slug",
                        "name",
                        "inhabitants",
                        "households",
                        "erp_units",
                        "intervention_units",
                        "lab_address",
                        "guidelines",
                    )
                },
                "quota": hood.quota_cents,
            }
            for hood in edition.neighbourhoods
        ],
        "general_guidelines": edition.general_guidelines,
    }


@endpoint(
    "GET",
    "/editions",
    summary="The calls, newest first, with cap, committed and available money",
    tag="editions",
    roles=None,
    ok=(200, "every edition", EditionList),
)
def list_editions():
    editions = db.session.scalars(select(Edition).order_by(Edition.opens_at.desc(), Edition.id))
    return EditionList.of({"editions": [edition_summary(e) for e in editions]})


@endpoint(
    "GET",
    "/editions/<code>",
    summary="One call: rules, neighbourhoods with their guidelines, criteria",
    tag="editions",
    roles=None,
    ok=(200, "the edition", EditionDetail),
)
def get_edition(code):
    edition = db.session.scalar(select(Edition).where(Edition.code == code))
    if edition is None:
        raise ApiError(404, f"no edition with code {code!r}")
    return EditionDetail.of(edition_detail(edition))


__all__ = ["EditionSummary", "edition_detail", "edition_summary"]
