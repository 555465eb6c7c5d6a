"""Finance's pages: the landing, the calls with their money, the funded projects with what
is due, the payment after its confirmation (a double submit records once), the register
page and its CSV; nobody else gets in."""

import html as html_module
import re

from sqlalchemy import func, select

from bando.budget.models import Payment
from bando.core.extensions import db
from tests.factories import PASSWORD, create_user
from tests.finance_factories import funded_world


def login(client, user):
    client.post("/esci")
    response = client.post("/accedi", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return response


def text(response) -> str:
    return html_module.unescape(response.get_data(as_text=True))


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_finance_pays_the_advance_once_from_its_pages(app, client):
    application, _, finance, _ = funded_world(10_000)
    code = application.edition.code
    landed = login(client, finance)
    assert landed.headers["Location"] == "/contabilita/"
    dashboard = text(client.get("/contabilita/"))
    assert application.edition.title in dashboard and "1 pagamento da fare" in dashboard
    assert 'href="/contabilita/"' in dashboard  # the navigation link
    projects = text(client.get(f"/contabilita/bandi/{code}"))
    assert "Anticipo € 5.000,00" in projects
    url = f"/contabilita/domande/{application.id}/pagamenti/advance"
    confirm = client.get(url)
    page = text(confirm)
    assert "€ 200,00" in page and "€ 4.800,00" in page  # withholding, net
    key = re.search(r'name="key" type="hidden" value="([0-9a-f]+)"', page) or re.search(
        r'id="key" name="key" type="hidden" value="([0-9a-f]+)"', page
    )
    assert key, page
    data = {"key": key.group(1), "reference": "Mandato 2020/15"}
    assert client.post(url, data=data).status_code == 302
    # The same page sent again (a double click, a reload): recorded once.
    again = client.post(url, data=data, follow_redirects=True)
    assert again.status_code == 200 and "già stato registrato" in text(again)
    assert count(Payment) == 1
    register = text(client.get(f"/contabilita/bandi/{code}/registro"))
    assert "Mandato 2020/15" in register and "€ 4.800,00" in register
    exported = client.get(f"/contabilita/bandi/{code}/registro.csv")
    assert exported.status_code == 200 and "Mandato 2020/15" in exported.data.decode("utf-8-sig")
    spreadsheet = client.get(f"/contabilita/bandi/{code}/registro.xlsx")
    assert spreadsheet.status_code == 200 and spreadsheet.data.startswith(b"PK")
    assert f'href="/contabilita/bandi/{code}/registro.xlsx"' in register
    assert client.get(f"/contabilita/bandi/{code}/registro.pdf").status_code == 404
    # Paid: nothing due now.
    assert "Anticipo € 5.000,00" not in text(client.get(f"/contabilita/bandi/{code}"))
    assert "Nessun pagamento di questo tipo" in text(client.get(url))
    # A second advance under another key, on the English page: the refusal's words are
    # the operation's own, not half of them in the page's language.
    refused = text(client.post(f"{url}?lang=en", data={"key": "altra", "reference": "x"}))
    assert "nessun anticipo da registrare ora" in refused and "nessun advance" not in refused


def test_a_bad_reference_is_refused_and_nothing_is_paid(app, client):
    application, _, finance, _ = funded_world(10_000)
    login(client, finance)
    url = f"/contabilita/domande/{application.id}/pagamenti/advance"
    refused = client.post(url, data={"key": "abc123", "reference": "riga\x07strana"})
    assert refused.status_code == 422 and "non ammesso" in text(refused)
    assert count(Payment) == 0
    assert client.get(f"/contabilita/domande/{application.id}/pagamenti/regalo").status_code == 404


def test_only_finance_sees_the_accounts(app, client):
    application, owner, _, officer = funded_world(10_000)
    code = application.edition.code
    for user in (owner, officer):
        login(client, user)
        for url in (
            "/contabilita/",
            f"/contabilita/bandi/{code}",
            f"/contabilita/bandi/{code}/registro.csv",
            f"/contabilita/domande/{application.id}/pagamenti/advance",
        ):
            assert client.get(url).status_code == 403, (user.role, url)
    finance = create_user("finance")
    db.session.commit()
    login(client, finance)
    assert client.get("/contabilita/bandi/non-esiste").status_code == 404


def test_renouncing_after_the_advance_says_it_is_to_be_paid_back(app, client):
    application, owner, finance, _ = funded_world(10_000)
    url = f"/domande/{application.id}/contributo/rinuncia"
    login(client, owner)
    assert "data-refund" not in text(client.get(url))  # nothing received yet
    from bando.payments.operations import pay_once

    pay_once(application.id, "advance", finance)
    page = text(client.get(url))
    assert "data-refund" in page and "Quanto già ricevuto (€ 5.000,00) va restituito" in page
