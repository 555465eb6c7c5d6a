"""The payloads of the officer's moves on a call."""

from bando.core.schemas import EventOut, Out


class EditionMoved(Out):
    code: str
    state: str
    event: EventOut
