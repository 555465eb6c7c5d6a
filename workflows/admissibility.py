"""The admissibility checklist (istruttoria formale): each rule of the call, named, with
its outcome and, when it fails, why — in Italian, for the officer's decision.

Plain data in, a list of checks out; no Flask, no database. The automatic checks are
computed here; the manual ones (those the call lists, e.g. a signature) carry the
officer's tick, or None while nobody has ticked them.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from scoring.money import euro

from .machine import gettext_noop
from .organisation import legal_form_problem, tax_code_problem
from .proposal import CallRules, Proposal, minimum_cofinancing_cents
from .timezone import on, rome


@dataclass(frozen=True)
class Check:
    code: str
    label: str
    passed: bool | None  # None: a manual check nobody has ticked yet
    message: str = ""  # why it failed
    manual: bool = False


@dataclass(frozen=True)
class AdmissibilityFacts:
    """What the checklist looks at, read from the rows by the caller."""

    legal_form: str
    tax_code: str
    proposal: Proposal
    rules: CallRules
    required_guidelines: tuple[str, ...] = ()
    attachments: frozenset[str] = frozenset()
    required_attachments: tuple[str, ...] = ()
    attachment_labels: Mapping[str, str] = field(default_factory=dict)
    submitted_at: datetime | None = None
    closes_at: datetime | None = None
    applications_of_organisation: int = 1  # active ones in this call, this one included
    max_applications: int = 1
    # The call's manual checks for this proposal: (code, label), and the officer's ticks.
    manual_checks: tuple[tuple[str, str], ...] = ()
    ticks: Mapping[str, bool] = field(default_factory=dict)


def _legal_form(f: AdmissibilityFacts):
    return legal_form_problem(f.legal_form)


def _tax_code(f: AdmissibilityFacts):
    return tax_code_problem(f.tax_code)


def _neighbourhood(f: AdmissibilityFacts):
    hood = f.proposal.neighbourhood
    if hood is None:
        return "nessun quartiere indicato"
    if hood not in f.rules.guidelines:
        return f"il quartiere «{hood}» non è tra quelli del bando"
    return None


def _guideline(f: AdmissibilityFacts):
    own = f.rules.guidelines.get(f.proposal.neighbourhood or "", frozenset())
    if not any(code in own for code in f.proposal.guidelines):
        return "nessuna linea di indirizzo del quartiere scelto"
    return None


def _required_guidelines(f: AdmissibilityFacts):
    missing = [code for code in f.required_guidelines if code not in f.proposal.guidelines]
    if missing:
        return f"il bando richiede per questo quartiere la linea {', '.join(missing)}"
    return None


def _maximum(f: AdmissibilityFacts):
    requested = f.proposal.requested_cents
    if requested <= 0:
        return "nessun contributo richiesto"
    if requested > f.rules.max_grant_cents:
        return (
            f"richiesti {euro(requested)}, oltre il massimo per progetto "
            f"di {euro(f.rules.max_grant_cents)}"
        )
    return None


def _cofinancing(f: AdmissibilityFacts):
    total = f.proposal.total_cost_cents
    minimum = minimum_cofinancing_cents(total, f.rules.min_cofinancing_bp)
    if f.proposal.cofinancing_cents < minimum:
        return (
            f"cofinanziamento di {euro(f.proposal.cofinancing_cents)}, sotto il minimo di "
            f"{euro(minimum)} ({f.rules.min_cofinancing_bp / 100:g} % del costo totale)"
        )
    return None


def _budget(f: AdmissibilityFacts):
    p = f.proposal
    if not p.budget:
        return "nessuna voce nel piano economico"
    if p.requested_cents + p.cofinancing_cents != p.total_cost_cents:
        return (
            f"le voci sommano {euro(p.total_cost_cents)}, contributo e cofinanziamento "
            f"{euro(p.requested_cents + p.cofinancing_cents)}"
        )
    return None


def _dates(f: AdmissibilityFacts):
    p, r = f.proposal, f.rules
    if p.start_date is None or p.end_date is None:
        return "date del progetto mancanti"
    if not (r.project_starts_on <= p.start_date <= p.end_date <= r.project_ends_on):
        return (
            f"{on('dal', p.start_date)} {on('al', p.end_date)}: fuori dal periodo del bando "
            f"({on('dal', r.project_starts_on)} {on('al', r.project_ends_on)})"
        )
    return None


def _attachments(f: AdmissibilityFacts):
    missing = [k for k in f.required_attachments if k not in f.attachments]
    if missing:
        labels = ", ".join(f"«{f.attachment_labels.get(k, k)}»" for k in missing)
        return f"mancano: {labels}"
    return None


def _in_time(f: AdmissibilityFacts):
    if f.submitted_at is None:
        return "la domanda non risulta presentata"
    if f.closes_at is not None and f.submitted_at >= f.closes_at:
        return f"presentata {rome(f.submitted_at)}, dopo la scadenza {rome(f.closes_at, 'del')}"
    return None


def _per_organisation(f: AdmissibilityFacts):
    if f.applications_of_organisation > f.max_applications:
        return (
            f"l'ente ha {f.applications_of_organisation} domande attive, il bando ne ammette "
            f"{f.max_applications}"
        )
    return None


# The automatic checks, in the order the officer reads them: (code, label, rule).
AUTOMATIC: tuple[tuple[str, str, Callable[[AdmissibilityFacts], str | None]], ...] = (
    ("non_profit", gettext_noop("Ente senza scopo di lucro"), _legal_form),
    ("tax_code", gettext_noop("Codice fiscale valido"), _tax_code),
    ("neighbourhood", gettext_noop("Quartiere previsto dal bando"), _neighbourhood),
    ("guideline", gettext_noop("Almeno una linea di indirizzo del quartiere"), _guideline),
    (
        "required_guidelines",
        gettext_noop("Linee di indirizzo obbligatorie nel quartiere"),
        _required_guidelines,
    ),
    ("max_grant", gettext_noop("Contributo entro il massimo per progetto"), _maximum),
    ("cofinancing", gettext_noop("Cofinanziamento almeno pari alla quota minima"), _cofinancing),
    ("budget", gettext_noop("Piano economico coerente con contributo e cofinanziamento"), _budget),
    ("dates", gettext_noop("Date del progetto nel periodo del bando"), _dates),
    ("attachments", gettext_noop("Allegati obbligatori presenti"), _attachments),
    ("in_time", gettext_noop("Domanda presentata entro la scadenza"), _in_time),
    ("per_organisation", gettext_noop("Numero di domande per ente"), _per_organisation),
)


def checklist(f: AdmissibilityFacts) -> list[Check]:
    """Every check, automatic then manual, with its outcome."""
    checks = []
    for code, label, rule in AUTOMATIC:
        problem = rule(f)
        checks.append(Check(code, label, problem is None, problem or ""))
    for code, label in f.manual_checks:
        tick = f.ticks.get(code)
        message = "" if tick is not False else "non verificato dall'istruttore"
        checks.append(Check(code, label, tick, message, manual=True))
    return checks


def outstanding(checks: list[Check]) -> list[Check]:
    """What keeps a proposal from being declared eligible: failed or unticked checks."""
    return [check for check in checks if check.passed is not True]
