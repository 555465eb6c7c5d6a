"""`bando demo`: a walk-through data set on top of the shipped calls.

Both CdQ editions stay as they were; a demo edition, built from the 2019 call with dates
around today, is open for submissions, and holds applications of five local
organisations in different states so that every persona has something to do. Each
change goes through the same operations and lifecycle as on the site, so the audit
trail is real. Running it again changes nothing.
"""

import copy
import io
import os
import tomllib
from datetime import timedelta

import click
from flask.cli import with_appcontext
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from sqlalchemy import select

from bando.accounts.models import User
from bando.accounts.operations import create_user, register_organisation
from bando.applications import operations as applications
from bando.applications.attachments import store_attachment
from bando.applications.lifecycle import fire
from bando.calls.loading import SHIPPED_DIR, load_call
from bando.calls.models import Edition
from bando.core.extensions import db
from bando.core.timeutil import to_rome, utcnow

DEMO_CODE = "cdq-demo"
PASSWORD = "demo-bando-2019"

STAFF = (
    ("admin", "admin@bando.demo", "Amministratrice di sistema"),
    ("officer", "istruttore@bando.demo", "Giulia Ferri (istruttrice, RUP)"),
    ("evaluator", "valutatore1@bando.demo", "Marco Bianchi (commissione)"),
    ("evaluator", "valutatore2@bando.demo", "Elena Conti (commissione)"),
    ("evaluator", "valutatore3@bando.demo", "Paolo Greco (commissione)"),
    ("finance", "ragioneria@bando.demo", "Luca Moretti (ragioneria)"),
)

# (email, organisation, neighbourhood, guideline codes, what happens to its proposal)
ORGANISATIONS = (
    (
        "biblioteca.sansiro@bando.demo",
        {
            "name": "Associazione Amici della Biblioteca di San Siro APS",
            "tax_code": "97000010013",
            "legal_form": "aps",
            "pec": "amicibiblioteca.sansiro@pec.demo.it",
            "address": "Piazzale Selinunte 4, 20148 Milano",
            "legal_representative": "Anna Colombo",
        },
        "san-siro",
        ["SS1"],
        "draft",
    ),
    (
        "insieme.gratosoglio@bando.demo",
        {
            "name": "Gratosoglio Insieme ODV",
            "tax_code": "97000020012",
            "legal_form": "odv",
            "pec": "gratosoglioinsieme@pec.demo.it",
            "address": "via Baroni 9, 20142 Milano",
            "legal_representative": "Roberto Galli",
        },
        "gratosoglio",
        ["GR1"],
        "submitted",
    ),
    (
        "calvairate.aperta@bando.demo",
        {
            "name": "Calvairate Aperta Cooperativa Sociale",
            "tax_code": "97000030011",
            "legal_form": "cooperativa_sociale",
            "pec": "calvairateaperta@pec.demo.it",
            "address": "via Faà di Bruno 5, 20137 Milano",
            "legal_representative": "Sara Fontana",
        },
        "molise-calvairate",
        ["MC1", "MC2"],
        "integration_requested",
    ),
    (
        "inquilini.pontelambro@bando.demo",
        {
            "name": "Comitato Inquilini Ponte Lambro",
            "tax_code": "97000040010",
            "legal_form": "comitato",
            "pec": "inquilini.pontelambro@pec.demo.it",
            "address": "via Ucelli di Nemi 17, 20138 Milano",
            "legal_representative": "Giuseppe Marino",
        },
        "ponte-lambro",
        ["PL1"],
        "eligible",
    ),
    (
        "benecomune.mazzini@bando.demo",
        {
            "name": "Fondazione Mazzini Bene Comune",
            "tax_code": "97000050019",
            "legal_form": "fondazione",
            "pec": "benecomune.mazzini@pec.demo.it",
            "address": "via Mompiani 5, 20139 Milano",
            "legal_representative": "Chiara Ricci",
        },
        "mazzini",
        ["MZ1"],
        "submitted",
    ),
)


def demo_call(now) -> dict:
    """The 2019 call, moved around today: open for a month, projects in the next year."""
    with open(os.path.join(SHIPPED_DIR, "cdq-2019.toml"), "rb") as handle:
        data = tomllib.load(handle)
    data = copy.deepcopy(data)
    edition = data["edition"]
    opens = to_rome(now - timedelta(days=7)).replace(hour=9, minute=0, second=0, microsecond=0)
    closes = to_rome(now + timedelta(days=30)).replace(hour=12, minute=0, second=0, microsecond=0)
    edition.update(
        code=DEMO_CODE,
        title="Bando contributi ambiti CdQ — edizione dimostrativa",
        opens_at=opens.isoformat(),
        closes_at=closes.isoformat(),
        project_starts_on=(closes + timedelta(days=45)).date(),
        project_ends_on=(closes + timedelta(days=365)).date(),
        protocol_prefix="DEMO",
        description=(
            "Edizione dimostrativa, aperta oggi, con gli stessi quartieri, linee di indirizzo "
            "e regole dell'annualità 2019. I dati sono di fantasia."
        ),
    )
    return data


def sample_pdf(title: str) -> bytes:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    page.setTitle(title)
    page.drawString(72, 770, title)
    page.drawString(72, 750, "Documento dimostrativo di bando.")
    page.save()
    return buffer.getvalue()


def _proposal(name: str, hood: str, guidelines: list[str], edition: Edition) -> dict:
    start = edition.project_starts_on
    return {
        "edition": edition.code,
        "neighbourhood": hood,
        "guidelines": guidelines,
        "title": f"Laboratorio di vicinato — {name}",
        "summary": (
            "Attività settimanali aperte agli abitanti dei caseggiati ERP, in rete con il "
            "Laboratorio di Quartiere, per rafforzare le relazioni di vicinato."
        ),
        "description": "Incontri, piccoli lavori di cura degli spazi comuni, sportello.",
        "objectives": "Coinvolgere almeno 60 nuclei familiari; due eventi pubblici.",
        "places": "Spazi del Laboratorio di Quartiere e cortili dei caseggiati.",
        "timeline": "Avvio, attività continuative, evento finale e rendicontazione.",
        "partners": [{"name": "Parrocchia del quartiere", "role": "ospita gli incontri"}],
        "budget": [
            {"category": "personale", "description": "Educatore (200 ore)", "amount": "6000.00"},
            {
                "category": "materiali",
                "description": "Materiali per i laboratori",
                "amount": "2500.00",
            },
            {
                "category": "comunicazione",
                "description": "Volantini e locandine",
                "amount": "1500.00",
            },
        ],
        "requested_amount": "8500.00",
        "cofinancing_amount": "1500.00",
        "start_date": start.isoformat(),
        "end_date": (start + timedelta(days=180)).isoformat(),
    }


def _ensure_user(role, email, full_name) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    return user or create_user(email, PASSWORD, role, full_name=full_name)


def load_demo(now=None) -> list[tuple[str, str]]:
    """Creates what is missing of the demo data set; returns the logins (role, email)."""
    now = now or utcnow()
    edition = db.session.scalar(select(Edition).where(Edition.code == DEMO_CODE))
    if edition is None:
        edition, _ = load_call(demo_call(now), "cdq-demo.toml", now=now)
    staff = {email: _ensure_user(role, email, name) for role, email, name in STAFF}
    officer = staff["istruttore@bando.demo"]
    logins = [(role, email) for role, email, _ in STAFF]
    for email, org, hood, guidelines, target in ORGANISATIONS:
        logins.append(("applicant", email))
        if db.session.scalar(select(User.id).where(User.email == email)):
            continue
        user = register_organisation(
            {
                "email": email,
                "password": PASSWORD,
                "full_name": org["legal_representative"],
                "organisation": org,
            }
        )
        application = applications.create_draft(
            user, _proposal(org["name"], hood, guidelines, edition)
        )
        for kind in edition.required_attachments:
            store_attachment(
                application, kind, f"{kind}.pdf", sample_pdf(kind), user, max_bytes=5 * 1024 * 1024
            )
        if target != "draft":
            fire(application, "submit", user, "invio della domanda", now=now)
        if target == "integration_requested":
            fire(
                application,
                "request_integration",
                officer,
                "Allegare il bilancio dell'ultimo esercizio approvato.",
                now=now,
            )
        if target == "eligible":
            fire(application, "declare_eligible", officer, "requisiti formali verificati", now=now)
    db.session.commit()
    return logins


@click.command("demo")
@with_appcontext
def demo_command():
    """Load the walk-through data set (idempotent) and print the demo logins."""
    logins = load_demo()
    click.echo(f"demo edition: {DEMO_CODE} (open for submissions)")
    click.echo(f"demo logins (password for all: {PASSWORD}):")
    for role, email in logins:
        click.echo(f"  {role:10} {email}")


def init_app(app):
    app.cli.add_command(demo_command)
