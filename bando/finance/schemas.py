"""The payloads of letters: which letter each proposal of a call gets, and its protocol
once issued."""

from typing import Literal

from pydantic import Field

from bando.core.schemas import Moment, Out
from bando.finance.models import LETTER_KINDS


class LetterRow(Out):
    application_id: int
    application_protocol: str | None = Field(description="the proposal's incoming protocol")
    organisation: str
    kind: Literal[LETTER_KINDS] = Field(description="the letter the proposal's state calls for")
    protocol: str | None = Field(description="the letter's outgoing protocol; null until issued")
    issued_at: Moment | None = None


class EditionLetters(Out):
    edition: str
    issued_now: int = Field(0, description="letters given their protocol by this request")
    missing: int = Field(description="letters still without a protocol")
    letters: list[LetterRow]
