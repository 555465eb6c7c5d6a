"""The administrator loads a call from its TOML file, on the page or through the API (a
bad file changes nothing and says every problem by key), and checks the audit chain."""

import io
import re
from datetime import UTC, datetime

from sqlalchemy import func, select, update

from bando.calls.models import Edition
from bando.core import audit
from bando.core.extensions import db
from bando.core.models import AuditEvent
from tests.bando.admin.test_accounts import admin_browser
from tests.bando.applications.data import token_for
from tests.bando.calls.test_loading import MINIMAL
from tests.factories import create_user


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
        # The reader would take a minute over it (time grows with the square of the parts).
        (b"[x]\n" + b"a." * 60_000 + b"b = 1", "riga 2: una chiave con più di 32 parti"),
        (b"[x]\n" + b'"a" . ' * 20_000 + b"b = 1", "riga 2: una chiave con più di 32 parti"),
        # A quoted part with an escaped quote is one part too.
        (b"[x]\n" + (b"a." * 30 + b'"\\"".') * 600 + b"b = 1", "riga 2: una chiave"),
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


def _event(admin, at, **fields):
    event = audit.append(actor=admin, at=at, **fields)
    db.session.commit()
    return event


def ranked_call(app):
    """An administrator signed in, a call loaded from its file, and its ranking approved at
    23:30 on 15 April in Rome (21:30 UTC): (admin, browser, the ranking's event)."""
    admin, browser = admin_browser(app)
    upload(browser, MINIMAL.encode(), "cdq-test.toml")
    edition = db.session.scalar(select(Edition).where(Edition.code == "cdq-test"))
    ranked = _event(
        admin,
        datetime(2026, 4, 15, 21, 30, tzinfo=UTC),
        subject="edition",
        trigger="rank",
        edition_id=edition.id,
        from_state="closed",
        to_state="ranked",
    )
    return admin, browser, ranked


def test_the_register_lists_the_trail_newest_first_and_filters_it(app, client):
    admin, browser, ranked = ranked_call(app)
    # 00:30 on the 16th in Rome: the 15th in UTC too.
    deactivated = _event(
        None,
        datetime(2026, 4, 15, 22, 30, tzinfo=UTC),
        subject="user",
        trigger="deactivate_user",
        payload={"user": "volontaria@example.it", "role": "applicant"},
        reason="ha lasciato l'associazione",
    )
    page = browser.get("/amministrazione/registro")
    assert page.status_code == 200
    ids = [int(i) for i in re.findall(r'data-event="(\d+)"', page.text)]
    assert ids == sorted(ids, reverse=True) and ids[:2] == [deactivated.id, ranked.id]
    row = page.text[page.text.index(f'data-event="{ranked.id}"') :].split("</tr>")[0]
    assert "Approvazione della graduatoria" in row and "chiuso → graduatoria approvata" in row
    assert "cdq-test" in row and admin.email in row and "15/04/2026" in row
    row = page.text[page.text.index(f'data-event="{deactivated.id}"') :].split("</tr>")[0]
    assert "Account disattivato" in row and "volontaria@example.it" in row
    assert "dalla console" in row and "ha lasciato l&#39;associazione" in row
    assert "16/04/2026" in row  # the day in Rome

    def listed(query: str) -> list[int]:
        answer = browser.get(f"/amministrazione/registro?{query}")
        assert answer.status_code == 200
        return [int(i) for i in re.findall(r'data-event="(\d+)"', answer.text)]

    assert listed("oggetto=user") == [deactivated.id]
    assert deactivated.id not in listed("bando=cdq-test") and ranked.id in listed("bando=cdq-test")
    assert listed("dal=2026-04-16&al=2026-04-16") == [deactivated.id]
    assert listed("dal=2026-04-15&al=2026-04-15") == [ranked.id]
    assert listed("q=VOLONTARIA") == [deactivated.id]
    assert listed(f"q={admin.email}&oggetto=edition")[-1] < ranked.id  # the load, by the admin
    # What is none of the choices is left out; nothing matching says so.
    everything = listed("")
    assert listed("oggetto=nulla&bando=nessuno&dal=ieri&q=%00") == everything
    assert listed("dal=0001-01-01&al=9999-12-31") == everything  # beyond any day's bounds
    assert (
        "Nessuna operazione corrisponde ai filtri."
        in browser.get("/amministrazione/registro?q=nessuno-cosi").text
    )
    english = browser.get("/amministrazione/registro?lang=en&oggetto=edition").text
    assert "Approval of the ranking" in english and "closed → ranking approved" in english


def test_the_register_is_read_a_page_at_a_time(app):
    admin, browser = admin_browser(app)
    first = None
    for n in range(55):
        event = audit.append(
            actor=admin,
            subject="user",
            trigger="create_user",
            payload={"user": f"persona{n}@example.it"},
        )
        first = first or event.id
    db.session.commit()
    one = browser.get("/amministrazione/registro?oggetto=user")
    two = browser.get("/amministrazione/registro?oggetto=user&pagina=2")
    assert "55 operazioni" in one.text and "pagina 1 di 2" in one.text
    assert len(re.findall(r'data-event="', one.text)) == 50
    assert re.findall(r'data-event="(\d+)"', two.text)[-1] == str(first)
    assert 'href="/amministrazione/registro?pagina=2&amp;oggetto=user"' in one.text


def test_the_api_lists_the_trail_to_administrators_only(app, client):
    admin, _, ranked = ranked_call(app)
    bearer = token_for(client, admin.email)
    answer = client.get(
        "/api/v1/audit/events?edition=cdq-test&since=2026-04-15&until=2026-04-15", headers=bearer
    )
    assert answer.status_code == 200, answer.text
    body = answer.get_json()
    assert body["total"] == 1 and body["limit"] == 50 and body["offset"] == 0
    (event,) = body["events"]
    assert (event["id"], event["trigger"], event["subject"]) == (ranked.id, "rank", "edition")
    assert (event["edition"], event["from"], event["to"]) == ("cdq-test", "closed", "ranked")
    assert event["actor"] == admin.email and event["hash"] == ranked.hash
    assert event["application_id"] is None and event["protocol"] is None
    everything = client.get("/api/v1/audit/events?limit=1", headers=bearer).get_json()
    assert everything["total"] >= 2 and len(everything["events"]) == 1
    assert everything["events"][0]["id"] == ranked.id  # newest first
    for query, status in (
        ("edition=nessuno", 404),
        ("subject=nulla", 422),
        ("since=ieri", 422),
        ("since=0001-01-01", 422),
        ("until=9999-12-31", 422),
        ("limit=0", 422),
        ("q=a%0Ab", 422),
    ):
        assert client.get(f"/api/v1/audit/events?{query}", headers=bearer).status_code == status
    officer = create_user("officer", "rup@example.it")
    db.session.commit()
    other = token_for(client, officer.email)
    assert client.get("/api/v1/audit/events", headers=other).status_code == 403
    assert client.get("/api/v1/audit/events").status_code == 401
