"""The edition state machine: draft → open → closed → ranked → allocated → archived."""

STATES = ("draft", "open", "closed", "ranked", "allocated", "archived")
