"""The application state machine (see DESIGN.md, "Application states")."""

STATES = (
    "draft",
    "submitted",
    "integration_requested",
    "eligible",
    "ineligible",
    "scored",
    "funded",
    "reserve",
    "not_funded",
    "reported",
    "closed",
    "withdrawn",
    "renounced",
    "revoked",
)
