"""The payloads of applications: the proposal as written and as read back, its documents,
the applicant's and the officer's moves.

The proposal's fields are defined once, in ProposalFields: the input (POST, PATCH), the
output and the OpenAPI components all come from it, and the pages send the same shape.
"""

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from stdnum.it import codicefiscale

from bando.core.schemas import Cents, Day, EventOut, Line, Moment, Out, Schema, Text
from workflows.application import STATES
from workflows.organisation import tax_code_problem

LIST_LIMIT = 50  # budget lines, partners, guidelines: far above any real proposal
# The pages of GET /applications; an offset beyond any real table (and within a 32-bit
# integer, which every database takes).
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_OFFSET = 1_000_000


def _partner_tax_code(value: str | None) -> str | None:
    """As people type it ("011 9925 0158", lower case, a space pasted at the end): kept
    compact, and checked as the organisation's own."""
    number = codicefiscale.compact(value or "")
    if not number:
        return None
    if problem := tax_code_problem(number):
        raise ValueError(problem)
    return number


class PartnerFields(Schema):
    name: Annotated[Line(300), Field(min_length=1)]
    tax_code: Annotated[Line(40) | None, AfterValidator(_partner_tax_code)] = None
    role: Line(300) = ""


class BudgetLineFields(Schema):
    category: Annotated[Line(40), Field(min_length=1, description="one of the call's categories")]
    description: Line(500) = ""
    amount: Cents


class ProposalFields(Schema):
    """What the organisation writes. A draft may lack parts; what it says must follow the
    call's rules (requested ≤ max_grant, co-financing ≥ its share of the total, budget lines
    = requested + co-financing, dates in the project window, guidelines of the
    neighbourhood), checked by workflows.proposal."""

    neighbourhood: Line(64) | None = Field(default=None, description="slug")
    title: Line(300) = ""
    summary: Text(5000) = ""
    description: Text(20000) = ""
    objectives: Text(10000) = ""
    places: Text(5000) = ""
    timeline: Text(10000) = ""
    guidelines: Annotated[list[Line(20)], Field(max_length=LIST_LIMIT)] = []
    partners: Annotated[list[PartnerFields], Field(max_length=LIST_LIMIT)] = []
    budget: Annotated[list[BudgetLineFields], Field(max_length=LIST_LIMIT)] = []
    requested_amount: Cents = 0
    cofinancing_amount: Cents = 0
    start_date: Day | None = None
    end_date: Day | None = None


class ProposalChange(ProposalFields):
    """PATCH: only the fields sent change. `edition`, when sent, must be the draft's own."""

    edition: Line(64) | None = Field(default=None, description="edition code (unchangeable)")


class NewProposal(ProposalFields):
    """POST: a new draft of a call (everything but the edition may come later)."""

    edition: Line(64) = Field(description="edition code")


# The text fields of a proposal, with their limits (the form's counters read them).
TEXT_LIMITS = {
    name: next(m.max_length for m in info.metadata if hasattr(m, "max_length"))
    for name, info in ProposalFields.model_fields.items()
    if name in ("title", "summary", "description", "objectives", "places", "timeline")
}


class OrganisationRef(Out):
    id: int
    name: str
    tax_code: str


class AttachmentInfo(Out):
    kind: str
    filename: str
    size: int
    sha256: str
    uploaded_at: Moment


class PartnerOut(Out):
    name: str
    tax_code: str | None
    role: str


class BudgetLineOut(Out):
    category: str
    description: str
    amount: Cents


class ApplicationOut(Out):
    id: int
    edition: str
    organisation: OrganisationRef
    state: str
    protocol: str | None
    submitted_at: Moment | None
    integration_deadline: Moment | None
    integration_request: str | None
    notice_deadline: Moment | None = Field(description="the notice before rejection: answer by")
    notice_reasons: str | None
    notice_answer: str | None
    notice_answered_at: Moment | None
    neighbourhood: str | None
    title: str
    summary: str
    description: str
    objectives: str
    places: str
    timeline: str
    guidelines: list[str]
    partners: list[PartnerOut]
    budget: list[BudgetLineOut]
    total_cost: Cents
    requested_amount: Cents
    cofinancing_amount: Cents
    start_date: Day | None
    end_date: Day | None
    attachments: list[AttachmentInfo]
    version: int


class ApplicationQuery(BaseModel):
    """The filters and the page of GET /applications, from the query string (its values
    are text, read as numbers where numbers are asked; other parameters are ignored)."""

    model_config = ConfigDict(extra="ignore")

    edition: Line(64) | None = Field(default=None, description="the call's code")
    state: Literal[STATES] | None = None
    neighbourhood: Line(64) | None = Field(default=None, description="the neighbourhood's slug")
    limit: int = Field(default=PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="rows per page")
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET, description="rows skipped")


class ApplicationList(Out):
    applications: list[ApplicationOut]
    total: int = Field(description="every application matching the filters, on all pages")
    limit: int
    offset: int


class AttachmentList(Out):
    attachments: list[AttachmentInfo]


class Submitted(Out):
    state: Literal["submitted"]
    protocol: str
    submitted_at: Moment


class StateOut(Out):
    state: str


class Events(Out):
    application_id: int
    state: str
    events: list[EventOut]


class EligibilityDecision(Schema):
    decision: Literal["eligible", "ineligible", "request_integration", "notify_rejection"]
    reason: Text(5000) = Field(
        default="",
        description="required for ineligible, request_integration and notify_rejection (the "
        "reasons against, art. 10-bis L. 241/1990, where the call sets a notice)",
    )


class Decided(Out):
    id: int
    state: str
    event: EventOut
    integration_deadline: Moment | None = None
    notice_deadline: Moment | None = None


class Observations(Schema):
    observations: Annotated[Text(20000), Field(min_length=1)] = Field(
        description="the organisation's answer to the notice before rejection"
    )


class CheckOut(Out):
    code: str
    label: str
    passed: bool | None = Field(description="None: a manual check not ticked yet")
    message: str
    manual: bool


class Checklist(Out):
    application_id: int
    state: str
    checks: list[CheckOut]
    admissible: bool = Field(description="no check fails or waits")


class TickIn(Schema):
    code: Line(40)
    passed: bool
    note: Text(2000) = ""


UPLOAD = {
    "type": "object",
    "required": ["kind", "file"],
    "properties": {
        "kind": {"type": "string", "description": "one of the call's documents"},
        "file": {"type": "string", "format": "binary"},
    },
}
