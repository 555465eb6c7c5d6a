"""The applicant's API: register, draft, attach, submit, receipt — and what is refused."""

import io
from datetime import datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, inspect, select

from bando.accounts.models import Organisation, User
from bando.applications.models import Application, Attachment
from bando.core.extensions import db
from bando.core.models import AuditEvent
from bando.core.timeutil import ROME
from tests.bando.accounts.helpers import confirm_address
from tests.bando.applications.data import pdf_bytes, proposal, registration, token_for
from tests.factories import create_edition, create_user


@pytest.fixture
def edition(app):
    edition = create_edition("cdq-test", max_applications_per_organisation=2)
    db.session.commit()
    return edition


def register(client, **organisation):
    body = registration(**organisation)
    response = client.post("/api/v1/accounts", json=body)
    assert response.status_code == 202, response.get_json()
    confirm_address(client, body["email"])
    return body, token_for(client, body["email"])


def attach_all(client, headers, application_id, edition):
    for kind in edition.required_attachments:
        response = client.post(
            f"/api/v1/applications/{application_id}/attachments",
            headers=headers,
            data={"kind": kind, "file": (io.BytesIO(pdf_bytes(kind)), f"{kind}.pdf")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 201, response.get_json()


def test_register_write_attach_submit_and_read_the_receipt(client, edition):
    body, headers = register(client)
    org = db.session.scalar(select(Organisation))
    assert org.tax_code == body["organisation"]["tax_code"]
    assert org.users[0].role == "applicant"

    # A draft, saved in two steps.
    first = proposal(edition)
    budget = first.pop("budget")
    response = client.post(
        "/api/v1/applications",
        headers=headers,
        json={
            k: v for k, v in first.items() if k not in ("requested_amount", "cofinancing_amount")
        },
    )
    assert response.status_code == 201, response.get_json()
    draft = response.get_json()
    assert draft["state"] == "draft" and draft["protocol"] is None
    response = client.patch(
        f"/api/v1/applications/{draft['id']}",
        headers=headers,
        json={"budget": budget, "requested_amount": "16000.00", "cofinancing_amount": "4000.00"},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["total_cost"] == "20000.00"

    # Submitting before the documents are there lists what is missing, in one go.
    response = client.post(f"/api/v1/applications/{draft['id']}/submit", headers=headers)
    assert response.status_code == 409
    missing = response.get_json()["errors"]["submission"]
    assert len(missing) == 3
    assert any("Statuto" in m for m in missing)
    assert any("Piano economico" in m for m in missing)

    attach_all(client, headers, draft["id"], edition)
    listed = client.get(f"/api/v1/applications/{draft['id']}/attachments", headers=headers)
    assert {a["kind"] for a in listed.get_json()["attachments"]} == set(
        edition.required_attachments
    )

    response = client.post(f"/api/v1/applications/{draft['id']}/submit", headers=headers)
    assert response.status_code == 200, response.get_json()
    sent = response.get_json()
    assert sent["state"] == "submitted"
    assert sent["protocol"] == "CDQTEST/0001"
    assert sent["submitted_at"]

    response = client.get(f"/api/v1/applications/{draft['id']}/receipt.pdf", headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert "CDQTEST/0001" in text
    assert "€ 16.000,00" in text  # requested
    assert "€ 4.000,00" in text  # co-financing
    assert "€ 20.000,00" in text  # total cost
    assert "€ 12.000,00" in text  # a budget line
    assert body["organisation"]["name"] in text


def test_the_draft_reads_back_as_written(client, edition):
    _, headers = register(client)
    data = proposal(edition)
    created = client.post("/api/v1/applications", headers=headers, json=data).get_json()
    read = client.get(f"/api/v1/applications/{created['id']}", headers=headers).get_json()
    for key in ("neighbourhood", "title", "summary", "guidelines", "start_date", "end_date"):
        assert read[key] == data[key]
    assert read["budget"] == data["budget"]
    assert read["requested_amount"] == "16000.00"
    assert read["partners"][0]["name"] == "Comitato inquilini"


def test_an_attachment_is_replaced_not_duplicated(client, edition):
    _, headers = register(client)
    created = client.post("/api/v1/applications", headers=headers, json=proposal(edition))
    application_id = created.get_json()["id"]
    for text in ("prima versione", "seconda versione"):
        response = client.post(
            f"/api/v1/applications/{application_id}/attachments",
            headers=headers,
            data={"kind": "statuto", "file": (io.BytesIO(pdf_bytes(text)), "statuto.pdf")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 201
    rows = db.session.scalars(select(Attachment)).all()
    assert len(rows) == 1
    assert rows[0].sha256 == response.get_json()["sha256"]
    assert b"seconda versione" in rows[0].data or rows[0].size == len(pdf_bytes("seconda versione"))


def test_withdraw_a_submitted_application(client, edition):
    _, headers = register(client)
    application_id = client.post(
        "/api/v1/applications", headers=headers, json=proposal(edition)
    ).get_json()["id"]
    attach_all(client, headers, application_id, edition)
    assert (
        client.post(f"/api/v1/applications/{application_id}/submit", headers=headers).status_code
        == 200
    )
    response = client.post(
        f"/api/v1/applications/{application_id}/withdraw",
        headers=headers,
        json={"reason": "il progetto non si farà"},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["state"] == "withdrawn"
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.trigger == "withdraw" and event.reason == "il progetto non si farà"


def test_answering_a_request_for_documents(client, edition):
    from bando.applications.lifecycle import fire

    _, headers = register(client)
    application_id = client.post(
        "/api/v1/applications", headers=headers, json=proposal(edition)
    ).get_json()["id"]
    attach_all(client, headers, application_id, edition)
    client.post(f"/api/v1/applications/{application_id}/submit", headers=headers)
    officer = create_user("officer")
    application = db.session.get(Application, application_id)
    fire(application, "request_integration", officer, "Statuto non firmato")
    db.session.commit()

    # The documents can be replaced now, the proposal itself cannot.
    response = client.patch(
        f"/api/v1/applications/{application_id}", headers=headers, json={"title": "Altro"}
    )
    assert response.status_code == 409
    response = client.post(
        f"/api/v1/applications/{application_id}/attachments",
        headers=headers,
        data={"kind": "statuto", "file": (io.BytesIO(pdf_bytes("firmato")), "statuto.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201
    response = client.post(
        f"/api/v1/applications/{application_id}/integrate",
        headers=headers,
        json={"reason": "statuto firmato allegato"},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["state"] == "submitted"


def test_staff_read_but_do_not_act_for_the_organisation(client, edition):
    _, headers = register(client)
    application_id = client.post(
        "/api/v1/applications", headers=headers, json=proposal(edition)
    ).get_json()["id"]
    officer = create_user("officer")
    db.session.commit()
    staff = token_for(client, officer.email)
    # A draft is the organisation's own until it is submitted.
    assert client.get(f"/api/v1/applications/{application_id}", headers=staff).status_code == 404
    attach_all(client, headers, application_id, edition)
    client.post(f"/api/v1/applications/{application_id}/submit", headers=headers)
    assert client.get(f"/api/v1/applications/{application_id}", headers=staff).status_code == 200
    response = client.patch(
        f"/api/v1/applications/{application_id}", headers=staff, json={"title": "x"}
    )
    assert response.status_code == 403
    assert client.post("/api/v1/applications", headers=staff, json={}).status_code == 403


def test_the_organisation_limit_per_edition(client, edition):
    _, headers = register(client)
    for _ in range(2):
        response = client.post("/api/v1/applications", headers=headers, json=proposal(edition))
        assert response.status_code == 201
    response = client.post("/api/v1/applications", headers=headers, json=proposal(edition))
    assert response.status_code == 409
    assert response.get_json()["code"] == "limit_reached"
    assert db.session.scalar(select(func.count(Application.id))) == 2


@pytest.mark.parametrize("code", ["   ", "\t"])
def test_a_blank_edition_code_is_a_field_error(client, edition, code):
    _, headers = register(client)
    response = client.post(
        "/api/v1/applications", headers=headers, json={**proposal(edition), "edition": code}
    )
    assert response.status_code == 422
    assert "edition" in response.get_json()["errors"]
    assert db.session.scalar(select(func.count(Application.id))) == 0


def test_without_a_token(client, edition):
    response = client.post("/api/v1/applications", json=proposal(edition))
    assert response.status_code == 401
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_concurrent_registrations_of_one_organisation_make_one_account(app, postgres_only):
    """Eight people register the same tax code at once: one succeeds, the others get 409."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    body = registration()
    barrier = Barrier(8)

    def attempt(n):
        client = app.test_client()
        barrier.wait()
        response = client.post("/api/v1/accounts", json={**body, "email": f"persona{n}@example.it"})
        return response.status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(attempt, range(8)))
    assert statuses == [202] + [409] * 7
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Organisation.id))) == 1
    assert db.session.scalar(select(func.count(User.id))) == 1


def test_concurrent_drafts_respect_the_limit_per_organisation(app, postgres_only):
    """Six drafts started at once by one organisation of a one-application call: one."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    edition = create_edition("cdq-uno")
    user = create_user("applicant")
    db.session.commit()
    client = app.test_client()
    headers = token_for(client, user.email)
    body = proposal(edition)
    barrier = Barrier(6)

    def attempt(_):
        barrier.wait()
        return app.test_client().post("/api/v1/applications", headers=headers, json=body)

    with ThreadPoolExecutor(6) as pool:
        statuses = sorted(r.status_code for r in pool.map(attempt, range(6)))
    assert statuses == [201] + [409] * 5
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Application.id))) == 1


def test_api_amounts_are_only_the_api_form(client, edition):
    _, headers = register(client)
    draft = client.post("/api/v1/applications", headers=headers, json={"edition": edition.code})
    url = f"/api/v1/applications/{draft.get_json()['id']}"
    # The Italian way ("1,500" is one euro and a half there) is for the pages, not the API.
    # A final newline or another script's digits are not an amount: "9000.5\n" was 9000.05.
    for amount in (
        "1,500",
        "1.500,00",
        "1500.001",
        "-5.00",
        "1e3",
        1500,
        15.5,
        "9000.5\n",
        "100.00\n",
        "\u0661\u0662\u0663.00",
    ):
        response = client.patch(url, headers=headers, json={"requested_amount": amount})
        assert response.status_code == 422, amount
        assert list(response.get_json()["errors"]) == ["requested_amount"], amount
    for amount, back in (("1500", "1500.00"), ("1500.5", "1500.50"), ("0.01", "0.01")):
        response = client.patch(url, headers=headers, json={"requested_amount": amount})
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["requested_amount"] == back


def test_every_time_in_a_response_carries_the_rome_offset(client, edition):
    _, headers = register(client)
    created = client.post("/api/v1/applications", headers=headers, json=proposal(edition))
    application_id = created.get_json()["id"]
    attach_all(client, headers, application_id, edition)
    sent = client.post(f"/api/v1/applications/{application_id}/submit", headers=headers)
    read = client.get(f"/api/v1/applications/{application_id}", headers=headers).get_json()
    events = client.get(f"/api/v1/applications/{application_id}/events", headers=headers)
    times = [
        sent.get_json()["submitted_at"],
        read["submitted_at"],
        *(a["uploaded_at"] for a in read["attachments"]),
        *(e["at"] for e in events.get_json()["events"]),
    ]
    for moment in times:
        parsed = datetime.fromisoformat(moment)
        assert parsed.utcoffset() == parsed.astimezone(ROME).utcoffset() != timedelta(0), moment


def test_a_draft_is_invisible_to_the_staff_everywhere(client, edition):
    _, headers = register(client)
    draft = client.post("/api/v1/applications", headers=headers, json=proposal(edition))
    application_id = draft.get_json()["id"]
    officer = create_user("officer")
    db.session.commit()
    staff = token_for(client, officer.email)
    for path in ("", "/events", "/attachments", "/receipt.pdf"):
        response = client.get(f"/api/v1/applications/{application_id}{path}", headers=staff)
        assert response.status_code == 404, path
    response = client.post(
        f"/api/v1/applications/{application_id}/eligibility",
        headers=staff,
        json={"decision": "eligible"},
    )
    assert response.status_code == 404


def test_listing_documents_does_not_read_the_files(client, edition):
    _, headers = register(client)
    created = client.post("/api/v1/applications", headers=headers, json=proposal(edition))
    application_id = created.get_json()["id"]
    attach_all(client, headers, application_id, edition)
    db.session.expire_all()
    application = db.session.get(Application, application_id)
    rows = application.attachments
    assert rows and all("data" not in inspect(row).dict for row in rows)  # not loaded
    assert rows[0].data.startswith(b"%PDF-")  # loaded when asked for


def test_a_partners_tax_code_is_kept_compact_and_checked(client, edition):
    _, headers = register(client)
    draft = client.post("/api/v1/applications", headers=headers, json={"edition": edition.code})
    url = f"/api/v1/applications/{draft.get_json()['id']}"
    typed = [
        {"name": "Comune", "tax_code": "011 9925 0158"},
        {"name": "Persona", "tax_code": "rssmra85t10a562s "},
        {"name": "Senza", "tax_code": ""},
    ]
    saved = client.patch(url, headers=headers, json={"partners": typed})
    assert saved.status_code == 200, saved.get_json()
    codes = [p["tax_code"] for p in saved.get_json()["partners"]]
    assert codes == ["01199250158", "RSSMRA85T10A562S", None]
    refused = client.patch(
        url, headers=headers, json={"partners": [{"name": "X", "tax_code": "123"}]}
    )
    assert refused.status_code == 422
    assert "11 cifre" in refused.get_json()["errors"]["partners.0.tax_code"][0]
