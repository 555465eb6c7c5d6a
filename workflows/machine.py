"""What the application and edition machines share: a transition table, named guards,
`check()` that lists the refusals, and the move itself done by a `transitions` Machine.

A transition table is a list of dicts::

    {"trigger": "submit", "source": ("draft",), "dest": "submitted",
     "roles": ("owner",), "guards": ("edition_open", "before_closing")}

`roles` are actor kinds: a user role ("officer", "finance", …), "owner" (a user of the
organisation that owns the subject) or "system" (no user: the scheduled tick).
A guard is a named predicate over a plain facts object: it returns None when the move
may go on, or a Refusal carrying a code and an Italian reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from transitions import Machine

OWNER = "owner"
SYSTEM = "system"


class Refusal(NamedTuple):
    code: str
    reason: str

    def __str__(self) -> str:
        return self.reason


class Refused(Exception):
    """A trigger that may not fire, with every reason found."""

    def __init__(self, refusals: list[Refusal]):
        self.refusals = list(refusals)
        super().__init__("; ".join(r.reason for r in self.refusals))

    @property
    def code(self) -> str:
        return self.refusals[0].code

    @property
    def reason(self) -> str:
        return str(self)


Guard = Callable[[Any], Refusal | None]


class _Subject:
    """The model the transitions Machine moves: just a state."""

    def __init__(self, state: str):
        self.state = state


class StateMachine:
    """One transition table, its guards and labels; stateless and thread-safe."""

    def __init__(
        self,
        *,
        states: Iterable[str],
        table: list[dict],
        guards: Mapping[str, Guard],
        actor_kind: Callable[[Any], str],
        state_labels: Mapping[str, str],
        trigger_labels: Mapping[str, str],
        role_labels: Mapping[str, str],
        subject: str,
    ):
        self.states = tuple(states)
        self.guards = dict(guards)
        self.actor_kind = actor_kind
        self.state_labels = dict(state_labels)
        self.trigger_labels = dict(trigger_labels)
        self.role_labels = dict(role_labels)
        self.subject = subject  # "una domanda", "un bando": used in the reasons
        self.table = [self._normalised(row) for row in table]
        self._validate()

    @staticmethod
    def _normalised(row: dict) -> dict:
        source = row["source"]
        return {
            "trigger": row["trigger"],
            "source": (source,) if isinstance(source, str) else tuple(source),
            "dest": row["dest"],
            "roles": tuple(row["roles"]),
            "guards": tuple(row.get("guards", ())),
        }

    def _validate(self) -> None:
        seen = set()
        for row in self.table:
            for state in (*row["source"], row["dest"]):
                if state not in self.states:
                    raise ValueError(f"{row['trigger']}: unknown state {state}")
            for name in row["guards"]:
                if name not in self.guards:
                    raise ValueError(f"{row['trigger']}: unknown guard {name}")
            if row["trigger"] not in self.trigger_labels:
                raise ValueError(f"{row['trigger']}: no label")
            for state in row["source"]:
                if (row["trigger"], state) in seen:
                    raise ValueError(f"{row['trigger']} from {state} defined twice")
                seen.add((row["trigger"], state))
        for state in self.states:
            if state not in self.state_labels:
                raise ValueError(f"state {state}: no label")

    @property
    def triggers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(row["trigger"] for row in self.table))

    def row(self, state: str, trigger: str) -> dict | None:
        for row in self.table:
            if row["trigger"] == trigger and state in row["source"]:
                return row
        return None

    def roles_label(self, roles: Iterable[str]) -> str:
        return ", ".join(self.role_labels.get(r, r) for r in roles)

    def check(self, state: str, trigger: str, facts) -> list[Refusal]:
        """Every reason why `trigger` may not fire from `state`; empty when it may."""
        if trigger not in self.trigger_labels:
            return [Refusal("unknown_trigger", f"operazione sconosciuta: «{trigger}»")]
        label = self.trigger_labels[trigger]
        row = self.row(state, trigger)
        if row is None:
            state_label = self.state_labels.get(state, state)
            return [
                Refusal(
                    "invalid_state",
                    f"«{label}» non è possibile per {self.subject} nello stato «{state_label}»",
                )
            ]
        if self.actor_kind(facts) not in row["roles"]:
            return [
                Refusal(
                    "forbidden",
                    f"«{label}» spetta solo a: {self.roles_label(row['roles'])}",
                )
            ]
        refusals = []
        for name in row["guards"]:
            refusal = self.guards[name](facts)
            if refusal is not None:
                refusals.append(refusal)
        return refusals

    def _machine_for(self, state: str) -> _Subject:
        subject = _Subject(state)
        transitions = []
        for row in self.table:
            transitions.append(
                {
                    "trigger": row["trigger"],
                    "source": list(row["source"]),
                    "dest": row["dest"],
                    # The machine re-asks the same named guards: it never moves on a refusal.
                    "conditions": [lambda facts, r=row: self._passes(r, facts)],
                }
            )
        Machine(
            model=subject,
            states=list(self.states),
            transitions=transitions,
            initial=state,
            auto_transitions=False,
            ignore_invalid_triggers=False,
        )
        return subject

    def _passes(self, row: dict, facts) -> bool:
        if self.actor_kind(facts) not in row["roles"]:
            return False
        return all(self.guards[name](facts) is None for name in row["guards"])

    def advance(self, state: str, trigger: str, facts) -> str:
        """The state after `trigger`, or Refused with every reason."""
        refusals = self.check(state, trigger, facts)
        if refusals:
            raise Refused(refusals)
        subject = self._machine_for(state)
        if not subject.trigger(trigger, facts):  # the guards changed their mind: never expected
            raise Refused([Refusal("refused", "operazione non consentita")])
        return subject.state

    def transition_table(self) -> list[dict]:
        """The table with Italian labels, for diagrams and help pages."""
        return [
            {
                **row,
                "label": self.trigger_labels[row["trigger"]],
                "roles_label": self.roles_label(row["roles"]),
            }
            for row in self.table
        ]

    def final_states(self) -> tuple[str, ...]:
        sources = {s for row in self.table for s in row["source"]}
        return tuple(s for s in self.states if s not in sources)
