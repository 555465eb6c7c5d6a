"""The evaluator's pages, without JavaScript: the declaration before any proposal, never a
linked organisation's proposal nor one recused from, the others' scores only after one's
own, the refusals next to their fields, and the third review moving the proposal on."""

import re

from sqlalchemy import select

from bando.applications.models import Application
from bando.core import audit
from bando.core.extensions import db
from bando.core.models import AuditEvent
from bando.evaluation.models import ConflictDeclaration, Review
from tests.evaluation_factories import committee_world
from tests.factories import PASSWORD, create_organisation, create_user


def sign_in(client, user):
    client.post("/esci")
    response = client.post("/accedi", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302


def declare(client, edition, *tax_codes, other=""):
    response = client.post(
        f"/valutazione/bandi/{edition.code}/dichiarazione",
        data={"linked": list(tax_codes), "other_tax_codes": other, "sign": "1"},
    )
    assert response.status_code == 302, response.text
    return response


def page(application, tail=""):
    return f"/valutazione/domande/{application.id}{tail}"


def form(edition, *points, comment="", **buttons):
    data = {f"score-{c.code}": str(p) for c, p in zip(edition.criteria, points, strict=True)}
    return {**data, "comment": comment, **buttons}


def error_for(html, field):
    found = re.search(rf'data-error-for="{field}">([^<]*)<', html)
    return found.group(1) if found else None


def test_nothing_of_the_proposals_before_the_declaration(app, client):
    edition, _, (member, *_), (a, b, *_) = committee_world()
    sign_in(client, member)
    dashboard = client.get("/valutazione")
    assert dashboard.status_code == 200
    assert edition.title in dashboard.text
    assert 'data-declaration="missing"' in dashboard.text
    assert a.title not in dashboard.text
    # The list sends to the declaration; a proposal's pages do not exist for them yet.
    listing = client.get(f"/valutazione/bandi/{edition.code}")
    assert listing.status_code == 302
    assert listing.headers["Location"].endswith(f"/valutazione/bandi/{edition.code}/dichiarazione")
    for tail in ("", "/astensione", "/allegati/statuto"):
        assert client.get(page(a, tail)).status_code == 404, tail
    assert client.post(page(a), data=form(edition, 30, 20, 20, save="1")).status_code == 404
    assert db.session.scalar(select(Review)) is None

    # The declaration page: the text, the organisations that applied (names, tax codes).
    declaration = client.get(f"/valutazione/bandi/{edition.code}/dichiarazione")
    assert declaration.status_code == 200
    assert "art. 6-bis della L. 241/1990" in declaration.text
    assert b.organisation.name in declaration.text and b.organisation.tax_code in declaration.text
    assert a.title not in declaration.text and a.summary not in declaration.text

    # A tax code of no registered organisation: refused next to its field, nothing signed.
    refused = client.post(
        f"/valutazione/bandi/{edition.code}/dichiarazione",
        data={"other_tax_codes": "00000000000", "sign": "1"},
    )
    assert refused.status_code == 422
    assert "nessun ente registrato con codice fiscale 00000000000" in error_for(
        refused.text, "other_tax_codes"
    )
    assert db.session.scalar(select(ConflictDeclaration)) is None

    signed = declare(client, edition, b.organisation.tax_code)
    assert signed.headers["Location"].endswith(f"/valutazione/bandi/{edition.code}")
    declaration = db.session.scalar(select(ConflictDeclaration))
    assert declaration.signed_at is not None
    assert [o.id for o in declaration.linked_organisations] == [b.organisation_id]
    assert b.organisation.name in declaration.text
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.trigger == "sign_declaration"))
    assert event.actor_id == member.id

    # Now the list: every proposal but the linked organisation's.
    listing = client.get(f"/valutazione/bandi/{edition.code}")
    assert listing.status_code == 200
    assert f'data-application="{a.id}"' in listing.text
    assert f'data-application="{b.id}"' not in listing.text and b.protocol not in listing.text
    for tail in ("", "/astensione", "/allegati/statuto"):
        assert client.get(page(b, tail)).status_code == 404, tail
    opened = client.get(page(a))
    assert opened.status_code == 200
    assert a.summary in opened.text
    assert "meno della metà" in opened.text
    download = client.get(page(a, "/allegati/statuto"))
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert "attachment" in download.headers["Content-Disposition"]
    # Signed once: the page shows what was signed, and when.
    again = client.get(f"/valutazione/bandi/{edition.code}/dichiarazione")
    assert "data-signed" in again.text and b.organisation.tax_code in again.text
    dashboard = client.get("/valutazione")
    assert 'data-declaration="signed"' in dashboard.text
    assert 'data-count="visible">3<' in dashboard.text


def test_someone_off_the_committee_sees_nothing(app, client):
    edition, _, _, (a, *_) = committee_world()
    outsider = create_user("evaluator")
    db.session.commit()
    sign_in(client, outsider)
    assert edition.title not in client.get("/valutazione").text
    assert client.get(f"/valutazione/bandi/{edition.code}").status_code == 404
    assert client.get(f"/valutazione/bandi/{edition.code}/dichiarazione").status_code == 404
    assert client.post(f"/valutazione/bandi/{edition.code}/dichiarazione").status_code == 404
    assert client.get(page(a)).status_code == 404


def test_a_linked_organisation_typed_by_tax_code_is_never_shown(app, client):
    edition, _, (member, *_), (a, *_) = committee_world()
    sign_in(client, member)
    declare(client, edition, other=f" {a.organisation.tax_code.lower()} ")
    assert client.get(page(a)).status_code == 404
    assert a.protocol not in client.get(f"/valutazione/bandi/{edition.code}").text


def test_recusing_is_confirmed_needs_a_reason_and_hides_the_proposal(app, client):
    edition, _, (member, *_), (a, *_) = committee_world()
    sign_in(client, member)
    declare(client, edition)
    confirm = client.get(page(a, "/astensione"))
    assert confirm.status_code == 200 and "definitiva" in confirm.text
    missing = client.post(page(a, "/astensione"), data={"reason": "  ", "confirm": "1"})
    assert missing.status_code == 422
    assert error_for(missing.text, "reason") == "indicare il motivo"
    assert db.session.scalar(select(Review)) is None
    done = client.post(
        page(a, "/astensione"), data={"reason": "Sono socio dell'ente.", "confirm": "1"}
    )
    assert done.status_code == 302
    review = db.session.scalar(select(Review))
    assert review.conflict_of_interest and review.comment == "Sono socio dell'ente."
    for tail in ("", "/astensione", "/allegati/statuto"):
        assert client.get(page(a, tail)).status_code == 404, tail
    assert client.post(page(a), data=form(edition, 30, 20, 20, save="1")).status_code == 404
    listing = client.get(f"/valutazione/bandi/{edition.code}")
    assert f'data-application="{a.id}" data-status' not in listing.text
    assert "data-recused" in listing.text and a.protocol in listing.text
    assert f'href="{page(a)}"' not in listing.text


def test_a_refused_review_shows_the_messages_next_to_their_fields(app, client):
    edition, _, (member, *_), (a, *_) = committee_world()
    sign_in(client, member)
    declare(client, edition)
    # Sending: a missing score, one above its maximum, one that is not a number.
    response = client.post(
        page(a),
        data={
            "score-coherence": "41",
            "score-network": "venti",
            "score-sustainability": "",
            "comment": "",
            "submit": "1",
        },
    )
    assert response.status_code == 422
    assert error_for(response.text, "score-coherence") == "il punteggio deve essere tra 0 e 40"
    assert error_for(response.text, "score-network") == "il punteggio deve essere un numero intero"
    assert error_for(response.text, "score-sustainability") == "punteggio mancante"
    assert 'value="venti"' in response.text  # what was typed stays in the form
    assert "data-error-summary" in response.text
    # A score under half its maximum needs a comment.
    low = client.post(page(a), data=form(edition, 35, 10, 20, submit="1"))
    assert low.status_code == 422
    assert "serve un commento" in error_for(low.text, "comment")
    assert "Network" in error_for(low.text, "comment")
    # A draft refuses only what is out of range, and saves nothing then.
    draft = client.post(page(a), data={"score-coherence": "-1", "comment": "", "save": "1"})
    assert draft.status_code == 422
    assert error_for(draft.text, "score-coherence") == "il punteggio deve essere tra 0 e 40"
    assert "Bozza NON salvata" in draft.text
    too_long = client.post(page(a), data=form(edition, 35, 20, 20, comment="x" * 5001, save="1"))
    assert too_long.status_code == 422 and error_for(too_long.text, "comment")
    assert db.session.scalar(select(Review)) is None


def test_draft_then_confirmed_send_and_the_third_review_scores_the_proposal(app, client):
    edition, _, members, (a, *_) = committee_world()
    for member in members:
        sign_in(client, member)
        declare(client, edition)

    # The first evaluator keeps a draft, partial, then sends it after the confirmation.
    first = members[0]
    sign_in(client, first)
    saved = client.post(page(a), data={"score-coherence": "35", "comment": "", "save": "1"})
    assert saved.status_code == 302
    review = db.session.scalar(select(Review))
    assert review.submitted_at is None and [s.points for s in review.scores] == [35]
    again = client.get(page(a))
    assert 'value="35"' in again.text and "data-draft" in again.text
    listing = client.get(f"/valutazione/bandi/{edition.code}")
    assert f'data-application="{a.id}" data-status="draft"' in listing.text

    ask = client.post(page(a), data=form(edition, 35, 25, 20, comment="Buona rete.", submit="1"))
    assert ask.status_code == 200
    assert "non si può più modificare" in ask.text and "data-total>80 / 100" in ask.text
    db.session.refresh(review)
    assert review.submitted_at is None  # not yet: the confirmation sends
    # Going back keeps the values and sends nothing.
    back = client.post(page(a), data=form(edition, 35, 25, 20, comment="Buona rete.", back="1"))
    assert back.status_code == 200 and 'value="25"' in back.text
    sent = client.post(page(a), data=form(edition, 35, 25, 20, comment="Buona rete.", confirm="1"))
    assert sent.status_code == 302
    db.session.refresh(review)
    assert review.submitted_at is not None and review.comment == "Buona rete."
    mine = client.get(page(a))
    assert "data-others" in mine.text and 'name="score-coherence"' not in mine.text
    assert 'id="my-scores"' in mine.text
    # Sent means final: the page offers no form, and a post changes nothing.
    late = client.post(page(a), data=form(edition, 10, 10, 10, comment="x", confirm="1"))
    assert late.status_code == 302
    db.session.refresh(review)
    assert sum(s.points for s in review.scores) == 80

    # The second evaluator does not see the first one's scores until sending their own.
    second = members[1]
    sign_in(client, second)
    before = client.get(page(a))
    assert "Buona rete." not in before.text and "data-others" not in before.text
    assert first.full_name not in before.text
    client.post(page(a), data=form(edition, 30, 20, 20, comment="", confirm="1"))
    after = client.get(page(a))
    assert "Buona rete." in after.text and first.full_name in after.text
    assert "data-total>80 / 100" in after.text and "data-total>70 / 100" in after.text
    db.session.expire_all()
    assert db.session.get(Application, a.id).state == "eligible"

    # The third review moves the proposal to scored, by the system.
    third = members[2]
    sign_in(client, third)
    client.post(page(a), data=form(edition, 20, 20, 20, comment="", save="1"))
    assert "data-others" not in client.get(page(a)).text  # a draft is not one's own review
    done = client.post(page(a), data=form(edition, 20, 20, 20, comment="", confirm="1"))
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Application, a.id).state == "scored"
    moved = db.session.scalar(select(AuditEvent).where(AuditEvent.trigger == "complete_scoring"))
    assert (moved.application_id, moved.actor_id) == (a.id, None)
    page_after = client.get(page(a))
    assert first.full_name in page_after.text and second.full_name in page_after.text
    dashboard = client.get("/valutazione")
    assert 'data-count="submitted">1<' in dashboard.text
    assert audit.verify() is None


def test_the_declaration_checklist_lists_only_organisations_that_applied(app, client):
    edition, _, (member, *_), _ = committee_world(proposals=1)
    stranger = create_organisation(name="Ente Mai Candidato")
    db.session.commit()
    sign_in(client, member)
    text = client.get(f"/valutazione/bandi/{edition.code}/dichiarazione").text
    assert "Ente Mai Candidato" not in text
    # Still, a registered organisation may be named by its tax code.
    declare(client, edition, other=stranger.tax_code)
    declaration = db.session.scalar(select(ConflictDeclaration))
    assert [o.name for o in declaration.linked_organisations] == ["Ente Mai Candidato"]


def test_bad_input_on_every_evaluator_page_is_never_a_500(app, client):
    from tests.bando.test_pages_never_500 import form_bodies

    edition, _, (member, other), (a, b) = committee_world(proposals=2, evaluators=2)
    sign_in(client, other)
    declare(client, edition)
    sign_in(client, member)
    nul = "a\x00b"
    # Before and after the declaration, with junk and with control characters.
    for declared in (False, True):
        if declared:
            declare(client, edition)
        extra = [
            {"other_tax_codes": nul, "sign": "1"},
            {"linked": [nul, "x" * 300], "sign": "1"},
            {"score-coherence": "1e30", "comment": nul, "save": "1"},
            {**form(edition, 40, 30, 30, comment=nul), "submit": "1"},
            {**form(edition, 40, 30, 30, comment=nul), "confirm": "1"},
            {"reason": nul, "confirm": "1"},
        ]
        for url in (
            "/valutazione",
            f"/valutazione/bandi/{edition.code}",
            f"/valutazione/bandi/{edition.code}/dichiarazione",
            f"/valutazione/bandi/{'x' * 500}/dichiarazione",
            page(b),
            page(b, "/astensione"),
            page(b, "/allegati/nessuno"),
            "/valutazione/domande/99999999999/astensione",
        ):
            assert client.get(url).status_code < 500, url
            for body in [*form_bodies(), *extra]:
                response = client.post(url, data=body, content_type="multipart/form-data")
                assert response.status_code < 500, (url, body)
    refused = client.post(page(b), data={**form(edition, 40, 30, 30, comment=nul), "save": "1"})
    assert refused.status_code == 422 and "U+0000" in error_for(refused.text, "comment")
    assert not db.session.scalars(select(Review).where(Review.evaluator_id == member.id)).all()


def test_the_evaluator_pages_read_in_english(app, client):
    edition, _, (member, *_), (a, *_) = committee_world()
    sign_in(client, member)
    assert "Declaration to sign" in client.get("/valutazione?lang=en").text
    declare(client, edition)
    html = client.get(page(a)).text
    assert "Submit the review" in html and "Save draft" in html
    assert "From 0 to 40 points; under 20 points a comment is required." in html
    assert "I recuse myself" in html
