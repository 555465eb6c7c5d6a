"""The public pages of the grants: the calls, a call's grants with their total and files,
the page of a funded project; reachable from every page and from the call's page; in
Italian and in English; accessible tables."""

import html as html_module
import re

from bando.core.extensions import db
from tests.bando.transparency.world import (
    ADVANCE,
    FORMULA_NAME,
    PERSON_TAX_CODE,
    allocated_world,
)

ACTIVE = ("active_funded", "reported", "closed")


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return html_module.unescape(response.get_data(as_text=True))


def euro_it(cents: int) -> str:
    whole = f"{cents // 100:,}".replace(",", ".")
    return f"€ {whole},{cents % 100:02d}"


def test_the_call_page_lists_exactly_the_active_grants_with_their_total(app, client):
    edition, _, world = allocated_world()
    html = text(client.get(f"/contributi-concessi/{edition.code}"))
    shown = [int(i) for i in re.findall(r'<tr data-application="(\d+)"', html)]
    assert sorted(shown) == sorted(world[name].id for name in ACTIVE)
    total = sum(world[name].award.committed_cents for name in ACTIVE)
    assert re.search(r"data-total><span[^>]*>[^<]*</span>" + re.escape(euro_it(total)), html)
    assert re.search(r"data-total-paid><span[^>]*>[^<]*</span>" + re.escape(euro_it(ADVANCE)), html)
    for name in ACTIVE:
        assert world[name].organisation.name in html
        assert euro_it(world[name].award.committed_cents) in html
    for name in ("renounced", "revoked", "reserve", "not_funded"):
        assert f'data-application="{world[name].id}"' not in html
    # Who, by which rule and how (art. 27), and the three files, each of them served.
    assert edition.legal_basis or app.config["TRANSPARENCY_LEGAL_BASIS"] in html
    assert app.config["TRANSPARENCY_RESPONSIBLE"] in html
    assert app.config["TRANSPARENCY_SELECTION_METHOD"] in html
    files = re.search(r"<ul[^>]*data-files>(.*?)</ul>", html, re.S).group(1)
    links = re.findall(r'href="([^"]+)"', files)
    assert len(links) == 3
    for link in links:
        assert client.get(link).status_code == 200, link
    # The natural person's tax code is not shown; the organisations' are.
    assert PERSON_TAX_CODE not in html and "non pubblicato (persona fisica)" in html
    assert world["closed"].organisation.tax_code in html
    # Text, never markup: the formula-like name is escaped, shown as it is.
    assert FORMULA_NAME in html


def test_the_tables_are_accessible(app, client):
    edition, _, _ = allocated_world()
    for url in ("/contributi-concessi", f"/contributi-concessi/{edition.code}"):
        html = client.get(url).get_data(as_text=True)
        for table in re.findall(r"<table.*?</table>", html, re.S):
            assert re.search(r"<caption>\s*\S", table), url
            headers = re.findall(r"<th\b([^>]*)>", table)
            assert headers and all('scope="' in attributes for attributes in headers), url


def test_the_index_lists_the_calls_with_their_count_and_total(app, client):
    edition, _, world = allocated_world()
    html = text(client.get("/contributi-concessi"))
    row = re.search(rf'<tr data-edition="{edition.code}">(.*?)</tr>', html, re.S).group(1)
    assert f"/contributi-concessi/{edition.code}" in row
    total = sum(world[name].award.committed_cents for name in ACTIVE)
    assert 'data-count="3"' in row
    assert re.search(r"data-total>.*?" + re.escape(euro_it(total)), row, re.S)


def test_the_project_page_shows_a_funded_project_and_only_those(app, client):
    edition, _, world = allocated_world()
    application = world["closed"]
    html = text(client.get(f"/contributi-concessi/{edition.code}/progetti/{application.id}"))
    assert application.title in html
    assert application.organisation.name in html
    assert application.neighbourhood.name in html
    assert application.summary in html
    amount = euro_it(application.award.committed_cents)
    assert re.search(r"data-amount>\s*" + re.escape(amount), html)
    assert re.search(r"data-paid>\s*" + re.escape(euro_it(0)), html)
    for name in ("renounced", "revoked", "reserve", "not_funded"):
        url = f"/contributi-concessi/{edition.code}/progetti/{world[name].id}"
        assert client.get(url).status_code == 404, name
    # …nor a project of another call under this one's address, nor an unknown call.
    assert client.get(f"/contributi-concessi/nessuno/progetti/{application.id}").status_code == 404
    assert client.get("/contributi-concessi/nessuno").status_code == 404


def test_every_page_and_the_call_link_to_the_grants(app, client):
    edition, _, _ = allocated_world()
    home = client.get("/").get_data(as_text=True)
    # In the navigation and in the footer.
    assert home.count('href="/contributi-concessi"') >= 2
    call = client.get(f"/bandi/{edition.code}").get_data(as_text=True)
    assert f'href="/contributi-concessi/{edition.code}"' in call
    # A call whose money is not allocated yet has no such link.
    edition.state = "ranked"
    db.session.commit()
    call = client.get(f"/bandi/{edition.code}").get_data(as_text=True)
    assert f'href="/contributi-concessi/{edition.code}"' not in call


def test_the_pages_read_in_english(app, client):
    edition, _, world = allocated_world()
    client.get("/?lang=en")
    application = world["reported"]
    pages = (
        "/contributi-concessi",
        f"/contributi-concessi/{edition.code}",
        f"/contributi-concessi/{edition.code}/progetti/{application.id}",
    )
    for url in pages:
        html = text(client.get(url))
        assert '<html lang="en"' in html, url
        assert "Grants awarded" in html, url  # the title, in the English catalogue
    cents = application.award.amount_cents
    assert f"€ {cents // 100:,}.{cents % 100:02d}" in html  # money the English way
    client.get("/?lang=it")
    html = text(client.get(pages[0]))
    assert '<html lang="it"' in html and "Contributi concessi" in html


def test_a_project_id_beyond_any_integer_is_not_found(app, client):
    edition, _, _ = allocated_world()
    response = client.get(f"/contributi-concessi/{edition.code}/progetti/{10**20}")
    assert response.status_code == 404
