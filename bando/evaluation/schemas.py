"""The payloads of the committee's work."""

from typing import Annotated

from pydantic import Field, model_validator

from bando.core.schemas import Line, Moment, Out, Schema, Text


class DeclarationIn(Schema):
    linked_organisations: Annotated[list[Line(16)], Field(max_length=200)] = Field(
        default=[],
        description="tax codes of the organisations the evaluator is linked to (their "
        "proposals are never shown to them); empty: no link with any",
    )


class DeclarationOut(Out):
    edition: str
    evaluator: str
    text: str
    linked_organisations: list[str]
    signed_at: Moment


class EvaluatorIn(Schema):
    evaluator: Line(254) = Field(description="the evaluator's e-mail")


class MemberOut(Out):
    email: str
    name: str
    declared_at: Moment | None = Field(description="when the declaration was signed")


class CommitteeOut(Out):
    edition: str
    evaluators: list[MemberOut]


class ReviewIn(Schema):
    """Scores per criterion (0..max), a comment (required where a criterion is scored
    under half its maximum); `submit` records it for good. Or a recusal:
    {"conflict_of_interest": true, "reason": "..."}."""

    scores: dict[Line(40), int | None] = {}
    comment: Text(5000) = ""
    submit: bool = True
    conflict_of_interest: bool = False
    reason: Text(2000) = ""

    @model_validator(mode="after")
    def _recusal_alone(self):
        if self.conflict_of_interest and self.scores:
            raise ValueError("una astensione non ha punteggi")
        return self


class ReviewOut(Out):
    id: int
    application_id: int
    evaluator: str
    conflict_of_interest: bool
    scores: dict[str, int]
    total: int
    comment: str
    submitted_at: Moment | None


class Reviews(Out):
    application_id: int
    state: str
    reviews: list[ReviewOut] = Field(
        description="the evaluator's own; everyone's for the officer, or for an evaluator "
        "once their own is submitted"
    )


class ReopenIn(Schema):
    reason: Annotated[Text(2000), Field(min_length=1)]


class EvaluatorStatsOut(Out):
    evaluator: str
    reviews: int
    mean: str
    stdev: str
    deviation_from_panel: str | None
    flagged: bool


class SpreadOut(Out):
    application_id: int
    protocol: str
    reviews: int
    min: int
    max: int
    spread: int
    flagged: bool


class StatisticsOut(Out):
    edition: str
    evaluators: list[EvaluatorStatsOut]
    proposals: list[SpreadOut]
