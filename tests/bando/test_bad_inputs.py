"""A catalogue of bad inputs: each gets a clear message or a 4xx, and changes nothing.

Every case runs against the same small world (an open call, a draft, a submitted
application of another organisation, a draft whose deadline has passed) and the whole
database is compared, row by row, before and after.
"""

import functools
import io
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from bando.accounts.models import User
from bando.accounts.operations import issue_token
from bando.accounts.passwords import hash_password
from bando.applications.attachments import store_attachment
from bando.applications.operations import create_draft
from bando.core.extensions import db
from bando.core.timeutil import utcnow
from tests.bando.applications.data import (
    pdf_bytes,
    proposal,
    registration,
    submitted_application,
)
from tests.factories import PASSWORD, create_edition, create_organisation

LIMIT = 64 * 1024  # a small attachment limit keeps the oversized case quick


@dataclass
class World:
    edition: object
    a: dict  # the registration body of organisation A
    a_headers: dict
    draft_id: int  # A's draft
    b_headers: dict
    submitted_id: int  # B's submitted application
    late_headers: dict
    late_id: int  # C's complete draft in a call whose deadline has passed


@pytest.fixture
def world(app, client):
    app.config["MAX_ATTACHMENT_BYTES"] = LIMIT
    edition = create_edition("cdq-bad")
    db.session.commit()
    # Users from the factory and tokens issued directly: password hashing is slow on purpose.
    a_user = applicant()
    a = {"email": a_user.email, "organisation": {"tax_code": a_user.organisation.tax_code}}
    a_headers = bearer(a_user)
    draft = create_draft(a_user, proposal(edition))

    b = applicant()
    submitted = submitted_application(edition, b)

    late_edition = create_edition("cdq-late")
    c = applicant()
    late = create_draft(c, proposal(late_edition))
    for kind in late_edition.required_attachments:
        store_attachment(late, kind, "a.pdf", pdf_bytes(), c, LIMIT)
    late_edition.closes_at = utcnow() - timedelta(minutes=1)
    b_headers, late_headers = bearer(b), bearer(c)
    db.session.commit()  # nothing left pending: every request starts from committed rows
    return World(
        edition=edition,
        a=a,
        a_headers=a_headers,
        draft_id=draft.id,
        b_headers=b_headers,
        submitted_id=submitted.id,
        late_headers=late_headers,
        late_id=late.id,
    )


@functools.cache
def password_hash() -> str:
    return hash_password(PASSWORD)


def applicant() -> User:
    """An applicant of a new organisation; its password hashed once for the whole module."""
    org = create_organisation()
    user = User(
        email=f"ente{org.id}@example.it",
        password_hash=password_hash(),
        role="applicant",
        organisation=org,
        email_confirmed_at=utcnow(),
    )
    db.session.add(user)
    db.session.flush()
    return user


def bearer(user) -> dict:
    return {"Authorization": f"Bearer {issue_token(user, 1)}"}


def snapshot():
    """Every row of every table, read on a connection of its own (committed data only)."""
    rows = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            if table.name in ("rate_limit_counter", "user_session"):
                # Bookkeeping, not data: the limits count refused attempts too (uploads),
                # and the page cases sign in first.
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            rows[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*order))]
    return rows


def upload(client, headers, application_id, data, kind="statuto", name="statuto.pdf"):
    return client.post(
        f"/api/v1/applications/{application_id}/attachments",
        headers=headers,
        data={"kind": kind, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def account(**organisation):
    return registration(**organisation)


def patch(w, client, **fields):
    return client.patch(f"/api/v1/applications/{w.draft_id}", headers=w.a_headers, json=fields)


def sign_in(client, email):
    client.post("/accedi", data={"email": email, "password": PASSWORD})


# Each case: (name, expected status, words the message holds, request).
CASES = [
    (
        "tax code with a wrong check digit",
        422,
        "controllo",
        lambda w, c: c.post("/api/v1/accounts", json=account(tax_code="97071260155")),
    ),
    (
        "personal tax code with a wrong check character",
        422,
        "controllo",
        lambda w, c: c.post("/api/v1/accounts", json=account(tax_code="RSSMRA85T10A562T")),
    ),
    (
        "tax code of the wrong length",
        422,
        "11 cifre",
        lambda w, c: c.post("/api/v1/accounts", json=account(tax_code="123456")),
    ),
    (
        "wrong VAT number",
        422,
        "partita IVA",
        lambda w, c: c.post("/api/v1/accounts", json=account(vat_number="97071260151")),
    ),
    (
        "for-profit legal form",
        422,
        "solo enti senza scopo di lucro",
        lambda w, c: c.post("/api/v1/accounts", json=account(legal_form="srl")),
    ),
    (
        "PEC that is not an address",
        422,
        "PEC",
        lambda w, c: c.post("/api/v1/accounts", json=account(pec="pec-senza-chiocciola")),
    ),
    (
        "duplicate tax code",
        409,
        "già registrato",
        lambda w, c: c.post(
            "/api/v1/accounts", json=account(tax_code=w.a["organisation"]["tax_code"])
        ),
    ),
    (
        "weak password",
        422,
        "almeno 12 caratteri",
        lambda w, c: c.post("/api/v1/accounts", json={**account(), "password": "123"}),
    ),
    (
        "missing organisation fields",
        422,
        "manca",
        lambda w, c: c.post(
            "/api/v1/accounts",
            json={
                "email": "x@example.it",
                "password": PASSWORD,
                "organisation": {"name": "Solo nome"},
            },
        ),
    ),
    (
        "registration without the organisation",
        422,
        "organisation",
        lambda w, c: c.post("/api/v1/accounts", json={"email": "x@e.it", "password": PASSWORD}),
    ),
    (
        "malformed JSON",
        400,
        "JSON",
        lambda w, c: c.post("/api/v1/accounts", data='{"email": ', content_type="application/json"),
    ),
    (
        "an email too long for any mailbox",
        422,
        "al massimo 254 caratteri",
        lambda w, c: c.post(
            "/api/v1/accounts", json={**account(), "email": "a" * 250 + "@example.it"}
        ),
    ),
    (
        "a NUL character in the organisation's name",
        422,
        "non ammesso",
        lambda w, c: c.post("/api/v1/accounts", json=account(name="Associazione\x00")),
    ),
    ("a NUL character in the title", 422, "non ammesso", lambda w, c: patch(w, c, title="a\x00b")),
    (
        "a NUL character in the call's code of a new draft",
        422,
        "nessun bando",
        lambda w, c: c.post(
            "/api/v1/applications", json={"edition": "cdq-2019\x00"}, headers=w.a_headers
        ),
    ),
    (
        "a NUL character in a call's code in the path",
        404,
        "not found",
        lambda w, c: c.get("/api/v1/editions/cdq%002019/ranking"),
    ),
    (
        "a NUL character in a page's path",
        404,
        "",
        lambda w, c: c.get("/bandi/cdq%002019"),
    ),
    ("a title too long", 422, "al massimo 300", lambda w, c: patch(w, c, title="x" * 301)),
    (
        "a budget category far too long",
        422,
        "budget.0.category",
        lambda w, c: patch(
            w, c, budget=[{"category": "c" * 500, "description": "", "amount": "1.00"}]
        ),
    ),
    (
        "a JSON list instead of an object",
        400,
        "JSON object",
        lambda w, c: c.patch(
            f"/api/v1/applications/{w.draft_id}", headers=w.a_headers, json=["title"]
        ),
    ),
    (
        "amount as a float",
        422,
        "testo",
        lambda w, c: patch(w, c, requested_amount=16000.5),
    ),
    ("title as a number", 422, "testo", lambda w, c: patch(w, c, title=42)),
    (
        "negative budget line",
        422,
        "negativo",
        lambda w, c: patch(
            w, c, budget=[{"category": "personale", "description": "x", "amount": "-100.00"}]
        ),
    ),
    ("absurd amount", 422, "fuori misura", lambda w, c: patch(w, c, requested_amount="9" * 40)),
    ("an exponent", 422, "non è un importo", lambda w, c: patch(w, c, requested_amount="1e30")),
    ("not an amount", 422, "non è un importo", lambda w, c: patch(w, c, requested_amount="tanti")),
    (
        "three decimals",
        422,
        "due decimali",
        lambda w, c: patch(w, c, cofinancing_amount="4000.001"),
    ),
    (
        "requested above the maximum",
        422,
        "supera il massimo",
        lambda w, c: patch(w, c, requested_amount="16000.01", cofinancing_amount="3999.99"),
    ),
    (
        "co-financing below the minimum",
        422,
        "almeno il 10 %",
        lambda w, c: patch(
            w,
            c,
            budget=[{"category": "personale", "description": "x", "amount": "16500.00"}],
            requested_amount="16000.00",
            cofinancing_amount="500.00",
        ),
    ),
    (
        "budget lines not adding up",
        422,
        "devono coincidere",
        lambda w, c: patch(w, c, cofinancing_amount="5000.00"),
    ),
    (
        "start date before the call's window",
        422,
        "periodo del bando",
        lambda w, c: patch(
            w, c, start_date=(w.edition.project_starts_on - timedelta(days=1)).isoformat()
        ),
    ),
    (
        "end date after the call's window",
        422,
        "periodo del bando",
        lambda w, c: patch(
            w, c, end_date=(w.edition.project_ends_on + timedelta(days=1)).isoformat()
        ),
    ),
    (
        "end before start",
        422,
        "precede",
        lambda w, c: patch(
            w,
            c,
            start_date=(w.edition.project_starts_on + timedelta(days=9)).isoformat(),
            end_date=(w.edition.project_starts_on + timedelta(days=2)).isoformat(),
        ),
    ),
    (
        "date in the wrong format",
        422,
        "AAAA-MM-GG",
        lambda w, c: patch(w, c, end_date="31/12/2019"),
    ),
    (
        "guideline of another neighbourhood",
        422,
        "non del quartiere",
        lambda w, c: patch(w, c, guidelines=[w.edition.neighbourhoods[1].guidelines[0].code]),
    ),
    ("unknown neighbourhood", 422, "non previsto", lambda w, c: patch(w, c, neighbourhood="brera")),
    (
        "budget category the call does not have",
        422,
        "non prevista",
        lambda w, c: patch(
            w,
            c,
            budget=[
                {"category": "viaggi", "description": "x", "amount": "12000.00"},
                {"category": "materiali", "description": "y", "amount": "8000.00"},
            ],
        ),
    ),
    ("unknown field", 422, "campo sconosciuto", lambda w, c: patch(w, c, colour="blu")),
    (
        "a renamed .exe as PDF",
        422,
        "non è un PDF",
        lambda w, c: upload(
            c, w.a_headers, w.draft_id, b"MZ\x90\x00" + b"\x00" * 500, name="s.pdf"
        ),
    ),
    (
        "a file that starts like a PDF but is not one",
        422,
        "danneggiato",
        lambda w, c: upload(c, w.a_headers, w.draft_id, b"%PDF-1.7\n" + b"rubbish " * 100),
    ),
    (
        "an oversized file",
        413,
        "dimensione massima",
        lambda w, c: upload(c, w.a_headers, w.draft_id, pdf_bytes() + b"%" + b"0" * LIMIT),
    ),
    (
        "an empty file",
        422,
        "vuoto",
        lambda w, c: upload(c, w.a_headers, w.draft_id, b""),
    ),
    (
        "an attachment kind the call does not ask for",
        422,
        "tipo di documento",
        lambda w, c: upload(c, w.a_headers, w.draft_id, pdf_bytes(), kind="foto"),
    ),
    (
        "an upload without the file",
        422,
        "file",
        lambda w, c: c.post(
            f"/api/v1/applications/{w.draft_id}/attachments",
            headers=w.a_headers,
            data={"kind": "statuto"},
            content_type="multipart/form-data",
        ),
    ),
    (
        "another organisation's application: read",
        404,
        "application not found",
        lambda w, c: c.get(f"/api/v1/applications/{w.draft_id}", headers=w.b_headers),
    ),
    (
        "another organisation's application: edit",
        404,
        "application not found",
        lambda w, c: c.patch(
            f"/api/v1/applications/{w.draft_id}", headers=w.b_headers, json={"title": "mio"}
        ),
    ),
    (
        "another organisation's application: attach",
        404,
        "application not found",
        lambda w, c: upload(c, w.b_headers, w.draft_id, pdf_bytes()),
    ),
    (
        "another organisation's application: submit",
        404,
        "application not found",
        lambda w, c: c.post(f"/api/v1/applications/{w.draft_id}/submit", headers=w.b_headers),
    ),
    (
        "another organisation's application: withdraw",
        404,
        "application not found",
        lambda w, c: c.post(f"/api/v1/applications/{w.submitted_id}/withdraw", headers=w.a_headers),
    ),
    (
        "another organisation's receipt",
        404,
        "application not found",
        lambda w, c: c.get(
            f"/api/v1/applications/{w.submitted_id}/receipt.pdf", headers=w.a_headers
        ),
    ),
    (
        "an id that does not exist",
        404,
        "application not found",
        lambda w, c: c.get("/api/v1/applications/99999999999999", headers=w.a_headers),
    ),
    (
        "editing after submission",
        409,
        "già stata inviata",
        lambda w, c: c.patch(
            f"/api/v1/applications/{w.submitted_id}", headers=w.b_headers, json={"title": "x"}
        ),
    ),
    (
        "replacing a document after submission",
        409,
        "solo in bozza",
        lambda w, c: upload(c, w.b_headers, w.submitted_id, pdf_bytes()),
    ),
    (
        "submitting twice",
        409,
        "invalid_state",
        lambda w, c: c.post(f"/api/v1/applications/{w.submitted_id}/submit", headers=w.b_headers),
    ),
    (
        "submitting after the deadline",
        409,
        "termine",
        lambda w, c: c.post(f"/api/v1/applications/{w.late_id}/submit", headers=w.late_headers),
    ),
    (
        "submitting an incomplete application",
        409,
        "incompleta",
        lambda w, c: c.post(f"/api/v1/applications/{w.draft_id}/submit", headers=w.a_headers),
    ),
    (
        "answering a request for documents nobody made",
        409,
        "non è possibile per una domanda nello stato «Presentata»",
        lambda w, c: c.post(
            f"/api/v1/applications/{w.submitted_id}/integrate", headers=w.b_headers
        ),
    ),
    (
        "more applications than the call allows",
        409,
        "una sola domanda per ente",
        lambda w, c: c.post("/api/v1/applications", headers=w.a_headers, json=proposal(w.edition)),
    ),
    (
        "a call that does not exist",
        422,
        "nessun bando",
        lambda w, c: c.post(
            "/api/v1/applications", headers=w.late_headers, json={"edition": "cdq-1999"}
        ),
    ),
    (
        "a draft in a call whose deadline has passed",
        409,
        "non accetta domande",
        lambda w, c: c.post(
            "/api/v1/applications", headers=w.a_headers, json={"edition": "cdq-late"}
        ),
    ),
    (
        "no token",
        401,
        "authentication",
        lambda w, c: c.patch(f"/api/v1/applications/{w.draft_id}", json={"title": "x"}),
    ),
    (
        "a made-up token",
        401,
        "authentication",
        lambda w, c: c.patch(
            f"/api/v1/applications/{w.draft_id}",
            headers={"Authorization": "Bearer inventato"},
            json={"title": "x"},
        ),
    ),
    (
        "the receipt of a draft",
        409,
        "nessuna ricevuta",
        lambda w, c: c.get(f"/api/v1/applications/{w.draft_id}/receipt.pdf", headers=w.a_headers),
    ),
]

PAGE_CASES = [
    (
        "page: registration with a wrong check digit",
        422,
        "il carattere di controllo non torna",
        lambda w, c: c.post(
            "/registrazione",
            data={
                **registration()["organisation"],
                "tax_code": "97071260155",
                "email": "nuovo@example.it",
                "password": PASSWORD,
                "password_confirm": PASSWORD,
            },
        ),
    ),
    (
        "page: registration of a company",
        422,
        "scopo di lucro",
        lambda w, c: c.post(
            "/registrazione",
            data={
                **registration()["organisation"],
                "legal_form": "spa",
                "email": "nuovo@example.it",
                "password": PASSWORD,
                "password_confirm": PASSWORD,
            },
        ),
    ),
    (
        "page: passwords that differ",
        422,
        "non coincidono",
        lambda w, c: c.post(
            "/registrazione",
            data={
                **registration()["organisation"],
                "email": "nuovo@example.it",
                "password": PASSWORD,
                "password_confirm": PASSWORD + "x",
            },
        ),
    ),
]


def _page_as_a(case):
    def run(w, c):
        sign_in(c, w.a["email"])
        return case(w, c)

    return run


PAGE_CASES += [
    (
        "page: a renamed .exe",
        302,
        "non è un PDF",
        _page_as_a(
            lambda w, c: c.post(
                f"/domande/{w.draft_id}/allegati",
                data={"kind": "statuto", "file": (io.BytesIO(b"MZ" + b"\0" * 100), "s.pdf")},
                content_type="multipart/form-data",
            )
        ),
    ),
    (
        "page: another organisation's application",
        404,
        "",
        _page_as_a(lambda w, c: c.post(f"/domande/{w.submitted_id}/ritira", data={"confirm": "1"})),
    ),
    (
        "page: requested above the maximum",
        422,
        "supera il massimo",
        _page_as_a(
            lambda w, c: c.post(
                f"/domande/{w.draft_id}",
                data={"title": "x", "requested_amount": "99000", "save": "1"},
            )
        ),
    ),
]


@pytest.mark.parametrize(
    "status, words, request_",
    [c[1:] for c in CASES + PAGE_CASES],
    ids=[c[0] for c in CASES + PAGE_CASES],
)
def test_bad_input_is_refused_clearly_and_changes_nothing(client, world, status, words, request_):
    before = snapshot()
    response = request_(world, client)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    if response.is_json:
        body = response.get_json()
        assert body["error"]
        # The state machine's code, the fields named and their messages.
        errors = body.get("errors", {})
        text = " ".join(
            [
                body["error"],
                body.get("code", ""),
                *errors,
                *(m for ms in errors.values() for m in ms),
            ]
        )
    elif response.status_code == 302:
        text = client.get(response.headers["Location"]).get_data(as_text=True)
    else:
        text = response.get_data(as_text=True)
    assert words in text
    assert snapshot() == before


def test_the_catalogue_is_long_enough():
    assert len(CASES) + len(PAGE_CASES) >= 25
