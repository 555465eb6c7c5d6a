"""What the application and edition machines share: a transition table, named guards, and
one `transitions` Machine per table, built once, that decides and does every move.

A transition table is a list of dicts::

    {"trigger": "submit", "source": ("draft",), "dest": "submitted",
     "roles": ("owner",), "guards": ("edition_open", "before_closing")}

`roles` are actor kinds: a user role ("officer", "finance", …), "owner" (a user of the
organisation that owns the subject) or "system" (no user: the scheduled tick).
A guard is a named predicate over a plain facts object: it returns None when the move
may go on, or a Refusal carrying a code and an Italian reason.

The Machine's conditions are the role check and those guards, nothing else: the Machine
decides. `check()` asks the very same predicates only to explain a refusal (or to show
which buttons a page offers). Side effects — a protocol number, a deadline, the
notifications — are registered by the caller with `effect()` and run by the Machine as
its `before` / `after` callbacks of the transitions of that trigger.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from transitions import Machine, MachineError

OWNER = "owner"
SYSTEM = "system"
STAY = "="


def gettext_noop(text: str) -> str:
    """Marks a label for the translation catalogue (`make messages`); the pages translate it
    when they show it. workflows/ knows nothing of Flask-Babel."""
    return text


class Message(str):
    """A message with values in it, in Italian (the API's words), that a page can still say
    in its own language: it keeps its catalogue entry and its values.
    `Message(gettext_noop("ne sono stati indicati %(count)s"), count=10)`."""

    template: str
    values: dict

    def __new__(cls, template: str, **values):
        message = super().__new__(cls, template % values)
        message.template, message.values = template, values
        return message


class Refusal(NamedTuple):
    code: str
    reason: str
    # Where a refusal has parts (what a submission lacks): the field they belong to.
    field: str | None = None
    details: tuple[str, ...] = ()

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
# An effect gets the subject being moved and the caller's context (actor, time, …).
Effect = Callable[[Any, Any], None]


class _Subject:
    """A bare subject, for moving a state that is not a row (the pure `advance`)."""

    def __init__(self, state: str):
        self.state = state


class StateMachine:
    """One transition table, its guards and labels, and the Machine built from them.

    Stateless between calls and safe to share between threads: every move passes its own
    subject, facts and context to the Machine's event.
    """

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
        self._effects: dict[tuple[str, str], list[Effect]] = {}
        self._machine = self._build()

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
            # dest "=": the subject stays where it is (a reflexive move, recorded all the same)
            for state in (*row["source"], *([] if row["dest"] == STAY else [row["dest"]])):
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

    # --- the Machine ---------------------------------------------------------------------

    def _build(self) -> Machine:
        transitions = []
        for row in self.table:
            transitions.append(
                {
                    "trigger": row["trigger"],
                    "source": list(row["source"]),
                    "dest": row["dest"],
                    "conditions": [self._role_condition(row)]
                    + [self._guard_condition(name) for name in row["guards"]],
                    "before": self._run_effects("before"),
                    "after": self._run_effects("after"),
                }
            )
        return Machine(
            model=None,  # no shared model: each move passes its own subject
            states=list(self.states),
            initial=self.states[0],
            transitions=transitions,
            auto_transitions=False,
            ignore_invalid_triggers=False,
            send_event=True,
        )

    def _role_condition(self, row: dict) -> Callable:
        roles = row["roles"]
        return lambda event: self.actor_kind(event.kwargs["facts"]) in roles

    def _guard_condition(self, name: str) -> Callable:
        guard = self.guards[name]
        return lambda event: guard(event.kwargs["facts"]) is None

    def _run_effects(self, when: str) -> Callable:
        def run(event) -> None:
            context = event.kwargs.get("context")
            if context is None:  # a pure move (advance): no rows, no effects
                return
            for effect in self._effects.get((event.event.name, when), ()):
                effect(event.model, context)

        return run

    def effect(self, *triggers: str, when: str = "before") -> Callable[[Effect], Effect]:
        """Registers `effect(subject, context)` to run on a move by one of `triggers`:
        `before` the state changes (it may still refuse by raising) or `after`."""
        if when not in ("before", "after"):
            raise ValueError(f"when: before or after, not {when}")
        for trigger in triggers:
            if trigger not in self.trigger_labels:
                raise ValueError(f"unknown trigger {trigger}")

        def register(effect: Effect) -> Effect:
            for trigger in triggers:
                effects = self._effects.setdefault((trigger, when), [])
                if effect not in effects:
                    effects.append(effect)
            return effect

        return register

    def fire(self, subject, trigger: str, facts, context=None) -> str:
        """Moves `subject` (anything with a `state` attribute, a row included) by `trigger`
        and runs the registered effects with `context`; or raises Refused, having changed
        nothing. Returns the new state."""
        event = self._machine.events.get(trigger)
        if event is None:
            raise Refused(self._explain(subject.state, trigger, facts))
        try:
            moved = event.trigger(subject, facts=facts, context=context)
        except MachineError:  # no move by this trigger from the subject's state
            moved = False
        if not moved:
            raise Refused(self._explain(subject.state, trigger, facts))
        return subject.state

    def _explain(self, state: str, trigger: str, facts) -> list[Refusal]:
        # Only reached when the Machine refused, so check() names at least one reason.
        refusals = self.check(state, trigger, facts)
        return refusals or [Refusal("refused", "operazione non consentita")]

    def advance(self, state: str, trigger: str, facts) -> str:
        """The state after `trigger` from `state`, or Refused with every reason (no effects)."""
        return self.fire(_Subject(state), trigger, facts)

    # --- explaining ----------------------------------------------------------------------

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
        """Every reason why `trigger` may not fire from `state`; empty when it may. The same
        predicates as the Machine's conditions, asked one by one to name each refusal."""
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

    def edges(self) -> list[tuple[str, str, str]]:
        """Every move as (source, trigger, destination), a reflexive one included."""
        return [
            (source, row["trigger"], source if row["dest"] == STAY else row["dest"])
            for row in self.table
            for source in row["source"]
        ]
