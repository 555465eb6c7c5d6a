"""Registration tells nobody which addresses have accounts; the address is confirmed by a
mailed link before a proposal can be submitted, and until then no mail but the confirmation
goes to it. The registration page offers only admissible legal forms, marks what is
required, and says why a tax code is wrong."""

import io
import re
import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from bando.accounts.models import Organisation, User
from bando.accounts.operations import CONFIRM_SALT
from bando.applications.notifications import recipients
from bando.core.extensions import db
from bando.core.models import Notification
from tests.bando.accounts.helpers import confirm_address, confirmation_path, confirmation_token
from tests.bando.applications.data import pdf_bytes, proposal, registration, token_for
from tests.factories import PASSWORD, create_edition, create_organisation, create_user
from workflows.organisation import FOR_PROFIT_FORMS, NON_PROFIT_FORMS, tax_code_problem


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def mails_to(address):
    return db.session.scalars(
        select(Notification).where(Notification.to_address == address).order_by(Notification.id)
    ).all()


@pytest.fixture
def edition(app):
    edition = create_edition("cdq-conferma")
    db.session.commit()
    return edition


# --- an address with an account is not told apart ------------------------------------------


@pytest.mark.parametrize("role", ["applicant", "officer", "admin"])
def test_an_address_with_an_account_gets_the_same_answer_as_a_new_one(client, role):
    holder = create_user(role, "esistente@example.it")
    db.session.commit()
    new = client.post("/api/v1/accounts", json=registration())
    taken = client.post(
        "/api/v1/accounts", json={**registration(), "email": "ESISTENTE@example.it"}
    )
    assert new.status_code == taken.status_code == 202
    assert new.get_json() == taken.get_json()
    assert new.get_json()["status"] == "confirmation_sent"
    # Nothing was made for the taken address; its holder is told by e-mail, with no word
    # typed by the stranger in it.
    assert count(Organisation) == (2 if role == "applicant" else 1)
    assert count(User) == 2
    notices = mails_to(holder.email)
    assert [n.subject for n in notices] == ["Tentativo di registrazione con questo indirizzo email"]
    assert "Quartiere Vivo" not in notices[0].body
    assert "/accedi" in notices[0].body


def test_the_registration_page_answers_the_same_for_both(client):
    create_user("finance", "ragioneria@example.it")
    db.session.commit()
    pages = []
    for n, email in ((71, "nuova@example.it"), (72, "ragioneria@example.it")):
        response = client.post("/registrazione", data=page_form(n, email=email))
        assert response.status_code == 302, re.findall(r'data-error-for="[^<]*', response.text)
        pages.append(response.headers["Location"])
    assert pages == ["/registrazione/inviata"] * 2
    page = client.get(pages[0])
    assert "Controllare la casella email" in page.text
    assert "Esci" not in page.text  # nobody is signed in by registering


def test_an_unconfirmed_holder_gets_a_new_link_instead_and_not_too_many(client):
    client.post("/api/v1/accounts", json={**registration(), "email": "lenta@example.it"})
    for _ in range(5):
        response = client.post(
            "/api/v1/accounts", json={**registration(), "email": "lenta@example.it"}
        )
        assert response.status_code == 202
    mails = mails_to("lenta@example.it")
    # The registration's own link, then at most three more in the hour: never the notice
    # (no other mail goes to an unconfirmed address).
    assert len(mails) == 4
    assert all(m.subject.startswith("Conferma dell'indirizzo email") for m in mails)
    assert confirmation_path("lenta@example.it").startswith("/conferma/")


def test_a_duplicate_tax_code_is_still_refused(client):
    body = registration()
    assert client.post("/api/v1/accounts", json=body).status_code == 202
    again = client.post(
        "/api/v1/accounts", json={**registration(), "organisation": body["organisation"]}
    )
    assert again.status_code == 409
    assert "già registrato" in again.get_json()["errors"]["organisation.tax_code"][0]


def test_a_declaration_is_true_or_false_not_a_word(client):
    # "yes" was taken as a declared exemption from the withholding.
    body = registration()
    body["organisation"]["withholding_exempt"] = "yes"
    refused = client.post("/api/v1/accounts", json=body)
    assert refused.status_code == 422
    assert "organisation.withholding_exempt" in refused.get_json()["errors"]
    assert count(Organisation) == 0


# --- confirmation ---------------------------------------------------------------------------


def submit_all(client, headers, edition):
    application_id = client.post(
        "/api/v1/applications", headers=headers, json=proposal(edition)
    ).get_json()["id"]
    for kind in edition.required_attachments:
        response = client.post(
            f"/api/v1/applications/{application_id}/attachments",
            headers=headers,
            data={"kind": kind, "file": (io.BytesIO(pdf_bytes(kind)), f"{kind}.pdf")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 201
    return application_id, client.post(
        f"/api/v1/applications/{application_id}/submit", headers=headers
    )


def test_drafts_only_until_the_address_is_confirmed(client, edition):
    body = registration()
    client.post("/api/v1/accounts", json=body)
    user = db.session.scalar(select(User))
    assert user.email_confirmed_at is None
    assert [n.to_address for n in db.session.scalars(select(Notification))] == [body["email"]]
    headers = token_for(client, body["email"])
    application_id, refused = submit_all(client, headers, edition)
    assert refused.status_code == 409
    assert refused.get_json()["code"] == "email_not_confirmed"
    assert "confermare il proprio indirizzo email" in refused.get_json()["error"]

    confirmed = client.post(
        "/api/v1/accounts/confirmation", json={"token": confirmation_token(body["email"])}
    )
    assert confirmed.status_code == 200
    assert confirmed.get_json() == {"email": body["email"], "email_confirmed": True}
    response = client.post(f"/api/v1/applications/{application_id}/submit", headers=headers)
    assert response.status_code == 200, response.get_json()
    # Now the organisation is told, at its PEC too.
    told = {
        n.to_address for n in db.session.scalars(select(Notification)) if "presentata" in n.subject
    }
    assert told == {body["email"], body["organisation"]["pec"]}


def test_the_link_page_confirms_on_a_click_not_on_opening(client):
    body = registration()
    client.post("/api/v1/accounts", json=body)
    path = confirmation_path(body["email"])
    assert re.search(r"^http://localhost/conferma/", mails_to(body["email"])[0].body, re.M)
    page = client.get(path)
    assert page.status_code == 200 and "Conferma l'indirizzo" in page.text
    assert db.session.scalar(select(User.email_confirmed_at)) is None
    response = client.post(path)
    assert response.status_code == 302 and response.headers["Location"] == "/accedi"
    assert db.session.scalar(select(User.email_confirmed_at)) is not None
    assert "è già confermato" in client.get(path).text


def test_links_use_the_public_address_when_it_is_set(app, client):
    app.config["PUBLIC_URL"] = "https://bandi.comune.example.it/"
    body = registration()
    client.post("/api/v1/accounts", json=body, headers={"Host": "evil.example"})
    assert "https://bandi.comune.example.it/conferma/" in mails_to(body["email"])[0].body
    assert "evil.example" not in mails_to(body["email"])[0].body


def test_expired_forged_and_stale_links_are_refused(app, client):
    body = registration()
    client.post("/api/v1/accounts", json=body)
    user = db.session.scalar(select(User))

    class LongAgo(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - 73 * 3600

    old = URLSafeTimedSerializer(app.secret_key, salt=CONFIRM_SALT, signer=LongAgo).dumps(
        {"user": user.id, "email": user.email}
    )
    forged = URLSafeTimedSerializer("another-key", salt=CONFIRM_SALT).dumps(
        {"user": user.id, "email": user.email}
    )
    for token, code in ((old, "link_expired"), (forged, "link_invalid"), ("x.y.z", "link_invalid")):
        response = client.post("/api/v1/accounts/confirmation", json={"token": token})
        assert response.status_code == 400 and response.get_json()["code"] == code
        page = client.get(f"/conferma/{token}")
        assert page.status_code == 400 and "data-confirm-problem" in page.text
        assert client.post(f"/conferma/{token}").status_code == 400
    assert db.session.scalar(select(User.email_confirmed_at)) is None


def test_a_new_link_on_request_says_nothing_about_the_address(app, client):
    app.config["RATELIMITS"] = {"confirmations": "20 per hour"}
    create_user("officer", "staff@example.it")
    body = registration()
    client.post("/api/v1/accounts", json=body)
    db.session.commit()
    answers = set()
    for email in (body["email"], "staff@example.it", "nessuno@example.it"):
        response = client.post("/conferma", data={"email": email})
        assert response.status_code == 302
        answers.add((response.headers["Location"], client.get("/accedi").text.count("riceverà")))
        api = client.post("/api/v1/accounts/confirmation/resend", json={"email": email})
        assert api.status_code == 202
    assert len(answers) == 1
    assert len(mails_to(body["email"])) == 3  # the first link and the two asked for
    assert mails_to("staff@example.it") == []


def test_unconfirmed_users_and_their_pec_get_no_notifications(app):
    organisation = create_organisation()
    user = create_user("applicant", "nuovo@example.it", organisation=organisation, confirmed=False)
    db.session.commit()

    class Subject:  # what recipients() reads of an application
        organisation_id = organisation.id

    application = Subject()
    assert recipients(application) == []
    from bando.core.timeutil import utcnow

    user.email_confirmed_at = utcnow()
    assert recipients(application) == [organisation.pec, user.email]


# --- the registration page ----------------------------------------------------------------


def page_form(n, **fields):
    from tests.factories import entity_tax_code

    return {
        "name": f"Associazione {n}",
        "tax_code": entity_tax_code(n),
        "legal_form": "aps",
        "pec": f"ente{n}@pec.example.it",
        "address": "via Roma 1, 20100 Milano",
        "legal_representative": "Anna Verdi",
        "vat_number": "",
        "runts_number": "",
        "withholding_reason": "",
        "full_name": "",
        "email": f"persona{n}@example.it",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        **fields,
    }


def test_the_page_offers_only_admissible_legal_forms_and_marks_required_fields(client):
    html = client.get("/registrazione").text
    options = re.findall(r'<option[^>]*value="([^"]*)"', html)
    assert options == ["", *NON_PROFIT_FORMS]
    assert not set(options) & set(FOR_PROFIT_FORMS)
    for name in ("name", "tax_code", "legal_form", "pec", "address", "email", "password"):
        control = re.search(rf'<(input|select)[^>]*\bid="{name}"[^>]*>', html).group(0)
        assert " required" in control and 'aria-required="true"' in control, name
        label = re.search(rf'<label for="{name}"[^>]*>(.*?)</label>', html, re.S).group(1)
        assert "data-required-mark" in label, name
    for name in ("vat_number", "runts_number", "full_name"):
        control = re.search(rf'<input[^>]*\bid="{name}"[^>]*>', html).group(0)
        assert "required" not in control, name
    assert "I campi contrassegnati con * sono obbligatori." in html
    assert ">Associazione di promozione sociale (APS)</option>" in html
    english = client.get("/registrazione?lang=en").text
    assert ">Social promotion association (APS)</option>" in english
    client.get("/?lang=it")
    # A for-profit form sent anyway is still refused, saying why.
    refused = client.post("/registrazione", data=page_form(73, legal_form="srl"))
    assert "scopo di lucro" in refused.text
    assert count(Organisation) == 0


@pytest.mark.parametrize(
    ("tax_code", "words"),
    [
        ("1234567", "ne sono stati indicati 7"),
        ("9700001001A", "sole cifre"),
        ("RSSMRA85T10A56#T", "caratteri non ammessi"),
        ("RSSMRA8XT10A562S", "forma"),
        ("RSSMRA85T10A562T", "carattere di controllo"),
        ("97071260155", "cifra di controllo"),
    ],
)
def test_the_page_says_why_a_tax_code_is_wrong(client, tax_code, words):
    assert words in tax_code_problem(tax_code)
    response = client.post("/registrazione", data=page_form(74, tax_code=tax_code))
    message = re.search(r'data-error-for="tax_code">(.*?)</div>', response.text, re.S)
    assert message and words in message.group(1)
    assert count(Organisation) == 0


def test_valid_tax_codes_pass(app):
    from tests.factories import entity_tax_code

    assert tax_code_problem(entity_tax_code(5)) is None
    assert tax_code_problem("RSSMRA85T10A562S") is None
    assert tax_code_problem(" rssmra85t10a562s ") is None


def test_confirmation_helper_follows_the_link(client):
    body = registration()
    client.post("/api/v1/accounts", json=body)
    confirm_address(client, body["email"])
    assert db.session.scalar(select(User.email_confirmed_at)) is not None


def test_the_registration_and_the_confirmation_are_in_the_audit_trail(client):
    from bando.core import audit
    from bando.core.models import AuditEvent

    body = registration()
    client.post("/api/v1/accounts", json=body)
    again = {**registration(), "email": body["email"]}
    assert client.post("/api/v1/accounts", json=again).status_code == 202  # nothing made
    client.post(confirmation_path(body["email"]))
    client.post(confirmation_path(body["email"]))  # a second click confirms nothing more
    user = db.session.scalar(select(User))
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.trigger, e.subject, e.actor_id) for e in events] == [
        ("register_organisation", "user", user.id),
        ("confirm_email", "user", user.id),
    ]
    assert events[0].payload == {"user": user.email, "role": "applicant"}
    assert audit.verify() is None


def test_the_address_and_the_password_are_judged_with_the_rest(client):
    """Every problem at once: the password's too, when the organisation's fields could not
    be read (an empty page), on the page as through the API."""
    page = client.post(
        "/registrazione",
        data={"email": "non-un-indirizzo", "password": "corta", "password_confirm": "corta"},
    )
    assert page.status_code == 422
    for field in ("name", "tax_code", "email", "password"):
        assert f'data-error-for="{field}"' in page.text, field
    assert "almeno 12 caratteri" in page.text and "indirizzo email non valido" in page.text
    answer = client.post(
        "/api/v1/accounts", json={"email": "nuovo@example.it", "password": "corta"}
    )
    assert answer.status_code == 422
    errors = answer.get_json()["errors"]
    assert "almeno 12 caratteri" in " ".join(errors["password"])
    assert "organisation" in " ".join(errors)
    assert count(User) == 0 and count(Organisation) == 0


@pytest.mark.parametrize(
    ("tax_code", "english", "italian"),
    [
        ("8001234567", "(10 were given)", "(ne sono stati indicati 10)"),
        ("97071260155", "the check character does not match", "il carattere di controllo"),
        ("80012345670", "no number of this form can have been issued", "nessun numero"),
    ],
)
def test_a_wrong_tax_code_is_told_in_the_pages_language(client, tax_code, english, italian):
    client.get("/?lang=en")
    page = client.post("/registrazione", data=page_form(91, tax_code=tax_code))
    assert page.status_code == 422 and english in page.text and italian not in page.text
    client.get("/?lang=it")
    assert italian in client.post("/registrazione", data=page_form(91, tax_code=tax_code)).text
    body = registration()
    body["organisation"]["tax_code"] = tax_code
    answer = client.post("/api/v1/accounts", json=body, headers={"Accept-Language": "en"})
    assert italian in " ".join(answer.get_json()["errors"]["organisation.tax_code"])
