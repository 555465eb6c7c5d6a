"""Factory functions (Indico style): create_edition(...), create_user(...), …

Each adds rows to the session and flushes; the caller commits when it needs to.
"""

from datetime import timedelta
from itertools import count

from stdnum import luhn

from bando.accounts.models import Organisation, User
from bando.accounts.passwords import hash_password
from bando.calls.models import Criterion, Edition, Guideline, Neighbourhood
from bando.core.extensions import db
from bando.core.timeutil import utcnow

PASSWORD = "password-di-prova"
_seq = count(1)


def entity_tax_code(n: int) -> str:
    """A valid 11-digit codice fiscale of an entity, different for each n."""
    base = f"9{n:06d}001"
    return base + luhn.calc_check_digit(base)


def create_edition(
    code=None,
    *,
    state="open",
    cap_cents=80_000_00,
    max_grant_cents=16_000_00,
    opens_at=None,
    closes_at=None,
    neighbourhoods=("san-siro", "gratosoglio"),
    **rules,
):
    n = next(_seq)
    code = code or f"test-{n}"
    now = utcnow()
    edition = Edition(
        code=code,
        title=f"Bando di prova {n}",
        state=state,
        budget_cap_cents=cap_cents,
        opens_at=opens_at or now - timedelta(days=10),
        closes_at=closes_at or now + timedelta(days=10),
        project_starts_on=rules.pop("project_starts_on", (now + timedelta(days=30)).date()),
        project_ends_on=rules.pop("project_ends_on", (now + timedelta(days=400)).date()),
        budget_categories=rules.pop(
            "budget_categories", ["personale", "materiali", "comunicazione", "spese_generali"]
        ),
        protocol_prefix=code.upper().replace("-", "")[:12],
        max_grant_cents=max_grant_cents,
        min_cofinancing_bp=rules.pop("min_cofinancing_bp", 1000),
        integration_days=rules.pop("integration_days", 10),
        reviews_required=rules.pop("reviews_required", 3),
        aggregation=rules.pop("aggregation", "mean"),
        threshold=rules.pop("threshold", 60),
        advance_share_bp=rules.pop("advance_share_bp", 5000),
        tie_break=rules.pop("tie_break", ["protocol"]),
        required_attachments=rules.pop(
            "required_attachments", ["statuto", "documento_identita", "piano_economico"]
        ),
        max_applications_per_organisation=rules.pop("max_applications_per_organisation", 1),
        allocation_mode=rules.pop("allocation_mode", "single_ranking"),
        on_insufficient=rules.pop("on_insufficient", "partial"),
        min_partial_share_bp=rules.pop("min_partial_share_bp", 5000),
    )
    assert not rules, f"unknown rules: {rules}"
    db.session.add(edition)
    for position, slug in enumerate(neighbourhoods):
        hood = Neighbourhood(
            edition=edition,
            slug=slug,
            name=slug.replace("-", " ").title(),
            position=position,
            lab_address="via Prova 1",
        )
        db.session.add(hood)
        for i in (1, 2):
            db.session.add(
                Guideline(
                    edition=edition,
                    neighbourhood=hood,
                    position=i,
                    code=f"{slug[:2].upper()}{i}",
                    text=f"Linea {i} di {slug}",
                )
            )
    for position, (ccode, points) in enumerate(
        (("coherence", 40), ("network", 30), ("sustainability", 30))
    ):
        db.session.add(
            Criterion(
                edition=edition,
                code=ccode,
                label=ccode.title(),
                max_points=points,
                position=position,
            )
        )
    db.session.flush()
    return edition


def create_organisation(name=None, tax_code=None, **fields):
    n = next(_seq)
    org = Organisation(
        name=name or f"Associazione di prova {n}",
        tax_code=tax_code or entity_tax_code(n),
        legal_form=fields.pop("legal_form", "aps"),
        pec=fields.pop("pec", f"ente{n}@pec.example.it"),
        address=fields.pop("address", "via Prova 1, 20100 Milano"),
        legal_representative=fields.pop("legal_representative", "Maria Rossi"),
        **fields,
    )
    db.session.add(org)
    db.session.flush()
    return org


def create_user(
    role="officer", email=None, *, organisation=None, password=PASSWORD, confirmed=True
):
    n = next(_seq)
    if role == "applicant" and organisation is None:
        organisation = create_organisation()
    user = User(
        email=email or f"{role}{n}@example.it",
        password_hash=hash_password(password),
        role=role,
        organisation=organisation,
        full_name=f"{role.title()} {n}",
        email_confirmed_at=utcnow() if confirmed else None,
    )
    db.session.add(user)
    db.session.flush()
    return user
