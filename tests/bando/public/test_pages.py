"""The public pages: the calls, a call's page, how it works, sign-in, errors — in Italian."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from bando.applications.models import Application
from bando.budget.models import Award, Payment
from bando.calls.models import Guideline
from bando.core.extensions import db
from bando.core.layout import edition_status, nav_link
from bando.core.timeutil import utcnow
from tests.factories import PASSWORD, create_edition, create_user

# 09:00 in Rome in winter (UTC+1) and 12:00 in Rome in summer (UTC+2).
OPENS = datetime(2019, 3, 1, 8, 0, tzinfo=UTC)
CLOSES = datetime(2019, 4, 15, 10, 0, tzinfo=UTC)


def text_of(response) -> str:
    return response.get_data(as_text=True)


def cdq_like_edition(**kwargs):
    edition = create_edition(
        "cdq-prova",
        state=kwargs.pop("state", "closed"),
        cap_cents=kwargs.pop("cap_cents", 94_000_00),
        opens_at=OPENS,
        closes_at=CLOSES,
        neighbourhoods=("san-siro", "gratosoglio"),
        **kwargs,
    )
    edition.legal_basis = "Delibera G.C. n. 1397 del 04/08/2017"
    edition.office = "Unità Contratti di Quartiere e Rigenerazione Urbana"
    edition.description = "Primo paragrafo del bando.\n\nSecondo paragrafo del bando."
    san_siro = edition.neighbourhoods[0]
    san_siro.name = "San Siro"
    san_siro.inhabitants = 6647
    san_siro.households = 6580
    san_siro.erp_units = 4647
    san_siro.intervention_units = 1261
    san_siro.quota_cents = 12_000_00
    san_siro.lab_address = "Piazzale Selinunte 4"
    db.session.add(
        Guideline(edition=edition, code="G1", text="Qualità dell'abitare nei contesti ERP")
    )
    db.session.commit()
    return edition


def award(edition, amount_cents, *, state="active", paid_cents=0):
    """An application funded with `amount_cents`, made directly with the models."""
    user = create_user("applicant")
    number = (edition.protocol_counter or 0) + 1
    edition.protocol_counter = number
    application = Application(
        edition=edition,
        organisation=user.organisation,
        created_by=user,
        state="funded" if state == "active" else state,
        protocol=f"{edition.protocol_prefix}-{number:04d}",
        protocol_number=number,
        submitted_at=utcnow() - timedelta(days=30),
        title=f"Progetto {number}",
        requested_cents=amount_cents,
    )
    db.session.add(application)
    db.session.flush()
    row = Award(
        application=application, edition_id=edition.id, amount_cents=amount_cents, state=state
    )
    db.session.add(row)
    db.session.flush()
    if paid_cents:
        db.session.add(Payment(award=row, kind="advance", amount_cents=paid_cents))
    db.session.commit()
    return row


def progress_percent(html: str) -> list[int]:
    return [int(v) for v in re.findall(r'role="progressbar"[^>]*aria-valuenow="(\d+)"', html)]


def test_index_lists_the_calls_in_italian(app, client):
    cdq_like_edition()
    page = client.get("/")
    assert page.status_code == 200
    html = text_of(page)
    assert '<html lang="it">' in html
    assert "Bando di prova" in html
    assert "€ 94.000,00" in html
    assert "Chiuso – in valutazione" in html
    # 1 reads "uno": the article elides before it.
    assert "dall&#39;01/03/2019 ore 09:00 al 15/04/2019 ore 12:00" in html
    assert 'href="/bandi/cdq-prova"' in html


def test_index_without_calls_says_so(client):
    assert "Al momento non ci sono bandi pubblicati." in text_of(client.get("/"))


def test_call_page_shows_rules_criteria_and_neighbourhoods(app, client):
    cdq_like_edition()
    page = client.get("/bandi/cdq-prova")
    assert page.status_code == 200
    html = text_of(page)
    for expected in (
        "Delibera G.C. n. 1397 del 04/08/2017",
        "Unità Contratti di Quartiere e Rigenerazione Urbana",
        "<p>Primo paragrafo del bando.</p>",
        "<p>Secondo paragrafo del bando.</p>",
        "dall&#39;01/03/2019 ore 09:00 al 15/04/2019 ore 12:00",
        "Contributo massimo per progetto: € 16.000,00.",
        "10% del costo totale del progetto",
        "almeno 60 punti su 100",
        "almeno il 50% della richiesta",
        "Anticipo del 50% del contributo",
        "10 giorni per integrarli",
        # General aims of the call.
        "G1",
        "Qualità dell&#39;abitare nei contesti ERP",
        # San Siro with the seed's figures, Italian thousands, quota and laboratory.
        "San Siro",
        "6.647",
        "6.580",
        "4.647",
        "1.261",
        "€ 12.000,00",
        "Piazzale Selinunte 4",
        # Its guidelines, code and text.
        "SA1",
        "Linea 1 di san-siro",
        "Linea 2 di gratosoglio",
    ):
        assert expected in html, expected
    # Criteria with their weights, and the total.
    assert re.search(r"Coherence</td>\s*<td[^>]*>40</td>", html)
    assert re.search(r"Totale</th>\s*<td[^>]*>100</td>", html)


def test_call_page_shows_the_project_window(app, client):
    from datetime import date

    cdq_like_edition(project_starts_on=date(2019, 6, 1), project_ends_on=date(2019, 12, 31))
    assert "dall&#39;01/06/2019 al 31/12/2019" in text_of(client.get("/bandi/cdq-prova"))


def test_progress_bar_follows_committed_money(app, client):
    edition = cdq_like_edition(cap_cents=80_000_00)
    html = text_of(client.get("/bandi/cdq-prova"))
    # The call's page draws its money with the budget dashboard (tests/bando/allocation).
    assert 'data-committed-percent="0"' in html
    assert "€ 80.000,00" in html

    award(edition, 16_000_00)
    award(edition, 14_000_00)
    # A revoked award keeps only what was already paid on it.
    award(edition, 10_000_00, state="revoked", paid_cents=5_000_00)
    html = text_of(client.get("/bandi/cdq-prova"))
    # 16.000 + 14.000 + 5.000 = 35.000 of 80.000 → 44 %.
    assert 'data-committed-percent="44"' in html
    assert re.search(r'data-field="committed">€ 35.000,00<', html)
    assert re.search(r'data-field="available">€ 45.000,00<', html)
    assert "Impegnato: 44% dello stanziamento" in html
    # The list of calls draws the share as a bar.
    index = text_of(client.get("/"))
    assert progress_percent(index) == [44]
    assert 'class="progress-bar bg-success bando-w-44"' in index


def test_unknown_call_gives_an_italian_404_page(client):
    page = client.get("/bandi/non-esiste")
    assert page.status_code == 404
    html = text_of(page)
    assert '<html lang="it">' in html
    assert "Pagina non trovata." in html
    assert "Torna all'elenco dei bandi" in html


def test_how_it_works_page(client):
    page = client.get("/come-funziona")
    assert page.status_code == 200
    html = text_of(page)
    assert "<h1>Come funziona</h1>" in html
    assert "Istruttoria formale" in html
    assert 'aria-current="page"' in html  # the menu marks where we are


@pytest.mark.parametrize(
    ("state", "opens", "closes", "expected"),
    [
        ("draft", 1, 10, "upcoming"),
        ("open", 1, 10, "upcoming"),  # loaded as open, but its opening is still ahead
        ("open", -1, 10, "open"),
        ("open", -10, -1, "closed"),  # the deadline passed before anyone closed it
        ("closed", -10, -1, "closed"),
        ("ranked", -10, -1, "ranked"),
        ("allocated", -10, -1, "allocated"),
        ("archived", -10, -1, "archived"),
    ],
)
def test_edition_status_reads_state_against_dates(app, state, opens, closes, expected):
    now = utcnow()
    edition = create_edition(
        state=state,
        opens_at=now + timedelta(days=opens),
        closes_at=now + timedelta(days=closes),
    )
    assert edition_status(edition, now) == expected


def test_open_call_is_shown_open(app, client):
    create_edition(state="open")
    db.session.commit()
    assert ">Aperto<" in text_of(client.get("/"))


def test_nav_link_skips_unknown_endpoints(app):
    with app.test_request_context("/"):
        assert str(nav_link("nowhere.page", "Mai")) == ""
        link = str(nav_link("public.how_it_works", "Come <funziona>"))
        assert 'href="/come-funziona"' in link
        assert "Come &lt;funziona&gt;" in link  # labels are escaped
        assert "aria-current" not in link
        assert 'aria-current="page"' in str(nav_link("public.index", "Bandi"))


def test_login_page(client):
    page = client.get("/accedi")
    assert page.status_code == 200
    html = text_of(page)
    assert '<label for="email" class="active">Email</label>' in html
    assert '<label for="password" class="active">Password</label>' in html
    assert 'autocomplete="current-password"' in html


def test_wrong_password_gives_an_italian_message(app, client):
    user = create_user("officer", "funzionario@example.it")
    db.session.commit()
    page = client.post("/accedi", data={"email": user.email, "password": "sbagliata"})
    assert page.status_code == 200
    html = text_of(page)
    assert "Email o password non corretti." in html
    assert 'class="alert alert-danger"' in html
    assert "Esci" not in html


def test_empty_login_form_says_which_fields_are_missing(client):
    html = text_of(client.post("/accedi", data={"email": "", "password": ""}))
    assert html.count("Campo obbligatorio") == 2
    assert 'aria-describedby="email-error"' in html


def test_sign_in_and_out(app, client):
    user = create_user("applicant", "ente@example.it")
    db.session.commit()
    page = client.post(
        "/accedi", data={"email": user.email, "password": PASSWORD}, follow_redirects=True
    )
    html = text_of(page)
    assert "Accesso effettuato." in html
    assert 'class="alert alert-success"' in html
    assert 'action="/esci"' in html  # sign out is a form, not a link
    # The header names who is signed in and leads to the account (its password, its link).
    account = re.search(r'<a class="bando-user" href="/profilo"[^>]*>(.*?)</a>', html, re.S)
    assert account and (user.full_name or user.email) in account.group(1)
    assert 'aria-current="page"' in text_of(client.get("/profilo")).split("bando-user")[1][:200]
    # The applicant's own pages appear in the menu once that blueprint exists.
    if "applicant.dashboard" in app.view_functions:
        assert "Le mie domande" in html
    page = client.post("/esci", follow_redirects=True)
    html = text_of(page)
    assert "Uscita da bando eseguita." in html
    assert 'href="/accedi"' in html


def test_sign_out_needs_the_csrf_token(app, client):
    user = create_user("officer", "rup@example.it")
    db.session.commit()
    client.post("/accedi", data={"email": user.email, "password": PASSWORD})
    app.config["WTF_CSRF_ENABLED"] = True
    refused = client.post("/esci")
    assert refused.status_code == 400
    assert "La sessione del modulo è scaduta" in text_of(refused)
    html = text_of(client.get("/"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    done = client.post("/esci", data={"csrf_token": token}, follow_redirects=True)
    assert "Uscita da bando eseguita." in text_of(done)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "http:/evil.example",
        "javascript:alert(1)",
        "bandi/altro",
    ],
)
def test_login_refuses_open_redirects(app, client, target):
    user = create_user("officer")
    db.session.commit()
    page = client.post(
        "/accedi",
        query_string={"next": target},
        data={"email": user.email, "password": PASSWORD},
    )
    assert page.status_code == 302
    assert page.headers["Location"] == "/istruttoria/"  # the officer's own page


def test_login_follows_a_local_next(app, client):
    user = create_user("officer")
    db.session.commit()
    page = client.post(
        "/accedi",
        query_string={"next": "/come-funziona"},
        data={"email": user.email, "password": PASSWORD},
    )
    assert page.headers["Location"] == "/come-funziona"


def test_pages_link_the_design_kit(client):
    html = text_of(client.get("/"))
    assert "/static/vendor/bootstrap-italia/css/bootstrap-italia.min.css" in html
    assert "/static/vendor/bootstrap-italia/js/bootstrap-italia.bundle.min.js" in html
    assert 'href="#main-content"' in html and 'id="main-content"' in html
    # The fonts are declared in CSS, so they load without JavaScript.
    css = client.get("/static/css/bando.css")
    assert css.status_code == 200
    assert "Titillium Web" in css.get_data(as_text=True)


def test_open_call_tells_how_to_apply(app, client):
    create_edition("aperto", state="open")
    db.session.commit()
    html = text_of(client.get("/bandi/aperto"))
    assert "Come partecipare" in html
    assert re.search(r'href="/accedi\?next=(%2F|/)bandi(%2F|/)aperto"', html)
    user = create_user("applicant")
    db.session.commit()
    client.post("/accedi", data={"email": user.email, "password": PASSWORD})
    html = text_of(client.get("/bandi/aperto"))
    if "applicant.new_application" in app.view_functions:
        assert 'action="/domande/nuova"' in html
        assert 'name="edition" value="aperto"' in html
        # The button really starts a draft of this call.
        started = client.post("/domande/nuova", data={"edition": "aperto"})
        assert started.status_code == 302
        assert re.match(r"/domande/\d+$", started.headers["Location"])


def test_closed_call_has_no_way_to_apply(app, client):
    cdq_like_edition()
    assert "Come partecipare" not in text_of(client.get("/bandi/cdq-prova"))


def test_dates_read_with_the_elided_article_and_the_time_with_ore(app):
    from datetime import date

    from bando.core.formatting import dated

    with app.test_request_context():
        assert dated(date(2019, 12, 8), "entro") == "entro l'08/12/2019"
        assert dated(date(2019, 2, 11), "dal") == "dall'11/02/2019"
        assert dated(date(2019, 3, 1), "al") == "all'01/03/2019"
        assert dated(date(2019, 4, 15), "al") == "al 15/04/2019"
        assert dated(CLOSES, "entro", time=True) == "entro il 15/04/2019 ore 12:00"
        assert dated(CLOSES, time=True) == "15/04/2019 ore 12:00"
        assert dated(CLOSES, "entro", time=True, locale="en") == "by 15/04/2019 at 12:00"
        assert dated(None, "dal") == "—"
