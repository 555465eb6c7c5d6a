"""The administrator loads a call from its TOML file, on the page or through the API (a
bad file changes nothing and says every problem by key), and checks the audit chain."""

import io

from sqlalchemy import func, select, update

from bando.calls.models import Edition
from bando.core import audit
from bando.core.extensions import db
from bando.core.models import AuditEvent
from tests.bando.admin.test_accounts import admin_browser
from tests.bando.applications.data import token_for
from tests.bando.calls.test_loading import MINIMAL


def editions() -> int:
    return db.session.scalar(select(func.count(Edition.id)))


def upload(browser, content: bytes, name="bando.toml"):
    return browser.post(
        "/amministrazione/bandi",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def test_a_call_file_is_loaded_on_the_page_and_a_bad_one_changes_nothing(app):
    admin, browser = admin_browser(app)
    loaded = upload(browser, MINIMAL.encode(), "../bandi/cdq-test.toml")
    assert loaded.status_code == 302
    edition = db.session.scalar(select(Edition).where(Edition.code == "cdq-test"))
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.trigger == "load_call"))
    assert event.actor_id == admin.id and event.payload["file"] == "cdq-test.toml"
    page = browser.get("/amministrazione/bandi")
    # Its dates are past: it is loaded closed, and the page says so.
    assert "Bando «cdq-test» caricato, nello stato «Chiuso – in valutazione»." in page.text
    assert 'data-edition="cdq-test"' in page.text
    assert "1 bando caricato." in browser.get("/amministrazione/").text
    assert "€ 80.000,00" in page.text

    count, events = editions(), db.session.scalar(select(func.count(AuditEvent.id)))
    broken = MINIMAL.replace('code = "cdq-test"', 'code = "cdq-altro"').replace(
        'budget_cap = "80000.00"', 'budget_cap = "1e5"\ncolore = "blu"'
    )
    refused = upload(browser, broken.encode())
    assert refused.status_code == 422 and "data-call-problems" in refused.text
    assert "edition.budget_cap" in refused.text and "edition.colore" in refused.text
    for content, words in (
        (b"\xff\xfe non utf-8", "UTF-8"),
        (b"[edition\n", "TOML non valido"),
        (b"x" * 200_001, "troppo grande"),
        (b"a=" + b"[" * 5000 + b"]" * 5000, "annidate troppo in profondità"),
    ):
        answer = upload(browser, content)
        assert answer.status_code == 422 and words in answer.text, words
    no_file = browser.post("/amministrazione/bandi", data={}, content_type="multipart/form-data")
    assert no_file.status_code == 422 and "Scegliere il file" in no_file.text
    assert editions() == count
    assert db.session.scalar(select(func.count(AuditEvent.id))) == events
    db.session.refresh(edition)
    assert edition.budget_cap_cents == 8_000_000


def test_a_file_saved_with_a_byte_order_mark_loads(app):
    # Windows' Notepad starts a UTF-8 file with one.
    admin, browser = admin_browser(app)
    assert upload(browser, b"\xef\xbb\xbf" + MINIMAL.encode()).status_code == 302
    assert db.session.scalar(select(Edition.code)) == "cdq-test"


def test_the_api_loads_a_new_call_then_writes_it_again(app, client):
    admin, _ = admin_browser(app)
    bearer = token_for(client, admin.email)
    created = client.post(
        "/api/v1/editions", json={"toml": MINIMAL, "name": "x.toml"}, headers=bearer
    )
    assert created.status_code == 201 and created.get_json()["code"] == "cdq-test"
    bigger = MINIMAL.replace('budget_cap = "80000.00"', 'budget_cap = "90000.00"')
    again = client.post("/api/v1/editions", json={"toml": bigger}, headers=bearer)
    assert again.status_code == 200 and again.get_json()["budget_cap"] == "90000.00"
    bad = client.post(
        "/api/v1/editions", json={"toml": bigger.replace("[rules]", "[regole]")}, headers=bearer
    )
    assert bad.status_code == 422 and "regole" in bad.get_json()["errors"]
    assert client.post("/api/v1/editions", json={"toml": 3}, headers=bearer).status_code == 422
    deep = client.post(
        "/api/v1/editions", json={"toml": "a=" + "[" * 5000 + "]" * 5000}, headers=bearer
    )
    assert deep.status_code == 422 and "annidate" in str(deep.get_json()["errors"])


def test_the_chain_is_checked_and_a_change_is_found(app, client):
    admin, browser = admin_browser(app)
    upload(browser, MINIMAL.encode())
    assert "data-chain" not in browser.get("/amministrazione/registro").text
    whole = browser.get("/amministrazione/registro?verifica=1")
    assert 'data-chain="whole"' in whole.text
    bearer = token_for(client, admin.email)
    checked = client.get("/api/v1/audit", headers=bearer).get_json()
    assert checked["whole"] is True and checked["events"] >= 1 and checked["problem"] == ""

    first = db.session.scalar(select(func.min(AuditEvent.id)))
    db.session.execute(update(AuditEvent).where(AuditEvent.id == first).values(reason="altro"))
    db.session.commit()
    broken = browser.get("/amministrazione/registro?verifica=1")
    assert 'data-chain="broken"' in broken.text and f"n. {first} " in broken.text
    checked = client.get("/api/v1/audit", headers=bearer).get_json()
    assert checked["whole"] is False and checked["first_bad_event"] == first
    assert audit.verify() is not None
