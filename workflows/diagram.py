"""The state diagrams, drawn from the transition tables (never by hand).

`mermaid()` gives a Mermaid `stateDiagram-v2` block for the README (code forges render
it); `rows()` gives the same table grouped by state for an HTML page.
"""

from __future__ import annotations

from . import application, edition
from .machine import STAY, StateMachine

MACHINES = {"application": application.MACHINE, "edition": edition.MACHINE}


def mermaid(machine: StateMachine = application.MACHINE, initial: str = "draft") -> str:
    lines = ["stateDiagram-v2"]
    for state in machine.states:
        lines.append(f'    state "{machine.state_labels[state]}" as {state}')
    lines.append(f"    [*] --> {initial}")
    for row in machine.table:
        roles = machine.roles_label(row["roles"])
        for source in row["source"]:
            dest = source if row["dest"] == STAY else row["dest"]
            lines.append(f"    {source} --> {dest}: {row['trigger']} ({roles})")
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
                "dest": dest,
                "dest_label": machine.state_labels[dest],
                "roles": machine.roles_label(row["roles"]),
            }
            for row in machine.table
            if state in row["source"]
            for dest in [state if row["dest"] == STAY else row["dest"]]
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


# --- an SVG drawn from the table: layered layout, no Graphviz needed ----------------------

BOX_W, BOX_H = 164, 42
COL_W, ROW_H = 256, 92
MARGIN = 24


def _layout(machine: StateMachine, initial: str) -> dict[str, tuple[float, float]]:
    """Column = distance from the initial state; final states go in a row underneath,
    each under its sources, kept one column apart. Returns box centres."""
    finals = set(machine.final_states())
    rank = {initial: 0}
    frontier = [initial]
    while frontier:
        following = []
        for state in frontier:
            for source, _trigger, dest in machine.edges():
                if source == state and dest not in rank:
                    rank[dest] = rank[state] + 1
                    following.append(dest)
        frontier = following
    columns: dict[int, list[str]] = {}
    for state in machine.states:
        if state in rank and state not in finals:
            columns.setdefault(rank[state], []).append(state)
    tallest = max(len(states) for states in columns.values())
    position = {}
    for col, states in columns.items():
        offset = (tallest - len(states)) / 2  # centre short columns
        for i, state in enumerate(states):
            position[state] = (col, offset + i)
    last_col = max(columns)
    wanted = []
    for state in machine.states:
        if state in finals and state in rank:
            sources = [position[s][0] for r in machine.table if r["dest"] == state
                       for s in r["source"] if s in position]  # fmt: skip
            wanted.append([sum(sources) / len(sources), state])
    wanted.sort()
    for i in range(1, len(wanted)):  # one column apart, left to right…
        wanted[i][0] = max(wanted[i][0], wanted[i - 1][0] + 1)
    if wanted and wanted[-1][0] > last_col:  # …and back inside the drawing
        wanted[-1][0] = last_col
        for i in range(len(wanted) - 2, -1, -1):
            wanted[i][0] = min(wanted[i][0], wanted[i + 1][0] - 1)
    for x, state in wanted:
        position[state] = (x, tallest + 0.6)
    return {
        state: (MARGIN + BOX_W / 2 + col * COL_W, MARGIN + BOX_H / 2 + row * ROW_H)
        for state, (col, row) in position.items()
    }


def _clip(cx, cy, tx, ty):
    """Where the segment from a box centre towards (tx, ty) leaves the box."""
    dx, dy = tx - cx, ty - cy
    if dx == 0 and dy == 0:
        return cx, cy
    scale = min(
        (BOX_W / 2) / abs(dx) if dx else float("inf"),
        (BOX_H / 2) / abs(dy) if dy else float("inf"),
    )
    return cx + dx * scale, cy + dy * scale


def svg(
    machine: StateMachine = application.MACHINE,
    initial: str = "draft",
    short_labels: dict | None = None,
    title: str = "Stati di una domanda",
    translate=lambda text: text,
) -> str:
    """An inline SVG of the machine: states as boxes, moves as arrows with short labels,
    each label passed through `translate` (the page's language)."""
    from html import escape

    short_labels = short_labels or application.TRIGGER_SHORT_LABELS
    centre = _layout(machine, initial)
    finals = set(machine.final_states())
    width = max(x for x, _ in centre.values()) + BOX_W / 2 + MARGIN
    height = max(y for _, y in centre.values()) + BOX_H / 2 + MARGIN
    edges = [(s, d, t) for s, t, d in machine.edges() if s != d]
    pairs = {(s, d) for s, d, _ in edges}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        'class="bando-diagram" role="img" aria-labelledby="diagram-title">',
        f'<title id="diagram-title">{escape(title)}</title>',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#5c6f82"/></marker></defs>',
    ]
    labels, labelled = [], set()
    for source, dest, trigger in edges:
        (sx, sy), (dx, dy) = centre[source], centre[dest]
        side = None
        if (dest, source) in pairs:  # a move and its way back: side by side, labels outside
            length = ((dx - sx) ** 2 + (dy - sy) ** 2) ** 0.5
            side = (-(dy - sy) / length, (dx - sx) / length)
            sx, sy = sx + side[0] * 7, sy + side[1] * 7
            dx, dy = dx + side[0] * 7, dy + side[1] * 7
        x1, y1 = _clip(sx, sy, dx, dy)
        x2, y2 = _clip(dx, dy, sx, sy)
        to_final = dest in finals
        style = 'stroke="#a0adba" stroke-dasharray="4 3"' if to_final else 'stroke="#5c6f82"'
        parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" {style} '
            f'stroke-width="1.4" marker-end="url(#arrow)"><title>'
            f"{escape(translate(machine.trigger_labels[trigger]))}</title></line>"
        )
        text = translate(short_labels.get(trigger, trigger))
        if (text, dest) in labelled:  # one label for the same move from several states
            continue
        labelled.add((text, dest))
        t = 0.72 if to_final else 0.5
        lx, ly = x1 + (x2 - x1) * t, y1 + (y2 - y1) * t
        if not to_final:  # beside the arrow, not over it: above, or right of an upright one
            length = ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5 or 1
            nx, ny = (y2 - y1) / length, -(x2 - x1) / length
            if side is not None:
                nx, ny = side
            elif ny > 0 or (ny == 0 and nx < 0):
                nx, ny = -nx, -ny
            shift = 10 if abs(ny) > 0.5 else 6.4 * len(text) / 2 + 8
            lx, ly = lx + nx * shift, ly + ny * shift
        w = 6.4 * len(text) + 8
        labels.append(
            f'<rect x="{lx - w / 2:.1f}" y="{ly - 8:.1f}" width="{w:.1f}" height="15" rx="3" '
            f'fill="#fff" opacity="0.9"/><text x="{lx:.1f}" y="{ly + 3.5:.1f}" '
            f'font-size="11" text-anchor="middle" fill="#33485c">{escape(text)}</text>'
        )
    for state, (x, y) in centre.items():
        final = state in finals
        fill, stroke = ("#f2f4f6", "#8a9aaa") if final else ("#e6f0fa", "#0066cc")
        first = ' stroke-width="2.5"' if state == initial else ""
        parts.append(
            f'<g data-state="{state}"><rect x="{x - BOX_W / 2:.1f}" y="{y - BOX_H / 2:.1f}" '
            f'width="{BOX_W}" height="{BOX_H}" rx="8" fill="{fill}" stroke="{stroke}"{first}/>'
            f'<text x="{x:.1f}" y="{y + 4.5:.1f}" font-size="13" text-anchor="middle" '
            f'fill="#17324d">{escape(translate(machine.state_labels[state]))}</text></g>'
        )
    parts.extend(labels)
    parts.append("</svg>")
    return "\n".join(parts)
