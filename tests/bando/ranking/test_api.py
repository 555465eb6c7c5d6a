"""The ranking through the API: the officer's preview, a tie settled by a recorded draw,
approval (closed → ranked), the public's read and its files read back."""

import csv
import io

from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from bando.calls.models import Edition
from bando.core import audit
from bando.core.extensions import db
from bando.ranking.models import RankingEntry
from tests.evaluation_factories import committee_world, scores, token


def score_all(client, edition, members, applications, points_by_application):
    for member in members:
        headers = token(client, member)
        client.post(
            f"/api/v1/editions/{edition.code}/conflict-declaration", headers=headers, json={}
        )
        for application, points in zip(applications, points_by_application, strict=True):
            response = client.post(
                f"/api/v1/applications/{application.id}/reviews",
                headers=headers,
                json={"scores": scores(edition, *points), "comment": "motivazione"},
            )
            assert response.status_code == 200, response.get_json()


def test_preview_draw_approval_and_the_public_ranking(app, client):
    # coherence 40, network 30, sustainability 30; threshold 60; ties broken by protocol
    # only if the call says so: here by coherence, then nothing.
    edition, officer, members, (a, b, c, d) = committee_world(tie_break=["criterion:coherence"])
    officer_headers = token(client, officer)
    path = f"/api/v1/editions/{edition.code}/ranking"
    # Nothing public, and no preview while proposals wait for their scores.
    assert client.get(path).status_code == 404
    score_all(
        client,
        edition,
        members,
        [a, b, c, d],
        [(35, 25, 20), (30, 25, 25), (30, 25, 25), (20, 10, 15)],
    )
    # a, b and c all total 80: a first by coherence (35); b and c tie on everything.
    preview = client.get(path, headers=officer_headers)
    assert preview.status_code == 409 and preview.get_json()["code"] == "tie_needs_draw"
    assert set(preview.get_json()["errors"]["draw"][0].split(", ")) == {str(b.id), str(c.id)}
    refused = client.post(path, headers=officer_headers)
    assert refused.status_code == 409 and refused.get_json()["code"] == "tie_needs_draw"
    drawn = client.post(
        f"/api/v1/editions/{edition.code}/draws",
        headers=officer_headers,
        json={"order": [c.id, b.id], "witnesses": "la commissione al completo"},
    )
    assert drawn.status_code == 201, drawn.get_json()
    preview = client.get(path, headers=officer_headers).get_json()
    assert preview["approved"] is False
    assert [e["application_id"] for e in preview["entries"]] == [a.id, c.id, b.id, d.id]
    assert [e["decided_by"] for e in preview["entries"]][:3] == [
        None,
        "criterion:coherence",
        "draw",
    ]
    assert client.get(path).status_code == 404  # still not public
    approved = client.post(path, headers=officer_headers)
    assert approved.status_code == 201, approved.get_json()
    db.session.expire_all()
    assert db.session.scalar(select(Edition.state).where(Edition.id == edition.id)) == "ranked"
    public = client.get(path).get_json()
    assert public["approved"] is True
    assert [(e["position"], e["total"], e["fundable"]) for e in public["entries"]] == [
        (1, "80.00", True),
        (2, "80.00", True),
        (3, "80.00", True),
        (4, "45.00", False),
    ]
    assert public["entries"][0]["points"] == {
        "coherence": "35.00",
        "network": "25.00",
        "sustainability": "20.00",
    }
    # Approving twice is refused by the edition's machine; nothing is written again.
    again = client.post(path, headers=officer_headers)
    assert again.status_code == 409 and again.get_json()["code"] == "invalid_state"
    assert db.session.query(RankingEntry).count() == 4
    # The files, read back.
    rows = list(csv.reader(io.StringIO(client.get(f"{path}.csv").get_data(as_text=True))))
    assert rows[0][0] == "posizione" and [r[2] for r in rows[1:]] == [
        a.protocol,
        c.protocol,
        b.protocol,
        d.protocol,
    ]
    sheet = load_workbook(io.BytesIO(client.get(f"{path}.xlsx").data)).active
    assert [row[2].value for row in sheet.iter_rows(min_row=2)] == [
        a.protocol,
        c.protocol,
        b.protocol,
        d.protocol,
    ]
    # A member made without a name (`bando users create` without --name) is numbered in
    # the public minute, never shown by their e-mail address.
    nameless = members[-1]
    nameless.full_name = ""
    db.session.commit()
    minute = client.get(f"/api/v1/editions/{edition.code}/verbale.pdf")
    assert minute.status_code == 200 and minute.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(minute.data)).pages)
    for application in (a, b, c, d):
        assert application.protocol in text
    # Points as an Italian reads them, and the aggregation in words.
    assert "80,00" in text and "45,00" in text and "80.00" not in text
    assert "la media dei punteggi" in text
    for member in members[:-1]:
        assert member.full_name in text
    assert f"Componente n. {len(members)}" in text and "@" not in text
    assert "dichiarazione di assenza di conflitti" in text
    assert audit.verify() is None


def test_ranking_is_refused_while_eligible_proposals_wait(app, client):
    edition, officer, members, (a, b) = committee_world(proposals=2)
    score_all(client, edition, members, [a], [(35, 25, 20)])
    response = client.post(
        f"/api/v1/editions/{edition.code}/ranking", headers=token(client, officer)
    )
    assert response.status_code == 409 and response.get_json()["code"] == "scoring_incomplete"


def test_ranking_is_refused_while_a_proposal_is_still_being_checked(app, client):
    # A proposal declared admissible after the ranking would be in no ranking at all.
    edition, officer, members, (a, b) = committee_world(proposals=2)
    b.state = "submitted"
    db.session.commit()
    score_all(client, edition, members, [a], [(35, 25, 20)])
    path = f"/api/v1/editions/{edition.code}/ranking"
    headers = token(client, officer)
    response = client.post(path, headers=headers)
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["code"] == "admissibility_open"
    db.session.expire_all()
    assert db.session.scalar(select(Edition.state).where(Edition.id == edition.id)) == "closed"
    # The check concluded (here: not admissible), the call is ranked.
    db.session.get(type(b), b.id).state = "ineligible"
    db.session.commit()
    assert client.post(path, headers=headers).status_code == 201
