"""The payloads of the final report: what the organisation files, finance's review of
each expense, and the report read back with its final contribution."""

from typing import Annotated, Literal

from pydantic import Field

from bando.core.schemas import Cents, Line, Moment, Out, PositiveCents, Schema, Text

EXPENSES_LIMIT = 200  # far above any real report of a small local project


class ExpenseIn(Schema):
    category: Annotated[Line(40), Field(min_length=1, description="one of the call's categories")]
    description: Annotated[Line(500), Field(min_length=1)]
    amount: PositiveCents
    document: Annotated[Line(200), Field(min_length=1, description="the receipt's number and date")]


class ReportIn(Schema):
    activities: Annotated[Text(20000), Field(min_length=1, description="what was done")]
    # Optional: DESIGN's first contract of this payload had only activities and expenses.
    people_reached: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    expenses: Annotated[list[ExpenseIn], Field(min_length=1, max_length=EXPENSES_LIMIT)]


class ReviewIn(Schema):
    decision: Literal["accept", "reject"]
    reason: Text(2000) = Field(default="", description="required to reject")


class ExpenseOut(Out):
    id: int
    category: str
    description: str
    amount: Cents
    document: str
    receipt: bool = Field(description="a receipt (PDF) is attached")
    receipt_filename: str
    receipt_sha256: str
    state: Literal["pending", "accepted", "rejected"]
    review_reason: str
    reviewed_at: Moment | None = None


class ReportOut(Out):
    application_id: int
    state: str = Field(description="the application's state: reported, then closed")
    activities: str
    people_reached: int
    submitted_at: Moment
    expenses: list[ExpenseOut]
    total: Cents = Field(description="Σ the expenses declared")
    accepted: Cents = Field(description="Σ the expenses accepted by finance")
    planned_cost: Cents = Field(description="the project's total cost as proposed")
    award: Cents
    paid: Cents = Field(description="paid so far (the advance), net of recoveries")
    rule: Literal["proportional", "full_if_spent"]
    approved_at: Moment | None = None
    final_contribution: Cents | None = None
    balance: Cents | None = Field(default=None, description="still to pay")
    recovery: Cents | None = Field(default=None, description="to be given back")


class OverdueOut(Out):
    application_id: int
    protocol: str | None
    organisation: str
    due_at: Moment = Field(description="the report's deadline, passed")


class OverdueReports(Out):
    edition: str
    overdue: list[OverdueOut] = Field(
        description="funded proposals with no report past the deadline: the officer may "
        "propose the revocation (POST /applications/{id}/revoke)"
    )
