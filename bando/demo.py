"""`bando demo`: a walk-through data set on top of the shipped calls.

Both CdQ editions stay as they were; a demo edition, built from the 2019 call with dates
around today, is open for submissions, and holds applications of five local
organisations in different states so that every persona has something to do. A second
demo edition has already gone the whole way to the grants — checked, scored by the
committee, ranked, allocated and accepted, one advance paid — so that finance has
letters to issue and payments to make, and the beneficiaries a report to file. Each
change goes through the same operations and lifecycle as on the site, so the audit
trail is real. Running it again changes nothing.

It refuses a database that holds anything else (an installation in use: demo accounts
with a published password have no place there) unless that database already holds the
demo (people try the site, and register, on a demo database) or `--force` is given.
`--reset` deletes the demo data set and loads it again: see reset_demo for the audit
chain.
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
from sqlalchemy import Table, and_, delete, func, or_, select, update

from bando.accounts.models import Organisation, User
from bando.accounts.operations import create_user, register_organisation
from bando.allocation import operations as allocation
from bando.applications import operations as applications
from bando.applications.attachments import store_attachment
from bando.applications.lifecycle import fire
from bando.applications.models import Application
from bando.calls.callfile import parse_call
from bando.calls.lifecycle import fire_edition
from bando.calls.loading import SHIPPED_DIR, load_call
from bando.calls.models import Edition
from bando.core import audit
from bando.core.extensions import db
from bando.core.models import AuditEvent, AuditHead, Notification
from bando.core.timeutil import to_rome, utcnow
from bando.evaluation import operations as evaluation
from bando.payments import operations as payments
from bando.ranking import operations as ranking

DEMO_CODE = "cdq-demo"
ASSIGNED_CODE = "cdq-demo-assegnato"
DEMO_CODES = (DEMO_CODE, ASSIGNED_CODE)
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


def assigned_call(now) -> dict:
    """The 2019 call again, run through today to its grants: room for two grants of
    € 8.500,00, one ranking for the whole city, the third proposal on the reserve list."""
    data = demo_call(now)
    data["edition"].update(
        code=ASSIGNED_CODE,
        title="Bando contributi ambiti CdQ — edizione dimostrativa già assegnata",
        protocol_prefix="DEMOA",
        budget_cap="17000.00",
        description=(
            "Edizione dimostrativa già valutata e assegnata: due contributi concessi e "
            "accettati, una proposta in riserva. I dati sono di fantasia."
        ),
    )
    data["allocation"].update(mode="single_ranking", on_insufficient="skip")
    for hood in data["neighbourhoods"]:
        hood.pop("quota", None)  # one ranking for the city: no share per neighbourhood
    return data


# (organisation's e-mail, points of each evaluator per criterion, what follows the grant)
ASSIGNED = (
    ("insieme.gratosoglio@bando.demo", (28, 22, 18, 14, 9), "advance_paid"),
    ("inquilini.pontelambro@bando.demo", (26, 21, 17, 13, 8), "accepted"),
    ("benecomune.mazzini@bando.demo", (22, 18, 15, 11, 7), "reserve"),
)


def load_assigned(now, staff: dict[str, User]) -> None:
    """The second demo edition, through every step the pages take: submissions, the
    officer's checks and early closing, the committee's declarations and reviews, the
    approved ranking, the allocation, the acceptances and one advance paid."""
    if db.session.scalar(select(Edition.id).where(Edition.code == ASSIGNED_CODE)):
        return
    edition, _ = load_call(assigned_call(now), "cdq-demo-assegnato.toml", now=now)
    officer = staff["istruttore@bando.demo"]
    evaluators = [staff[f"valutatore{n}@bando.demo"] for n in (1, 2, 3)]
    finance = staff["ragioneria@bando.demo"]
    proposals = []
    for email, _points, _after in ASSIGNED:
        user = db.session.scalar(select(User).where(User.email == email))
        _, org, hood, guidelines, _target = next(o for o in ORGANISATIONS if o[0] == email)
        application = applications.create_draft(
            user, _proposal(org["name"], hood, guidelines, edition)
        )
        for kind in edition.required_attachments:
            store_attachment(
                application, kind, f"{kind}.pdf", sample_pdf(kind), user, max_bytes=5 * 1024 * 1024
            )
        fire(application, "submit", user, "invio della domanda", now=now)
        proposals.append((application, user))
    fire_edition(edition, "close", officer, "chiusura anticipata (dimostrazione)", now=now)
    for application, _user in proposals:
        fire(application, "declare_eligible", officer, "requisiti formali verificati", now=now)
    for evaluator in evaluators:
        evaluation.assign_evaluator(edition, officer, evaluator)
        evaluation.sign_declaration(edition, evaluator, [], now=now)
    codes = [criterion.code for criterion in evaluation.criteria_of(edition)]
    for (application, _user), (_email, points, _after) in zip(proposals, ASSIGNED, strict=True):
        for evaluator in evaluators:
            evaluation.save_review(
                application,
                evaluator,
                dict(zip(codes, points, strict=True)),
                "Proposta chiara, radicata nel quartiere.",
                submit=True,
                now=now,
            )
    ranking.approve(edition, officer, now=now)
    allocation.run(edition, officer, now=now)
    for (application, user), (_email, _points, after) in zip(proposals, ASSIGNED, strict=True):
        if after in ("accepted", "advance_paid"):
            allocation.accept(application, user, now=now)
        if after == "advance_paid":
            payments.record_payment(
                application, "advance", finance, reference="mandato 2025/0001", now=now
            )


def sample_pdf(title: str) -> bytes:
    buffer = io.BytesIO()
    # invariant: the same bytes every time (no date, no random id), checked once per process
    page = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    page.setTitle(title)
    page.drawString(72, 770, title)
    page.drawString(72, 750, "Documento dimostrativo di bando.")
    page.save()
    return buffer.getvalue()


def _proposal(name: str, hood: str, guidelines: list[str], edition: Edition) -> dict:
    start = edition.project_starts_on
    proposal = {
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
    return proposal


def _draft_to_complete(proposal: dict) -> dict:
    """The walk-through's draft: written in part, with the work left for the visitor
    (objectives, timeline, the budget lines and every document)."""
    return {
        key: value
        for key, value in proposal.items()
        if key not in ("objectives", "timeline", "budget")
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
        # The demo's addresses receive nothing: taken as confirmed, so that they may submit.
        user.email_confirmed_at = now
        proposal = _proposal(org["name"], hood, guidelines, edition)
        if target == "draft":
            applications.create_draft(user, _draft_to_complete(proposal))
            continue
        application = applications.create_draft(user, proposal)
        for kind in edition.required_attachments:
            store_attachment(
                application, kind, f"{kind}.pdf", sample_pdf(kind), user, max_bytes=5 * 1024 * 1024
            )
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
    load_assigned(now, staff)
    db.session.commit()
    return logins


# --- what belongs to the demo, and starting it again -------------------------------------


class DemoRefused(click.ClickException):
    pass


def demo_emails() -> set[str]:
    return {email for _, email, _ in STAFF} | {email for email, *_ in ORGANISATIONS}


def shipped_codes() -> set[str]:
    codes = set()
    for name in sorted(os.listdir(SHIPPED_DIR)):
        if name.endswith(".toml"):
            with open(os.path.join(SHIPPED_DIR, name), "rb") as handle:
                codes.add(parse_call(handle.read(), name)["edition"]["code"])
    return codes


def _ids(statement) -> set[int]:
    return set(db.session.scalars(statement))


def _demo_rows() -> dict[str, set[int]]:
    """The ids of the demo data set's rows, by kind."""
    organisations = _ids(
        select(Organisation.id).where(
            Organisation.tax_code.in_([org["tax_code"] for _, org, *_ in ORGANISATIONS])
        )
    )
    return {
        "users": _ids(select(User.id).where(User.email.in_(demo_emails()))),
        "organisations": organisations,
        "applications": _ids(
            select(Application.id).where(Application.organisation_id.in_(organisations))
        ),
        "editions": _ids(select(Edition.id).where(Edition.code.in_(DEMO_CODES))),
    }


def other_data() -> list[str]:
    """What the database holds besides the demo and the shipped calls, in words."""
    demo = _demo_rows()
    found = []
    for what, model, own, label in (
        ("organisations", Organisation, demo["organisations"], Organisation.name),
        ("users", User, demo["users"], User.email),
        ("applications", Application, demo["applications"], Application.title),
    ):
        rows = db.session.scalars(select(label).where(model.id.not_in(own)).limit(3)).all()
        if rows:
            total = db.session.scalar(select(func.count(model.id)).where(model.id.not_in(own)))
            found.append(f"{total} {what} ({', '.join(rows)}{'…' if total > len(rows) else ''})")
    codes = db.session.scalars(
        select(Edition.code).where(Edition.code.not_in(shipped_codes() | set(DEMO_CODES)))
    ).all()
    if codes:
        found.append(f"{len(codes)} calls ({', '.join(codes)})")
    return found


def _other_events() -> int:
    """Events of the audit chain about anything but the demo and the shipped calls."""
    demo = _demo_rows()
    editions = demo["editions"] | _ids(select(Edition.id).where(Edition.code.in_(shipped_codes())))

    def outside(column, ids):  # NOT IN alone would take a NULL as outside an empty set
        return and_(column.is_not(None), column.not_in(ids))

    return db.session.scalar(
        select(func.count(AuditEvent.id)).where(
            or_(
                outside(AuditEvent.application_id, demo["applications"]),
                outside(AuditEvent.edition_id, editions),
                outside(AuditEvent.actor_id, demo["users"]),
                # An account made or changed from the console (the demo makes none there).
                and_(AuditEvent.subject == "user", AuditEvent.actor_id.is_(None)),
            )
        )
    )


def _purge(table: Table, ids: set[int]) -> None:
    """Deletes these rows of `table` after every row that belongs to them (a required
    foreign key), from whatever table; an optional reference from a row that stays is
    cleared. Read from the schema, so a table added later is covered too."""
    if not ids:
        return
    for other in db.metadata.sorted_tables:
        for key in other.foreign_keys:
            column = key.parent
            if key.column.table is not table or other is table:
                continue
            if column.nullable:
                db.session.execute(update(other).where(column.in_(ids)).values({column.name: None}))
            elif "id" in other.c:
                _purge(other, _ids(select(other.c.id).where(column.in_(ids))))
            else:  # an association table
                db.session.execute(delete(other).where(column.in_(ids)))
    db.session.execute(delete(table).where(table.c.id.in_(ids)))


def reset_demo() -> tuple[int, str]:
    """Deletes the demo data set (its organisations, users, applications and all under
    them, the demo edition) so that load_demo starts anew.

    The audit chain cannot lose events and stay valid: every event links to the one
    before. So this refuses when the chain holds events about anything but the demo and
    the shipped calls; otherwise the chain, which then tells only the demo's story (and
    the loading of the shipped calls), starts again from empty, and its first event says
    how many events were dropped and the hash the old chain ended with. Returns those two.
    """
    others = _other_events()
    if others:
        raise DemoRefused(
            f"the audit chain holds {others} events about data that is not the demo's: "
            "deleting the demo would break it, nothing was deleted"
        )
    demo = _demo_rows()
    dropped = audit.chain_head()
    if not any(demo.values()):
        return (0, dropped[1])  # no demo here: nothing to delete, the chain stays
    if db.session.scalar(
        select(func.count(Application.id)).where(
            Application.edition_id.in_(demo["editions"]),
            Application.id.not_in(demo["applications"]),
        )
    ):
        raise DemoRefused(
            "the demo call has applications of other organisations: nothing was deleted"
        )
    db.session.execute(delete(AuditEvent))
    db.session.execute(update(AuditHead).values(last_hash=audit.GENESIS, count=0))
    addresses = demo_emails() | {org["pec"] for _, org, *_ in ORGANISATIONS}
    db.session.execute(
        delete(Notification).where(
            or_(
                Notification.application_id.in_(demo["applications"]),
                Notification.to_address.in_(addresses),
            )
        )
    )
    tables = db.metadata.tables
    _purge(tables[Application.__tablename__], demo["applications"])
    _purge(tables[User.__tablename__], demo["users"])
    _purge(tables[Organisation.__tablename__], demo["organisations"])
    _purge(tables[Edition.__tablename__], demo["editions"])
    if dropped[0]:
        audit.append(
            subject="audit",
            trigger="reset_demo",
            reason="dati dimostrativi ricaricati: la catena riparte da qui",
            payload={"dropped_events": dropped[0], "dropped_last_hash": dropped[1]},
        )
    db.session.commit()
    db.session.expire_all()
    return dropped


@click.command("demo")
@click.option("--force", is_flag=True, help="Load the demo next to other data.")
@click.option("--reset", is_flag=True, help="Delete the demo data set and load it anew.")
@with_appcontext
def demo_command(force, reset):
    """Load the walk-through data set (idempotent) and print the demo logins."""
    already = db.session.scalar(select(Edition.id).where(Edition.code == DEMO_CODE))
    others = other_data()
    if others and not already and not force:
        raise DemoRefused(
            "this database holds data that is not the demo's: "
            + "; ".join(others)
            + ". The demo adds accounts whose password is public: use --force to add "
            "it anyway."
        )
    if reset and already:
        dropped, last_hash = reset_demo()
        click.echo(
            f"demo data deleted; the audit chain starts anew ({dropped} events dropped, "
            f"the last one {last_hash[:12]}…)"
        )
    logins = load_demo()
    click.echo(f"demo edition: {DEMO_CODE} (open for submissions)")
    click.echo(f"demo edition: {ASSIGNED_CODE} (allocated: letters, payments, reports)")
    click.echo(f"demo logins (password for all: {PASSWORD}):")
    for role, email in logins:
        click.echo(f"  {role:10} {email}")


def init_app(app):
    app.cli.add_command(demo_command)
