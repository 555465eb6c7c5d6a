"""The ranking's pages: the officer's preview, a tie settled by a draw recorded through the
form, the approval after its confirmation; the public ranking and its files only once
published, and the call's page linking to it."""

import csv
import html as html_module
import io

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from bando.calls.models import Edition
from bando.core.extensions import db
from bando.core.models import AuditEvent
from bando.core.operations import OperationError
from bando.evaluation import operations as evaluation
from bando.evaluation.models import Draw
from bando.ranking import operations
from bando.ranking.models import RankingEntry
from tests.evaluation_factories import committee_world, scores
from tests.factories import PASSWORD, create_user


def login(client, user):
    client.post("/esci")
    response = client.post("/accedi", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302


def text(response) -> str:
    return html_module.unescape(response.get_data(as_text=True))


def score_all(edition, members, applications, points_by_application):
    for member in members:
        evaluation.sign_declaration(edition, member, [])
        for application, points in zip(applications, points_by_application, strict=True):
            evaluation.save_review(
                application, member, scores(edition, *points), "motivazione", submit=True
            )
    db.session.commit()


def row_of(html, application, start=0):
    found = html.index(f'data-application="{application.id}"', start)
    return html[found : html.index("</tr>", found)]


def tied_world():
    """a 80 (coherence 35), b and c 80 with the same points, d 45: b and c need a draw."""
    edition, officer, members, (a, b, c, d) = committee_world(tie_break=["criterion:coherence"])
    d.neighbourhood = edition.neighbourhoods[1]  # Gratosoglio; the others in San Siro
    score_all(
        edition,
        members,
        [a, b, c, d],
        [(35, 25, 20), (30, 25, 25), (30, 25, 25), (20, 10, 15)],
    )
    return edition, officer, members, (a, b, c, d)


def test_preview_draw_and_approval_then_the_public_ranking(app, client):
    edition, officer, members, (a, b, c, d) = tied_world()
    path = f"/istruttoria/bandi/{edition.code}/graduatoria"
    public = f"/bandi/{edition.code}/graduatoria"
    # Nothing public before the approval: the page, its files, the link on the call's page.
    for tail in ("", ".csv", ".xlsx", "/verbale.pdf"):
        assert client.get(public + tail).status_code == 404
    assert "Consulta la graduatoria" not in text(client.get(f"/bandi/{edition.code}"))

    login(client, officer)
    page = client.get(path)
    assert page.status_code == 200
    html = text(page)
    assert "Graduatoria non ancora calcolabile:" in html and "serve un sorteggio" in html
    tie = html[html.index("data-tie=") :]
    assert f'data-tie="{b.id},{c.id}"' in html
    for application in (b, c):
        assert application.protocol in tie and application.title in tie
    assert "Approva e pubblica…" not in html

    draw = f"{path}/sorteggio"
    # The same number twice, or no one present: refused beside the form, nothing recorded.
    same = client.post(
        draw,
        data={
            "candidate": [b.id, c.id],
            f"order-{b.id}": "1",
            f"order-{c.id}": "1",
            "witnesses": "la commissione",
        },
    )
    assert same.status_code == 422
    assert "ciascuno una sola volta" in text(same)
    alone = client.post(
        draw, data={"candidate": [b.id, c.id], f"order-{b.id}": "2", f"order-{c.id}": "1"}
    )
    assert alone.status_code == 422 and "Indicare chi era presente al sorteggio." in text(alone)
    assert "selected>estratta per 2ª" in text(alone)  # the choices are kept
    assert db.session.scalar(select(Draw.id)) is None
    # c drawn first: the confirmation repeats the order, then the draw is recorded.
    chosen = {
        "candidate": [b.id, c.id],
        f"order-{b.id}": "2",
        f"order-{c.id}": "1",
        "witnesses": "Maria Rossi (segretaria), Paolo Verdi (testimone)",
    }
    asked = client.post(draw, data=chosen)
    assert asked.status_code == 200 and "Registrare il sorteggio?" in text(asked)
    order = text(asked)[text(asked).index("data-order") :]
    assert order.index(c.protocol) < order.index(b.protocol)
    assert db.session.scalar(select(Draw.id)) is None  # the first step records nothing
    done = client.post(draw, data={**chosen, "confirm": "1"}, follow_redirects=True)
    assert "Sorteggio registrato" in text(done)
    recorded = db.session.scalar(select(Draw))
    assert recorded.order == [c.id, b.id] and "Paolo Verdi" in recorded.witnesses

    # The preview: overall with the points per criterion and the totals, then per area.
    html = text(done)
    assert "Anteprima calcolata ora" in html
    overall = html[html.index('data-ranking="overall"') :]
    overall = overall[: overall.index("</table>")]
    positions = [overall.index(f'data-application="{x.id}"') for x in (a, c, b, d)]
    assert positions == sorted(positions)
    first = row_of(overall, a)
    assert 'data-position="1"' in first
    assert all(points in first for points in ("35,00", "25,00", "20,00", "80,00"))
    assert "idonea" in first and a.organisation.name in first and "San Siro" in first
    assert "per sorteggio" in row_of(overall, b)
    assert "per il criterio «Coherence»" in row_of(overall, c)
    last = row_of(overall, d)
    assert "45,00" in last and "sotto la soglia" in last and "Gratosoglio" in last
    hoods = html[html.index('id="hoods-heading"') :]
    gratosoglio = hoods[hoods.index("Gratosoglio</h3>") :]
    assert 'data-position="1"' in row_of(gratosoglio, d)  # first of its neighbourhood
    assert f"/istruttoria/domande/{a.id}" in first

    # Approval: a confirmation step, then the edition goes closed → ranked.
    assert "Approva e pubblica…" in html
    asked = client.post(f"{path}/approva", data={})
    assert asked.status_code == 200 and "Approvare e pubblicare la graduatoria?" in text(asked)
    assert "4 domande" in text(asked) and "3 idonee" in text(asked)
    assert db.session.scalar(select(Edition.state).where(Edition.id == edition.id)) == "closed"
    done = client.post(f"{path}/approva", data={"confirm": "1"}, follow_redirects=True)
    assert "Graduatoria approvata e pubblicata." in text(done)
    db.session.expire_all()
    assert db.session.scalar(select(Edition.state).where(Edition.id == edition.id)) == "ranked"
    assert db.session.query(RankingEntry).count() == 4
    assert "data-approved" in text(done) and "Approva e pubblica…" not in text(done)
    # Approving again is refused by the machine, with its reason, and nothing changes.
    again = client.post(f"{path}/approva", data={"confirm": "1"})
    assert again.status_code == 409 and "Operazione non eseguita:" in text(again)
    assert db.session.query(RankingEntry).count() == 4

    # The public: the page, overall and per neighbourhood, with its files; the call links it.
    client.post("/esci")
    page = client.get(public)
    assert page.status_code == 200
    html = text(page)
    overall = html[html.index('data-ranking="overall"') :]
    assert [overall.index(f'data-application="{x.id}"') for x in (a, c, b, d)] == sorted(
        overall.index(f'data-application="{x.id}"') for x in (a, c, b, d)
    )
    assert "80,00" in row_of(overall, a) and "Per quartiere" in html
    for link in ("graduatoria.csv", "graduatoria.xlsx", "graduatoria/verbale.pdf"):
        assert f'href="/bandi/{edition.code}/{link}"' in html
    assert f"/istruttoria/domande/{a.id}" not in html  # the officer's links stay his
    rows = list(csv.reader(io.StringIO(client.get(f"{public}.csv").get_data(as_text=True))))
    assert [r[2] for r in rows[1:]] == [a.protocol, c.protocol, b.protocol, d.protocol]
    sheet = load_workbook(io.BytesIO(client.get(f"{public}.xlsx").data)).active
    assert [row[2].value for row in sheet.iter_rows(min_row=2)] == [r[2] for r in rows[1:]]
    minute = client.get(f"{public}/verbale.pdf")
    assert minute.mimetype == "application/pdf"
    assert minute.headers["Content-Disposition"].startswith("attachment;")
    words = "".join(p.extract_text() for p in PdfReader(io.BytesIO(minute.data)).pages)
    assert all(x.protocol in words for x in (a, b, c, d))
    call = text(client.get(f"/bandi/{edition.code}"))
    assert f'href="/bandi/{edition.code}/graduatoria"' in call and "Consulta la graduatoria" in call


def test_no_approval_while_the_call_is_open_or_scores_are_missing(app, client):
    edition, officer, members, (a, b) = committee_world(proposals=2)
    score_all(edition, members, [a], [(35, 25, 20)])
    login(client, officer)
    path = f"/istruttoria/bandi/{edition.code}/graduatoria"
    html = text(client.get(path))
    # b is eligible and unscored: the preview shows a, the approval says why not.
    assert f'data-application="{a.id}"' in html
    assert "Non ancora possibile:" in html and "Approva e pubblica…" not in html
    refused = client.post(f"{path}/approva", data={})
    assert refused.status_code == 409 and "Operazione non eseguita:" in text(refused)
    forced = client.post(f"{path}/approva", data={"confirm": "1"})
    assert forced.status_code == 409
    db.session.expire_all()
    assert db.session.scalar(select(Edition.state).where(Edition.id == edition.id)) == "closed"
    assert db.session.query(RankingEntry).count() == 0
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.trigger == "rank")) is None


def test_a_draw_orders_only_a_tie_that_needs_it_and_only_once(app, client):
    edition, officer, members, (a, b, c, d) = tied_world()
    for order in ([a.id, b.id], [b.id, d.id]):  # a and d are parted by their points
        with pytest.raises(OperationError) as refused:
            operations.record_draw(edition, officer, order, "la commissione")
        assert refused.value.code == "no_tie"
    with pytest.raises(OperationError) as refused:
        operations.record_draw(edition, officer, [b.id, c.id], "  ")
    assert list(refused.value.errors) == ["witnesses"]
    operations.record_draw(edition, officer, [b.id, c.id], "prima")
    db.session.commit()
    # The tie is settled: a second draw, the other way round, would leave the call with
    # no ranking at all.
    with pytest.raises(OperationError) as refused:
        operations.record_draw(edition, officer, [c.id, b.id], "seconda")
    assert refused.value.code == "no_tie"
    db.session.rollback()
    assert operations.draws_of(edition) == [[b.id, c.id]]


def test_discordant_draws_are_a_message_not_a_500(app, client):
    # Two draws ordering one tie two ways, as a database written before the draws were
    # checked may hold.
    edition, officer, members, (a, b, c, d) = tied_world()
    for order, witnesses in (([b.id, c.id], "prima"), ([c.id, b.id], "seconda")):
        db.session.add(
            Draw(edition_id=edition.id, order=order, witnesses=witnesses, drawn_by_id=officer.id)
        )
    db.session.commit()
    login(client, officer)
    page = client.get(f"/istruttoria/bandi/{edition.code}/graduatoria")
    assert page.status_code == 200 and "sorteggi discordanti" in text(page)
    refused = client.post(f"/istruttoria/bandi/{edition.code}/graduatoria/approva", data={})
    assert refused.status_code == 409


def test_the_officer_pages_of_the_ranking_are_for_officers_only(app, client):
    edition, officer, members, (a, b, c, d) = tied_world()
    base = f"/istruttoria/bandi/{edition.code}/graduatoria"
    assert client.get(base).status_code == 302
    for role in ("applicant", "evaluator", "finance", "admin"):
        login(client, members[0] if role == "evaluator" else create_user(role))
        db.session.commit()
        assert client.get(base).status_code == 403, role
        for tail in ("/sorteggio", "/approva"):
            response = client.post(base + tail, data={"confirm": "1", "candidate": [b.id, c.id]})
            assert response.status_code == 403, (role, tail)
    login(client, officer)
    assert client.get("/istruttoria/bandi/nessuno/graduatoria").status_code == 404
    assert client.get("/bandi/nessuno/graduatoria").status_code == 404
    # A draw naming proposals that are not in this call's ranking: refused, not a 500.
    foreign = client.post(
        f"{base}/sorteggio",
        data={
            "candidate": [b.id, 999999],
            f"order-{b.id}": "1",
            "order-999999": "2",
            "witnesses": "x",
            "confirm": "1",
        },
    )
    assert foreign.status_code == 422 and "almeno due domande valutate" in text(foreign)
    unknown = client.post(
        f"{base}/sorteggio",
        data={
            "candidate": [b.id, 999999],
            f"order-{b.id}": "1",
            "order-999999": "2",
            "witnesses": "x",
        },
    )
    assert unknown.status_code == 422 and "Sorteggio non valido" in text(unknown)
    bad = client.post(f"{base}/sorteggio", data={"candidate": ["x", "1e9"], "witnesses": "x"})
    assert bad.status_code == 422
    # A superscript two is a digit to str.isdigit and no number to int(): it was a 500.
    odd = client.post(
        f"{base}/sorteggio", data={"candidate": ["\u00b2", str(b.id)], "witnesses": "x"}
    )
    assert odd.status_code == 422 and "Sorteggio non valido" in text(odd)
    assert db.session.scalar(select(Draw.id)) is None
