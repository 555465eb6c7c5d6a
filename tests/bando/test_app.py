from bando.formatting import money
from tests.factories import create_edition


def test_index_lists_editions_with_italian_money(app, client):
    create_edition(cap_cents=94_000_00)
    from bando.extensions import db

    db.session.commit()
    page = client.get("/")
    assert page.status_code == 200
    assert "€ 94.000,00" in page.get_data(as_text=True)


def test_money_formats():
    assert money(94_000_00, "it") == "€ 94.000,00"
    assert money(5, "it") == "€ 0,05"
    assert money(94_000_00, "en") == "€ 94,000.00"
