"""The payloads of the ranking."""

from typing import Annotated

from pydantic import Field

from bando.core.schemas import Moment, Out, Schema, Text


class RankedOut(Out):
    position: int
    neighbourhood_position: int
    application_id: int
    protocol: str
    organisation: str
    neighbourhood: str
    title: str
    total: str = Field(description="aggregated points out of 100, two decimals", examples=["72.33"])
    points: dict[str, str] = Field(description="per criterion code")
    fundable: bool = Field(description="at or above the call's threshold")
    decided_by: str | None = Field(
        description="what separated it from the one above at equal points: a tie-break key, "
        "«draw», or «tie» below the threshold"
    )


class RankingOut(Out):
    edition: str
    approved: bool = Field(description="false: a preview for the officer, not yet approved")
    published_at: Moment | None
    threshold: int
    entries: list[RankedOut]


class DrawIn(Schema):
    order: Annotated[list[int], Field(min_length=2, max_length=1000)] = Field(
        description="application ids in the order drawn"
    )
    witnesses: Text(2000) = Field(default="", description="who was present")


class DrawOut(Out):
    id: int
    order: list[int]
    witnesses: str
    drawn_by: str
    drawn_at: Moment
