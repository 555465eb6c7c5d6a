"""The payloads of the public read of the calls: an edition in a list, and in full."""

from typing import Literal

from pydantic import Field

from bando.core.schemas import Cents, Day, Moment, Out
from workflows.edition import STATES as EDITION_STATES


class GuidelineOut(Out):
    code: str
    text: str


class CriterionOut(Out):
    code: str
    label: str
    max_points: int


class NeighbourhoodOut(Out):
    slug: str
    name: str
    inhabitants: int | None
    households: int | None
    erp_units: int | None
    intervention_units: int | None
    quota: Cents | None
    lab_address: str
    guidelines: list[GuidelineOut]


class EditionSummary(Out):
    code: str
    title: str
    state: Literal[EDITION_STATES]
    accepting_applications: bool = Field(
        description="open, and its deadline (Europe/Rome) not passed"
    )
    budget_cap: Cents
    committed: Cents
    available: Cents
    opens_at: Moment
    closes_at: Moment
    project_starts_on: Day
    project_ends_on: Day
    legal_basis: str
    office: str
    url: str


class EditionRules(Out):
    max_grant: Cents
    min_cofinancing_share: float = Field(description="a share of the total cost, 0..1")
    integration_days: int
    reviews_required: int
    aggregation: Literal["mean", "median"]
    threshold: int
    advance_share: float
    tie_break: list[str]
    required_attachments: list[str]
    budget_categories: list[str]
    max_applications_per_organisation: int


class EditionAllocation(Out):
    mode: Literal["area_quotas_then_pool", "single_ranking"]
    on_insufficient: Literal["stop", "skip", "partial"]
    min_partial_share: float


class EditionDetail(EditionSummary):
    description: str
    protocol_prefix: str
    ranking_published_at: Moment | None
    rules: EditionRules
    allocation: EditionAllocation
    attachment_labels: dict[str, str]
    criteria: list[CriterionOut]
    neighbourhoods: list[NeighbourhoodOut]
    general_guidelines: list[GuidelineOut]


class EditionList(Out):
    editions: list[EditionSummary]
