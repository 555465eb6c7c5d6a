"""The rules a proposal's figures and dates must follow, on plain data.

`proposal_problems` checks what is there (a draft may still lack parts, but what it says must
hold); with `complete=True` it also asks for every part a submission needs. Messages are in
Italian and keyed by the field they belong next to. No Flask, no database.
"""

from dataclasses import dataclass, field
from datetime import date

from scoring.money import euro

from .timezone import on


@dataclass(frozen=True)
class CallRules:
    max_grant_cents: int
    min_cofinancing_bp: int  # basis points of the total cost: 1000 = 10 %
    project_starts_on: date
    project_ends_on: date
    categories: tuple[str, ...] = ()
    # neighbourhood slug → the guideline codes it may address
    guidelines: dict[str, frozenset[str]] = field(default_factory=dict)
    # guideline codes of the whole call, open to every neighbourhood
    general_guidelines: frozenset[str] = frozenset()


@dataclass(frozen=True)
class BudgetLine:
    category: str
    amount_cents: int
    description: str = ""


@dataclass(frozen=True)
class Proposal:
    neighbourhood: str | None = None
    guidelines: tuple[str, ...] = ()
    budget: tuple[BudgetLine, ...] = ()
    requested_cents: int = 0
    cofinancing_cents: int = 0
    start_date: date | None = None
    end_date: date | None = None

    @property
    def total_cost_cents(self) -> int:
        return sum(line.amount_cents for line in self.budget)


def _day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def minimum_cofinancing_cents(total_cents: int, share_bp: int) -> int:
    """The least co-financing for a total cost, rounded up to the cent (never in favour)."""
    return -(-total_cents * share_bp // 10000)


def proposal_problems(
    proposal: Proposal, rules: CallRules, *, complete: bool = False
) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}

    def add(key, message):
        problems.setdefault(key, []).append(message)

    # Where: the neighbourhood and only its guidelines.
    if proposal.neighbourhood is not None and proposal.neighbourhood not in rules.guidelines:
        add("neighbourhood", f"quartiere «{proposal.neighbourhood}» non previsto dal bando")
    elif proposal.neighbourhood is not None:
        own = rules.guidelines[proposal.neighbourhood]
        allowed = own | rules.general_guidelines
        foreign = [code for code in proposal.guidelines if code not in allowed]
        if foreign:
            add(
                "guidelines",
                f"linee di indirizzo non del quartiere scelto: {', '.join(foreign)}",
            )
        elif complete and not any(code in own for code in proposal.guidelines):
            add("guidelines", "scegliere almeno una linea di indirizzo del quartiere")
    elif proposal.guidelines:
        add("guidelines", "scegliere prima il quartiere")
    if len(set(proposal.guidelines)) != len(proposal.guidelines):
        add("guidelines", "linea di indirizzo indicata due volte")
    if complete and proposal.neighbourhood is None:
        add("neighbourhood", "scegliere il quartiere")

    # The budget lines.
    for index, line in enumerate(proposal.budget):
        if rules.categories and line.category not in rules.categories:
            add(
                f"budget.{index}.category",
                f"categoria «{line.category}» non prevista dal bando "
                f"(ammesse: {', '.join(rules.categories)})",
            )
        if line.amount_cents <= 0:
            add(f"budget.{index}.amount", "l'importo della voce deve essere maggiore di zero")
    if complete and not proposal.budget:
        add("budget", "inserire almeno una voce del piano economico")

    # The figures: requested ≤ maximum, co-financing ≥ its share, lines add up.
    requested, cofinancing = proposal.requested_cents, proposal.cofinancing_cents
    total = proposal.total_cost_cents
    if requested < 0:
        add("requested_amount", "il contributo richiesto non può essere negativo")
    elif requested > rules.max_grant_cents:
        add(
            "requested_amount",
            f"il contributo richiesto ({euro(requested)}) supera il massimo del bando "
            f"({euro(rules.max_grant_cents)})",
        )
    elif complete and requested == 0:
        add("requested_amount", "indicare il contributo richiesto (maggiore di zero)")
    if cofinancing < 0:
        add("cofinancing_amount", "il cofinanziamento non può essere negativo")
    if proposal.budget and (requested or cofinancing or complete):
        if requested + cofinancing != total:
            add(
                "budget",
                f"le voci di spesa sommano {euro(total)}, ma contributo richiesto e "
                f"cofinanziamento sommano {euro(requested + cofinancing)}: devono coincidere",
            )
        minimum = minimum_cofinancing_cents(total, rules.min_cofinancing_bp)
        if cofinancing < minimum:
            share = rules.min_cofinancing_bp / 100
            add(
                "cofinancing_amount",
                f"il cofinanziamento deve essere almeno il {share:g} % del costo totale "
                f"({euro(total)}): almeno {euro(minimum)}",
            )

    # When: inside the call's project window.
    window = f"{on('dal', rules.project_starts_on)} {on('al', rules.project_ends_on)}"
    for key, value, label in (
        ("start_date", proposal.start_date, "inizio"),
        ("end_date", proposal.end_date, "fine"),
    ):
        if value is None:
            if complete:
                add(key, f"indicare la data di {label} del progetto")
        elif not rules.project_starts_on <= value <= rules.project_ends_on:
            add(key, f"la data di {label} deve cadere nel periodo del bando, {window}")
    if proposal.start_date and proposal.end_date and proposal.start_date > proposal.end_date:
        add("end_date", "la data di fine precede quella di inizio")
    return problems
