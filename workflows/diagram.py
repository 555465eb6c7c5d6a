"""The state diagrams, drawn from the transition tables (never by hand).

`mermaid()` gives a Mermaid `stateDiagram-v2` block for the README (code forges render
it); `rows()` gives the same table grouped by state for an HTML page.
"""

from __future__ import annotations

from . import application, edition
from .machine import StateMachine

MACHINES = {"application": application.MACHINE, "edition": edition.MACHINE}


def mermaid(machine: StateMachine = application.MACHINE, initial: str = "draft") -> str:
    lines = ["stateDiagram-v2"]
    for state in machine.states:
        lines.append(f'    state "{machine.state_labels[state]}" as {state}')
    lines.append(f"    [*] --> {initial}")
    for row in machine.table:
        roles = machine.roles_label(row["roles"])
        for source in row["source"]:
            lines.append(f"    {source} --> {row['dest']}: {row['trigger']} ({roles})")
    for state in machine.final_states():
        lines.append(f"    {state} --> [*]")
    return "\n".join(lines) + "\n"


def readme_block() -> str:
    """The README section body: both machines as fenced Mermaid blocks."""
    return (
        "Applications:\n\n```mermaid\n"
        + mermaid(application.MACHINE, "draft")
        + "```\n\nEditions (calls):\n\n```mermaid\n"
        + mermaid(edition.MACHINE, "draft")
        + "```\n"
    )


def rows(machine: StateMachine = application.MACHINE) -> list[dict]:
    """For each state, the moves out of it: [{state, label, final, moves: [...]}]."""
    result = []
    for state in machine.states:
        moves = [
            {
                "trigger": row["trigger"],
                "label": machine.trigger_labels[row["trigger"]],
                "dest": row["dest"],
                "dest_label": machine.state_labels[row["dest"]],
                "roles": machine.roles_label(row["roles"]),
            }
            for row in machine.table
            if state in row["source"]
        ]
        result.append(
            {
                "state": state,
                "label": machine.state_labels[state],
                "final": not moves,
                "moves": moves,
            }
        )
    return result
