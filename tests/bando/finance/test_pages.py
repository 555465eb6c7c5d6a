"""The letters' pages: finance's list of a call's letters, issuing the missing ones, the
PDF of each and the ZIP of all; the organisation's links to its own letters."""

import html as html_module
import io
import zipfile

from sqlalchemy import func, select

from bando.core.extensions import db
from bando.finance.models import Letter
from tests.factories import PASSWORD
from tests.letters_factories import letters_world
from tests.lifecycle_factories import put_in_state


def login(client, user):
    client.post("/esci")
    response = client.post("/accedi", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302


def text(response) -> str:
    return html_module.unescape(response.get_data(as_text=True))


def letters_count():
    return db.session.scalar(select(func.count()).select_from(Letter))


def test_finance_lists_issues_and_downloads_the_letters(app, client):
    world = letters_world()
    edition = world["edition"]
    login(client, world["finance"])
    dashboard = text(client.get("/contabilita/"))
    assert f'href="/contabilita/bandi/{edition.code}/lettere" data-letters-link' in dashboard
    index = client.get("/contabilita/lettere")
    assert index.status_code == 200 and f'data-edition="{edition.code}"' in text(index)
    page = client.get(f"/contabilita/bandi/{edition.code}/lettere")
    assert page.status_code == 200
    body = text(page)
    for application, kind in (
        (world["first"], "award"),
        (world["second"], "award"),
        (world["reserve"], "reserve"),
        (world["rejected"], "not_admissible"),
        (world["asked"], "integration_request"),
    ):
        assert f'data-application="{application.id}" data-kind="{kind}"' in body
    assert body.count("data-not-issued") == 5 and "Emetti le 5 lettere mancanti" in body
    assert letters_count() == 0  # looking issues nothing
    # Nothing to download before issuing; a link followed anyway issues nothing either.
    assert "data-letter-link" not in body and "data-zip-link" not in body
    letter_url = f"/contabilita/domande/{world['first'].id}/lettere/award.pdf"
    early = client.get(letter_url, follow_redirects=True)
    assert early.request.path == f"/contabilita/bandi/{edition.code}/lettere"
    assert "La lettera non è ancora emessa" in text(early)
    early_zip = client.get(f"/contabilita/bandi/{edition.code}/lettere.zip", follow_redirects=True)
    assert "Nessuna lettera di questo bando è ancora emessa" in text(early_zip)
    assert letters_count() == 0
    issued = client.post(f"/contabilita/bandi/{edition.code}/lettere")
    assert issued.status_code == 302
    assert letters_count() == 5
    again = client.post(f"/contabilita/bandi/{edition.code}/lettere", follow_redirects=True)
    assert letters_count() == 5 and "Nessuna lettera da emettere" in text(again)
    body = text(client.get(f"/contabilita/bandi/{edition.code}/lettere"))
    assert "data-not-issued" not in body and f"{edition.protocol_prefix}/U/0005" in body
    assert body.count("data-letter-link") == 5 and "data-zip-link" in body
    assert "data-zip-note" not in body
    pdf = client.get(letter_url)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    archive = client.get(f"/contabilita/bandi/{edition.code}/lettere.zip")
    assert archive.status_code == 200 and archive.mimetype == "application/zip"
    assert len(zipfile.ZipFile(io.BytesIO(archive.data)).namelist()) == 5
    assert client.get("/contabilita/bandi/nessuno/lettere").status_code == 404
    # The request for documents went unanswered: a new letter is due, not issued yet.
    put_in_state(world["asked"], "ineligible")
    db.session.commit()
    body = text(client.get(f"/contabilita/bandi/{edition.code}/lettere"))
    assert body.count("data-not-issued") == 1 and body.count("data-letter-link") == 4
    assert "data-zip-note" in body and "1 lettera da emettere non c" in body
    archive = client.get(f"/contabilita/bandi/{edition.code}/lettere.zip")
    assert len(zipfile.ZipFile(io.BytesIO(archive.data)).namelist()) == 4
    assert letters_count() == 5


def test_the_organisation_downloads_its_own_letters_only(app, client):
    world = letters_world()
    first, owner = world["first"], world["first_owner"]
    login(client, owner)
    award_page = text(client.get(f"/domande/{first.id}/contributo"))
    assert "data-letters" not in award_page  # nothing issued yet
    url = f"/domande/{first.id}/lettere/award.pdf"
    assert client.get(url).status_code == 404
    login(client, world["finance"])
    client.post(f"/contabilita/bandi/{world['edition'].code}/lettere")
    login(client, owner)
    award_page = text(client.get(f"/domande/{first.id}/contributo"))
    assert 'data-letter="award"' in award_page and url in award_page
    proposal_page = text(client.get(f"/domande/{first.id}"))
    assert url in proposal_page
    # The timeline says the letter was issued, in words.
    assert 'data-trigger="issue_letter"' in proposal_page
    assert "Lettera del Comune emessa" in proposal_page
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    # Another organisation's letter, or the finance pages: not for this user.
    login(client, world["second_owner"])
    assert client.get(url).status_code == 404
    assert client.get(f"/contabilita/bandi/{world['edition'].code}/lettere").status_code == 403
    client.post("/esci")
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/accedi" in anonymous.headers["Location"]
