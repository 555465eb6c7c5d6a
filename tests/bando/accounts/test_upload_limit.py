"""`bando.core.ratelimit.limited("uploads")`: a shared limit per user on storing
attachments (the API's upload here; the page's upload view uses the same decorator)."""

import io

from bando.applications.operations import create_draft
from bando.core.extensions import db
from tests.bando.applications.data import pdf_bytes, proposal, token_for
from tests.factories import create_edition, create_user


def upload(client, headers, application_id, kind="statuto"):
    return client.post(
        f"/api/v1/applications/{application_id}/attachments",
        headers=headers,
        data={"kind": kind, "file": (io.BytesIO(pdf_bytes(kind)), f"{kind}.pdf")},
        content_type="multipart/form-data",
    )


def test_uploads_are_limited_per_user(app, client):
    app.config["RATELIMITS"] = {"uploads": "3 per hour"}
    edition = create_edition("cdq-limiti")
    owner, other = create_user("applicant"), create_user("applicant")
    drafts = [create_draft(user, proposal(edition)) for user in (owner, other)]
    db.session.commit()
    headers = token_for(client, owner.email)
    statuses = [upload(client, headers, drafts[0].id).status_code for _ in range(3)]
    assert statuses == [201, 201, 201]
    refused = upload(client, headers, drafts[0].id)
    assert refused.status_code == 429
    assert refused.get_json()["code"] == "too_many_attempts"
    assert 1 <= int(refused.headers["Retry-After"]) <= 3601  # the hour, to the second
    # Another user has a budget of their own; a request without a token is not counted.
    assert upload(client, token_for(client, other.email), drafts[1].id).status_code == 201
    assert upload(client, {}, drafts[1].id).status_code == 401
    document = client.get("/api/v1/openapi.json").get_json()
    responses = document["paths"]["/applications/{application_id}/attachments"]["post"]
    assert "429" in responses["responses"]
