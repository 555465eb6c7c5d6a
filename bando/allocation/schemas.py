"""The payloads of the allocation."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bando.core.schemas import Cents, Line, Moment, Out, Schema, Text
from scoring.allocation import MODES, POLICIES


class DecisionOut(Out):
    application_id: int
    protocol: str
    organisation: str
    position: int = Field(description="in the approved ranking")
    outcome: Literal["funded", "reserve", "not_funded", "ended"]
    amount: Cents = Field(description="the award after the run")
    added: Cents = Field(description="what this run added")
    reason: str = Field(examples=["FUNDED_FULL", "FUNDED_PARTIAL", "SKIPPED_INSUFFICIENT"])
    reason_code: str = Field(examples=["SKIPPED_INSUFFICIENT residual 30000 < request 40000"])
    reason_text: str = Field(description="the same, in Italian, for the applicant")
    residual_before: Cents
    residual_after: Cents
    reserve_position: int | None


class RulesUsed(Out):
    mode: Literal["single_ranking", "area_quotas_then_pool"]
    on_insufficient: Literal["stop", "skip", "partial"]
    min_partial_share: float = Field(description="a share of the request, 0..1 (a ratio)")
    cap: Cents


class AllocationOut(Out):
    edition: str
    committed: Cents
    residual: Cents
    rules: RulesUsed = Field(description="the rules this allocation followed")
    decisions: list[DecisionOut]


class SimulationIn(Schema):
    """An alternative to the call's rules: anything left out is the call's own."""

    mode: Literal["single_ranking", "area_quotas_then_pool"] | None = None
    on_insufficient: Literal["stop", "skip", "partial"] | None = None
    cap: Cents | None = None
    min_partial_share: Line(6) | None = Field(default=None, description='e.g. "0.5"')


class Simulations(Out):
    edition: str
    simulations: list[AllocationOut] = Field(
        description="the call's rules first, then each alternative asked"
    )


class AwardOut(Out):
    application_id: int
    state: str
    amount: Cents
    accept_by: Moment | None
    accepted_at: Moment | None


class RevokeIn(Schema):
    reason: Text(5000) = Field(min_length=1)


class Explanation(Out):
    application_id: int
    outcome: str | None = Field(description="None until an allocation decided it")
    position: int | None
    total: str | None = Field(description="points out of 100 in the approved ranking")
    amount: Cents | None
    reason_text: str | None
    accept_by: Moment | None
    accepted_at: Moment | None


class HoodFigures(Out):
    slug: str
    name: str
    quota: Cents | None
    committed: Cents
    paid: Cents


class BudgetOut(Out):
    edition: str
    cap: Cents
    committed: Cents
    paid: Cents
    available: Cents
    neighbourhoods: list[HoodFigures]


class SimulationQuery(BaseModel):
    """The alternative to simulate next to the call's own rules, from the query string
    (text: the amount and the share are read by the view, saying what is wrong)."""

    model_config = ConfigDict(extra="ignore")

    mode: Literal[MODES] | None = None
    on_insufficient: Literal[POLICIES] | None = None
    cap: str | None = Field(
        default=None, max_length=20, description="another cap, e.g. 16000.00", examples=["16000.00"]
    )
    min_partial_share: str | None = Field(
        default=None,
        pattern=r"^(0(\.[0-9]{1,4})?|1(\.0{1,4})?)$",
        description="a share between 0 and 1, at most four decimals",
        examples=["0.5"],
    )

    def given(self) -> bool:
        return any(getattr(self, name) for name in type(self).model_fields)
