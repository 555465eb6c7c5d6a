"""The allocation's pages: the officer's simulation and comparison (nothing written), the run
from its confirmation, the revocation moving the reserve list; the budget dashboard on the
public call page; the applicant's explanation, acceptance and renunciation; who may see
what; every new string translated."""

import html as html_module
import os
import re
from datetime import timedelta

from babel.messages.extract import extract_from_file
from sqlalchemy import func, select

from bando import ROOT
from bando.accounts.models import User
from bando.allocation import operations
from bando.allocation.models import AllocationDecision, AllocationRun
from bando.allocation.pages import read_alternative
from bando.applications.models import Application
from bando.budget.models import Award, Payment
from bando.calls.models import Edition
from bando.core import audit
from bando.core.extensions import db
from bando.core.formatting import dated
from bando.core.models import AuditEvent
from bando.core.timeutil import utcnow
from tests.allocation_factories import ranked_world
from tests.bando.applications.data import token_for
from tests.bando.core.test_i18n import read_catalogue
from tests.factories import PASSWORD, create_user
from tests.statements import recorded_statements


def login(client, user):
    client.post("/esci")
    response = client.post("/accedi", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302


def text(response) -> str:
    return html_module.unescape(response.get_data(as_text=True))


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def written():
    return count(AuditEvent), count(Award), count(AllocationRun)


def states(rows):
    db.session.expire_all()
    return [db.session.get(Application, a.id).state for a, _ in rows]


def row_of(html, application, start=0):
    found = html.index(f'<tr data-application="{application.id}"', start)
    return html[found : html.index("</tr>", found)]


def allocate(edition, officer):
    operations.run(edition, officer)
    db.session.commit()


def test_the_simulation_compares_an_alternative_and_writes_nothing(app, client):
    # cap 1000, skip: 600 and 300 funded, 400 waits (100 left), 100 funded.
    edition, officer, rows = ranked_world([600, 300, 400, 100])
    (p1, _), (w, _), (a, _), (b, _) = rows
    login(client, officer)
    path = f"/istruttoria/bandi/{edition.code}/assegnazione"
    before = written()

    page = client.get(path)
    assert page.status_code == 200
    html = text(page)
    assert 'data-simulation="own"' in html and 'data-simulation="other"' not in html
    assert "finanziata per intero (€ 600,00)" in row_of(html, p1)
    assert (
        "in riserva: posizione 1; le risorse residue (€ 100,00) non coprono la richiesta di "
        "€ 400,00"
    ) in row_of(html, a)
    own = html[html.index('data-simulation="own"') :]
    assert re.search(r'data-field="residual">€ 0,00<', own)
    assert a.protocol in own[own.index("data-reserve") :]

    # The alternative: partial awards from a fifth of the request. The 100 left go to A
    # (a quarter of its 400), so B waits: both rows differ, the others do not.
    compared = client.get(
        path, query_string={"on_insufficient": "partial", "min_partial_share": "20"}
    )
    assert compared.status_code == 200
    html = text(compared)
    other = html[html.index('data-simulation="other"') :]
    assert "contributo parziale (almeno il 20% della richiesta)" in other
    assert 'data-differences="2"' in html
    assert "data-differs" in row_of(html, a) and "data-differs" in row_of(html, b)
    assert "data-differs" not in row_of(html, p1) and "data-differs" not in row_of(html, w)
    alternative = row_of(html, a)[row_of(html, a).index('data-rules="other"') :]
    assert "€ 100,00" in alternative and "(parziale)" in alternative
    assert "finanziata in parte: € 100,00 su € 400,00 richiesti" in alternative
    assert "selected>contributo parziale<" in html  # the choice stays in the form

    # A lower cap, typed the Italian way, is an alternative too.
    lower = text(client.get(path, query_string={"cap": "900,00"}))
    assert "Stanziamento: € 900,00" in lower

    # Bad input: said beside the field, the call's own simulation still shown.
    bad = client.get(path, query_string={"cap": "mille", "min_partial_share": "150", "mode": "x"})
    assert bad.status_code == 422
    html = text(bad)
    assert "Importo non valido" in html and "Una percentuale tra 0 e 100" in html
    assert "Scegliere una delle modalità proposte." in html
    assert 'data-simulation="own"' in html and 'data-simulation="other"' not in html

    assert written() == before
    assert db.session.get(Edition, edition.id).state == "ranked"


def test_the_alternative_as_typed():
    alternative, _typed, errors = read_alternative(
        {"cap": "16.000,50", "min_partial_share": "12,5%", "mode": "single_ranking"}
    )
    assert errors == {}
    assert alternative == {
        "cap_cents": 16_000_50,
        "min_partial_share_bp": 1250,
        "mode": "single_ranking",
    }
    for share in ("1e999999999", "NaN", "-1", "100.001", "0,001", "metà"):
        assert "min_partial_share" in read_alternative({"min_partial_share": share})[2], share
    assert read_alternative({"min_partial_share": "0"})[0] == {"min_partial_share_bp": 0}
    too_long = read_alternative({"cap": "9" * 41})
    assert too_long[0] == {} and "cap" in too_long[2] and len(too_long[1]["cap"]) == 40


def test_the_run_from_its_confirmation_allocates_and_shows_the_reasons(app, client):
    edition, officer, rows = ranked_world([600, 300, 400, 100])
    (p1, _), (w, _), (a, _), (b, _) = rows
    login(client, officer)
    path = f"/istruttoria/bandi/{edition.code}/assegnazione"
    before = written()

    asked = client.post(path)
    assert asked.status_code == 200
    html = text(asked)
    assert "Assegnare i contributi?" in html
    assert "3 domande finanziate, per un totale di € 1.000,00; resta un residuo di € 0,00." in html
    assert "in riserva: posizione 1" in row_of(html, a)
    fingerprint = re.search(r'name="decisions" value="([0-9a-f]+)"', html).group(1)
    assert written() == before  # the confirmation writes nothing

    # A confirmation of other decisions (the page was stale) writes nothing and asks again.
    stale = client.post(path, data={"confirm": "1", "decisions": "0" * 64})
    assert stale.status_code == 409 and "Nel frattempo qualcosa è cambiato" in text(stale)
    assert written() == before
    assert db.session.get(Edition, edition.id).state == "ranked"

    done = client.post(path, data={"confirm": "1", "decisions": fingerprint})
    assert done.status_code == 302 and done.location.endswith("#esito")
    assert db.session.get(Edition, edition.id).state == "allocated"
    assert states(rows) == ["funded", "funded", "reserve", "funded"]
    html = text(client.get(done.location))
    assert "Contributi assegnati: 3 domande finanziate per € 1.000,00." in html
    outcome = html[html.index("data-outcome-table") :]
    assert "finanziata per intero (€ 300,00)" in row_of(outcome, w)
    assert (
        "in riserva: posizione 1; le risorse residue (€ 100,00) non coprono la richiesta di "
        "€ 400,00"
    ) in row_of(outcome, a)
    runs = html[html.index("data-runs") :]
    assert "Assegnazione dei contributi" in runs and officer.email in runs
    awards = html[html.index("data-awards") :]
    assert "da accettare entro" in row_of(awards, p1)
    # Once allocated there is nothing to simulate or run again.
    assert "data-alternative-form" not in html
    again = client.post(path, data={"confirm": "1", "decisions": fingerprint})
    assert again.status_code == 409 and "già stati assegnati" in text(again)
    assert audit.verify() is None


def test_the_officer_revokes_an_award_and_the_reserve_moves(app, client):
    edition, officer, rows = ranked_world([600, 400, 300], on_insufficient="stop")
    allocate(edition, officer)
    (p1, _), (second, _), (third, _) = rows
    assert states(rows) == ["funded", "funded", "reserve"]
    login(client, officer)
    path = f"/istruttoria/domande/{second.id}/revoca"
    page = text(client.get(f"/istruttoria/bandi/{edition.code}/assegnazione"))
    assert f'href="{path}"' in row_of(page[page.index("data-awards") :], second)

    # The proposal's own page links to it too.
    proposal = text(client.get(f"/istruttoria/domande/{second.id}"))
    assert "Contributo: € 400,00" in proposal and f'href="{path}"' in proposal
    form = client.get(path)
    assert form.status_code == 200 and "La revoca è definitiva" in text(form)
    before = written()
    empty = client.post(path, data={"reason": "  "})
    assert empty.status_code == 422 and "Indicare la motivazione." in text(empty)
    asked = client.post(path, data={"reason": "Attività non svolte"})
    assert asked.status_code == 200
    html = text(asked)
    assert "Revocare il contributo?" in html and "Attività non svolte" in html
    freed = html[html.index("data-freed") :]
    assert third.protocol in freed and "finanziata per intero (€ 300,00)" in freed
    assert written() == before

    done = client.post(path, data={"reason": "Attività non svolte", "confirm": "1"})
    assert done.status_code == 302
    assert states(rows) == ["funded", "revoked", "funded"]
    html = text(client.get(done.location))
    assert f"Contributo di {second.protocol} revocato." in html
    assert "Scorrimento dopo una revoca" in html[html.index("data-runs") :]
    assert 'data-award-state="revoked"' in row_of(html[html.index("data-awards") :], second)
    # A second revocation is refused by the machine, with its reason, never a 500.
    again = client.post(path, data={"reason": "di nuovo", "confirm": "1"})
    assert again.status_code == 409 and "Operazione non eseguita:" in text(again)
    assert "non è possibile" in text(client.get(path))


def test_the_pages_before_the_ranking_is_approved(app, client):
    edition, officer, _rows = ranked_world([100])
    edition.state = "closed"
    db.session.commit()
    login(client, officer)
    path = f"/istruttoria/bandi/{edition.code}/assegnazione"
    html = text(client.get(path))
    assert "data-not-ranked" in html and "data-alternative-form" not in html
    refused = client.post(path, data={"confirm": "1"})
    assert refused.status_code == 409 and "non è ancora approvata" in text(refused)
    assert count(AllocationRun) == 0
    assert client.get("/istruttoria/bandi/non-esiste/assegnazione").status_code == 404


def test_the_public_call_page_shows_the_budget_dashboard(app, client):
    edition, officer, rows = ranked_world(
        [600, 300], cap_euro=2000, neighbourhoods={"san-siro": 700}
    )
    allocate(edition, officer)
    award = db.session.scalar(select(Award).where(Award.application_id == rows[0][0].id))
    db.session.add(Payment(award=award, kind="advance", amount_cents=300_00, paid_at=utcnow()))
    db.session.commit()
    html = text(client.get(f"/bandi/{edition.code}"))
    dashboard = html[html.index("data-budget-dashboard") :]
    # The call: 900 of 2000 committed (45 %), 300 paid, 1100 available.
    assert "Impegnato: 45% dello stanziamento" in dashboard
    assert 'data-bar="edition" data-paid-width="150" data-committed-width="450"' in dashboard
    # San Siro (the first proposal, quota 700): 600 committed, 300 paid, the quota's mark
    # at 700 of 2000; Gratosoglio (no quota): 300.
    assert 'data-bar="san-siro" data-paid-width="150" data-committed-width="300"' in dashboard
    assert 'data-limit-x="350"' in dashboard
    assert 'data-bar="gratosoglio" data-paid-width="0" data-committed-width="150"' in dashboard
    # The same figures as a table, with its caption and its headers' scope.
    table = dashboard[dashboard.index("data-budget-table") : dashboard.index("</table>")]
    assert "<caption>Risorse del bando e dei quartieri</caption>" in table
    assert table.count('scope="col"') == 5 and table.count('scope="row"') == 3
    call = table[table.index('data-row="edition"') :]
    for figure, amount in (
        ("limit", "€ 2.000,00"),
        ("committed", "€ 900,00"),
        ("paid", "€ 300,00"),
        ("available", "€ 1.100,00"),
    ):
        assert re.search(rf'data-figure="{figure}">.*?{re.escape(amount)}', call.split("</tr>")[0])
    san_siro = table[table.index('data-row="san-siro"') :].split("</tr>")[0]
    assert "€ 700,00" in san_siro and "€ 100,00" in san_siro  # quota, and what is left of it
    # The old bar is gone from the call's page; no style attribute anywhere on it.
    assert "progress-bar" not in html and "style=" not in html


def test_the_applicant_reads_why_accepts_and_renounces(app, client):
    # cap 40.000: 16.000 and 16.000 funded; 12.000 waits (8.000 left) in the reserve list.
    edition, officer, rows = ranked_world([16000, 16000, 12000], cap_euro=40000)
    allocate(edition, officer)
    (first, first_owner), (second, second_owner), (third, third_owner) = rows

    login(client, third_owner)
    why = (
        "in riserva: posizione 1; le risorse residue (€ 8.000,00) non coprono la richiesta di "
        "€ 12.000,00"
    )
    dashboard = text(client.get("/domande"))
    assert why in dashboard
    html = text(client.get(f"/domande/{third.id}/contributo"))
    assert why in html and "data-position>3ª<" in html and "97,00 punti su 100" in html
    assert "Accetta il contributo…" not in html

    login(client, first_owner)
    card = text(client.get("/domande"))
    assert "Contributo: € 16.000,00" in card and "Accettare il contributo entro" in card
    html = text(client.get(f"/domande/{first.id}/contributo"))
    award = db.session.scalar(select(Award).where(Award.application_id == first.id))
    # The deadline after its article, elided before 1, 8 and 11 ("entro l'08/12/2026").
    assert f"da accettare {dated(award.accept_by, 'entro', time=True)}" in html
    assert re.search(r"da accettare entro (il |l')\d\d/\d\d/\d{4} ore 23:59", html)
    assert "€ 16.000,00" in html and "data-partial" not in html
    assert "finanziata per intero (€ 16.000,00)" in html
    confirm = client.get(f"/domande/{first.id}/contributo/accetta")
    assert confirm.status_code == 200 and "Accettare il contributo?" in text(confirm)
    accepted = client.post(f"/domande/{first.id}/contributo/accetta", data={"confirm": "1"})
    assert accepted.status_code == 302
    db.session.expire_all()
    assert db.session.get(Award, award.id).accepted_at is not None
    html = text(client.get(accepted.location))
    # "accettato il 15/12/2026", or elided before 1, 8 and 11: "accettato l'08/12/2026".
    assert "Contributo accettato." in html and re.search(r"accettato (il |l')\d\d/", html)
    # Twice: the machine says no, the page says why.
    again = client.post(f"/domande/{first.id}/contributo/accetta", data={"confirm": "1"})
    assert again.status_code == 409 and "il contributo è già stato accettato" in text(again)
    assert "Contributo accettato: a progetto concluso" in text(client.get("/domande"))

    # The second renounces: the 16.000 freed fund the third from the reserve list.
    login(client, second_owner)
    confirm = text(client.get(f"/domande/{second.id}/contributo/rinuncia"))
    assert "non si può annullare" in confirm and "domande in riserva" in confirm
    before = count(Award)
    done = client.post(
        f"/domande/{second.id}/contributo/rinuncia",
        data={"confirm": "1", "reason": "Il partner si è ritirato"},
    )
    assert done.status_code == 302
    assert states(rows) == ["funded", "renounced", "funded"]
    assert count(Award) == before + 1
    html = text(client.get(done.location))
    assert "Rinuncia registrata" in html and 'data-award-state="renounced"' in html
    assert "Rinuncia al contributo…" not in html

    login(client, third_owner)
    html = text(client.get(f"/domande/{third.id}/contributo"))
    assert "finanziata per intero (€ 12.000,00)" in html
    assert "Accetta il contributo…" in html
    assert audit.verify() is None


def test_a_partial_award_and_a_late_acceptance(app, client):
    edition, officer, rows = ranked_world(
        [16000, 16000, 12000], cap_euro=40000, on_insufficient="partial", min_partial_share_bp=5000
    )
    allocate(edition, officer)
    third, owner = rows[2]
    login(client, owner)
    html = text(client.get(f"/domande/{third.id}/contributo"))
    assert "€ 8.000,00" in html and "contributo parziale: richiesti € 12.000,00" in html
    assert "finanziata in parte: € 8.000,00 su € 12.000,00 richiesti" in html
    assert "Contributo: € 8.000,00 (parziale)" in text(client.get("/domande"))
    # Past the deadline (the tick has not run yet): no button, the reason, a 409 on a post.
    award = db.session.scalar(select(Award).where(Award.application_id == third.id))
    award.accept_by = utcnow() - timedelta(days=1)
    db.session.commit()
    html = text(client.get(f"/domande/{third.id}/contributo"))
    assert "Accetta il contributo…" not in html
    assert "il termine per accettare il contributo è scaduto" in html
    late = client.post(f"/domande/{third.id}/contributo/accetta", data={"confirm": "1"})
    assert late.status_code == 409 and "è scaduto" in text(late)
    assert db.session.get(Award, award.id).accepted_at is None


def test_others_get_404_or_403(app, client):
    edition, officer, rows = ranked_world([600, 400])
    allocate(edition, officer)
    (first, owner), (second, other_owner) = rows
    stranger = create_user("applicant")
    evaluator = create_user("evaluator")
    db.session.commit()
    paths = [
        f"/domande/{first.id}/contributo",
        f"/domande/{first.id}/contributo/accetta",
        f"/domande/{first.id}/contributo/rinuncia",
    ]
    for path in paths:
        assert client.get(path).status_code == 302  # to the sign-in page
    login(client, stranger)
    for path in paths:
        assert client.get(path).status_code == 404
    assert client.post(paths[1], data={"confirm": "1"}).status_code == 404
    assert client.post(paths[2], data={"confirm": "1"}).status_code == 404
    assert client.get("/domande/999999/contributo").status_code == 404
    officer_paths = [
        f"/istruttoria/bandi/{edition.code}/assegnazione",
        f"/istruttoria/domande/{first.id}/revoca",
    ]
    for path in officer_paths:
        assert client.get(path).status_code == 403
    login(client, evaluator)
    for path in paths + officer_paths:
        assert client.get(path).status_code == 403
    login(client, officer)
    for path in paths:
        assert client.get(path).status_code == 403
    assert client.get("/istruttoria/domande/999999/revoca").status_code == 404
    assert states(rows) == ["funded", "funded"]


NEW_SOURCES = [
    ("bando/allocation/pages.py", "python"),
    ("scoring/allocation.py", "python"),  # the reasons, said in the page's language
    *(
        (f"templates/{folder}/{name}", "jinja2")
        for folder, names in (
            ("allocation", os.listdir(os.path.join(ROOT, "templates", "allocation"))),
            ("applicant", ["award.html", "award_accept.html", "award_renounce.html"]),
        )
        for name in names
    ),
]


def test_every_string_of_these_pages_has_its_english_text():
    catalogue = read_catalogue()
    missing = []
    for path, method in NEW_SOURCES:
        with open(os.path.join(ROOT, path), "rb") as handle:
            for _lineno, message, _comments, _context in extract_from_file(
                method,
                handle.name,
                keywords={"_": None, "_l": None, "gettext": None, "ngettext": (1, 2)},
            ):
                msgid = message if isinstance(message, str) else message[0]
                entry = catalogue.get(msgid)
                if entry is None or not entry.string or entry.fuzzy:
                    missing.append(f"{path}: {msgid}")
    assert not missing, "run `make messages` and translate:\n" + "\n".join(missing)


def test_the_pages_read_in_english(app, client):
    edition, officer, rows = ranked_world([600, 300, 400, 100])
    login(client, officer)
    client.get("/?lang=en")
    html = text(client.get(f"/istruttoria/bandi/{edition.code}/assegnazione"))
    assert "Allocation of the grants" in html and "With the call's rules" in html
    public = text(client.get(f"/bandi/{edition.code}"))
    assert "Committed: 0% of the cap" in public and "Resources of the call" in public


def test_the_reasons_read_in_the_pages_language(app, client):
    edition, officer, rows = ranked_world([600, 300, 400, 100])
    (p1, _), (w, _), (a, a_owner), (b, _) = rows
    login(client, officer)
    client.get("/?lang=en")
    path = f"/istruttoria/bandi/{edition.code}/assegnazione"
    simulated = text(client.get(path))
    assert "funded in full (€ 600.00)" in row_of(simulated, p1)
    allocate(edition, officer)
    outcome = text(client.get(path))
    outcome = outcome[outcome.index("data-outcome-table") :]
    assert "funded in full (€ 300.00)" in row_of(outcome, w)
    reserve = (
        "on the reserve list: position 1; the remaining funds (€ 100.00) do not cover the "
        "request of € 400.00"
    )
    assert reserve in row_of(outcome, a) and "in riserva" not in outcome
    login(client, a_owner)
    client.get("/?lang=en")
    assert reserve in text(client.get(f"/domande/{a.id}/contributo"))
    assert reserve in text(client.get("/domande"))
    # The API and the letters keep the Italian words.
    explained = client.get(
        f"/api/v1/applications/{a.id}/allocation", headers=token_for(client, a_owner.email)
    ).get_json()
    assert explained["reason_text"].startswith("in riserva: posizione 1")
    # A run made before the figures were kept has only its Italian text, shown as it is.
    decision = db.session.scalar(
        select(AllocationDecision).where(AllocationDecision.application_id == a.id)
    )
    decision.full_cents = None
    db.session.commit()
    assert "in riserva: posizione 1; le risorse" in text(client.get(f"/domande/{a.id}/contributo"))


def statements_of(client, url) -> int:
    client.get(url)  # once before counting: what a first request caches
    # The requests share the test's session: nothing of the setup stays loaded in it.
    db.session.expunge_all()
    with recorded_statements() as sent:
        assert client.get(url).status_code == 200
    return len(sent)


def test_the_allocation_and_budget_pages_read_a_fixed_number_of_queries(app, client):
    """A call of three proposals and one of nine, each allocated with payments on its
    awards: their pages send as many statements (no query per proposal or award)."""
    calls = []
    for size in (3, 9):
        edition, officer, rows = ranked_world([500] * size, cap_euro=250 * size)
        allocate(edition, officer)
        for award in db.session.scalars(select(Award).where(Award.edition_id == edition.id)):
            db.session.add(
                Payment(award=award, kind="advance", amount_cents=100_00, paid_at=utcnow())
            )
        db.session.commit()
        calls.append((edition.code, officer.id))
    counts = []
    for code, officer_id in calls:
        login(client, db.session.get(User, officer_id))
        counts.append(
            (
                statements_of(client, f"/istruttoria/bandi/{code}/assegnazione"),
                statements_of(client, f"/bandi/{code}"),
            )
        )
    assert counts[0] == counts[1], counts
