"""The payloads of administration: accounts as the administrator sees and makes them, a call
file to load, the audit chain's check."""

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bando.accounts.models import ROLES, STAFF_ROLES
from bando.admin.operations import STATUSES
from bando.applications.schemas import MAX_OFFSET, MAX_PAGE_SIZE, PAGE_SIZE
from bando.core.labels import SUBJECT_LABELS
from bando.core.schemas import EventOut, Line, Moment, Out, Schema, Text

# The days a search of the trail may name: beyond them a day's bounds in UTC cannot be
# computed (year 1 in Rome is before year 1 in UTC), and no event is there anyway.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)
# A call file is a few kilobytes; this is far above any real one.
CALL_FILE_CHARS = 200_000


class UserQuery(BaseModel):
    """The filters and the page of GET /users, from the query string."""

    model_config = ConfigDict(extra="ignore")

    role: Literal[ROLES] | None = None
    status: Literal[STATUSES] | None = None
    q: Line(100) | None = Field(
        default=None, description="part of the e-mail, the name or the organisation's name"
    )
    limit: int = Field(default=PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="rows per page")
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET, description="rows skipped")


class AccountOut(Out):
    id: int
    email: str
    full_name: str
    role: Literal[ROLES]
    active: bool
    email_confirmed: bool
    organisation: str | None = Field(description="the organisation's name, for an applicant")
    created_at: Moment


class AccountList(Out):
    users: list[AccountOut]
    total: int = Field(description="every account matching the filters, on all pages")
    limit: int
    offset: int


class NewStaffAccount(Schema):
    email: Line(254)
    role: Literal[STAFF_ROLES]
    full_name: Line(200) = ""


class CallFile(Schema):
    toml: Text(CALL_FILE_CHARS) = Field(description="the call's TOML file, as text")
    name: Line(100) = Field(default="bando.toml", description="the file's name, for the trail")


class ChainCheck(Out):
    whole: bool = Field(description="every event matches its hash and the one before it")
    events: int = Field(description="the events read")
    first_bad_event: int | None = Field(description="the id of the first event that does not")
    problem: str


class AuditQuery(BaseModel):
    """The filters and the page of GET /audit/events, from the query string."""

    model_config = ConfigDict(extra="ignore")

    subject: Literal[tuple(SUBJECT_LABELS)] | None = Field(
        default=None, description="what the events are about"
    )
    edition: Line(64) | None = Field(default=None, description="a call's code")
    q: Line(100) | None = Field(
        default=None,
        description="part of who acted (an e-mail), or of the account an account's event is about",
    )
    since: date | None = Field(
        default=None, ge=FIRST_DAY, le=LAST_DAY, description="from this day (Europe/Rome)"
    )
    until: date | None = Field(
        default=None, ge=FIRST_DAY, le=LAST_DAY, description="to this day, included"
    )
    limit: int = Field(default=PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="rows per page")
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET, description="rows skipped")


class TrailEventOut(EventOut):
    """An event of the whole trail: what it is about besides what it did."""

    subject: str
    edition: str | None = Field(description="the call's code")
    application_id: int | None
    protocol: str | None = Field(description="the application's protocol, once it has one")


class TrailEvents(Out):
    events: list[TrailEventOut] = Field(description="newest first")
    total: int = Field(description="every event matching the filters, on all pages")
    limit: int
    offset: int
