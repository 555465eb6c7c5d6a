"""A forgotten password: a link mailed to the account's address (the answer never says
whether it has one), valid for a while and once; the new password ends every session and
token, lifts the sign-in wait, and leaves an audit event."""

import json
import time
from concurrent.futures import ThreadPoolExecutor

from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from bando.accounts.models import User
from bando.accounts.operations import RESET_SALT, _password_stamp, deactivate_user
from bando.accounts.passwords import verify_password
from bando.core import audit
from bando.core.extensions import db
from bando.core.models import AuditEvent, Notification
from tests.bando.accounts.helpers import mails_to, password_path
from tests.factories import PASSWORD, create_user
from tests.serving import served

NEW = "una-password-nuova-e-lunga"


def signed_in(client) -> bool:
    return client.get("/profilo").status_code == 200


def test_the_pages_set_a_new_password_once(app, client):
    user = create_user("applicant", "volontaria@example.it")
    db.session.commit()
    other = app.test_client()  # a browser where the account is open
    other.post("/accedi", data={"email": user.email, "password": PASSWORD})
    assert signed_in(other)
    assert "Password dimenticata?" in client.get("/accedi").text

    response = client.post("/password/dimenticata", data={"email": " Volontaria@Example.it "})
    assert response.status_code == 302 and response.headers["Location"] == "/accedi"
    path = password_path(user.email)
    assert "vale 60 minuti" in mails_to(user.email)[-1].body
    page = client.get(path)
    assert page.status_code == 200 and "volontaria@example.it" in page.text

    for fields, field in (
        ({"password": NEW, "password_confirm": NEW + "x"}, "password_confirm"),
        ({"password": "corta", "password_confirm": "corta"}, "password"),
        ({"password": "", "password_confirm": ""}, "password"),
    ):
        refused = client.post(path, data=fields)
        assert refused.status_code == 422 and f'data-error-for="{field}"' in refused.text
    db.session.expire_all()
    assert verify_password(db.session.get(User, user.id).password_hash, PASSWORD)

    saved = client.post(path, data={"password": NEW, "password_confirm": NEW})
    assert saved.status_code == 302 and saved.headers["Location"] == "/accedi"
    db.session.expire_all()
    assert verify_password(db.session.get(User, user.id).password_hash, NEW)
    assert not signed_in(other)
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.trigger, event.subject, event.actor_id) == ("reset_password", "user", user.id)
    assert event.payload == {"user": user.email, "role": "applicant"}
    assert audit.verify() is None
    assert "password dell'account bando è cambiata" in mails_to(user.email)[-1].subject

    spent = client.get(path)
    assert spent.status_code == 400 and "data-reset-problem" in spent.text
    again = client.post(
        path,
        data={
            "password": "ancora-un-altra-password",
            "password_confirm": "ancora-un-altra-password",
        },
    )
    assert again.status_code == 400
    db.session.expire_all()
    assert verify_password(db.session.get(User, user.id).password_hash, NEW)
    assert client.post("/accedi", data={"email": user.email, "password": NEW}).status_code == 302
    assert signed_in(client)


def test_the_api_sets_a_new_password_and_ends_the_tokens(client):
    user = create_user("finance", "ragioneria@example.it")
    db.session.commit()
    old = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    bearer = {"Authorization": f"Bearer {old.get_json()['token']}"}
    assert client.get("/api/v1/applications", headers=bearer).status_code == 200

    asked = client.post("/api/v1/accounts/password/forgotten", json={"email": user.email})
    assert asked.status_code == 202 and asked.get_json()["status"] == "reset_link_sent"
    token = password_path(user.email).rsplit("/", 1)[1]
    weak = client.post(
        "/api/v1/accounts/password/reset",
        json={"token": token, "password": "corta", "password_confirm": "corta"},
    )
    assert weak.status_code == 422 and "password" in weak.get_json()["errors"]
    body = {"token": token, "password": NEW, "password_confirm": NEW}
    done = client.post("/api/v1/accounts/password/reset", json=body)
    assert done.status_code == 200 and done.get_json() == {"email": user.email}
    assert client.get("/api/v1/applications", headers=bearer).status_code == 401
    spent = client.post("/api/v1/accounts/password/reset", json=body)
    assert spent.status_code == 400 and spent.get_json()["code"] == "link_invalid"
    signed = client.post("/api/v1/tokens", json={"email": user.email, "password": NEW})
    assert signed.status_code == 201


def test_the_answer_is_the_same_for_any_address(app, client):
    app.config["RATELIMITS"] = {"password_resets": "50 per hour"}
    active = create_user("officer", "attivo@example.it")
    gone = create_user("evaluator", "uscito@example.it")
    deactivate_user(gone)
    db.session.commit()
    answers = set()
    for email in ("attivo@example.it", "uscito@example.it", "nessuno@example.it", "non email"):
        response = client.post("/password/dimenticata", data={"email": email})
        answers.add((response.status_code, response.headers.get("Location")))
        flashed = client.get("/accedi").text
        assert "riceverà a breve un collegamento" in flashed
        api = client.post("/api/v1/accounts/password/forgotten", json={"email": email})
        answers.add((api.status_code, json.dumps(api.get_json())))
    assert len(answers) == 2  # one for the page, one for the API
    assert len(mails_to(active.email)) == 2
    assert mails_to(gone.email) == []
    # A stranger can make bando mail an address only a few times an hour.
    for _ in range(5):
        client.post("/api/v1/accounts/password/forgotten", json={"email": active.email})
    assert len(mails_to(active.email)) == 3


def test_requests_from_one_address_are_limited(app, client):
    app.config["RATELIMITS"] = {"password_resets": "2 per hour"}
    for _ in range(2):
        assert (
            client.post("/password/dimenticata", data={"email": "a@example.it"}).status_code == 302
        )
    refused = client.post("/api/v1/accounts/password/forgotten", json={"email": "a@example.it"})
    assert refused.status_code == 429 and refused.get_json()["code"] == "too_many_attempts"


def test_expired_forged_and_deactivated_links_are_refused(app, client):
    user = create_user("applicant")
    db.session.commit()
    data = {"user": user.id, "stamp": _password_stamp(user)}

    class LongAgo(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - 61 * 60

    old = URLSafeTimedSerializer(app.secret_key, salt=RESET_SALT, signer=LongAgo).dumps(data)
    forged = URLSafeTimedSerializer("another-key", salt=RESET_SALT).dumps(data)
    # A confirmation link is signed for another purpose: it opens no reset.
    confirmation = URLSafeTimedSerializer(app.secret_key, salt="bando.email-confirmation").dumps(
        data
    )
    cases = ((old, "link_expired"), (forged, "link_invalid"), (confirmation, "link_invalid"))
    for token, code in (*cases, ("x.y.z", "link_invalid")):
        body = {"token": token, "password": NEW, "password_confirm": NEW}
        response = client.post("/api/v1/accounts/password/reset", json=body)
        assert response.status_code == 400 and response.get_json()["code"] == code
        page = client.get(f"/password/nuova/{token}")
        assert page.status_code == 400 and "data-reset-problem" in page.text
        expected = "scaduto" if code == "link_expired" else "non è valido"
        assert expected in page.text
        assert client.post(f"/password/nuova/{token}", data=body).status_code == 400

    client.post("/password/dimenticata", data={"email": user.email})
    path = password_path(user.email)
    deactivate_user(db.session.get(User, user.id))
    db.session.commit()
    assert client.get(path).status_code == 400
    db.session.expire_all()
    assert verify_password(db.session.get(User, user.id).password_hash, PASSWORD)


def test_the_link_lifts_the_wait_and_confirms_the_address(client):
    user = create_user("applicant", "dimentica@example.it", confirmed=False)
    db.session.commit()
    for _ in range(6):
        client.post("/api/v1/tokens", json={"email": user.email, "password": "sbagliata-x"})
    waiting = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    assert waiting.status_code == 429
    client.post("/api/v1/accounts/password/forgotten", json={"email": user.email})
    token = password_path(user.email).rsplit("/", 1)[1]
    body = {"token": token, "password": NEW, "password_confirm": NEW}
    assert client.post("/api/v1/accounts/password/reset", json=body).status_code == 200
    assert (
        client.post("/api/v1/tokens", json={"email": user.email, "password": NEW}).status_code
        == 201
    )
    db.session.expire_all()
    assert db.session.get(User, user.id).email_confirmed


def test_the_english_page_speaks_english(client):
    client.get("/?lang=en")
    assert "Forgot your password?" in client.get("/accedi").text
    page = client.get("/password/nuova/x.y.z")
    assert "The link is not valid or has already been used" in page.text


def test_the_rules_refusals_are_in_the_pages_language_and_italian_in_the_api(client):
    user = create_user("applicant", "inglese@example.it")
    db.session.commit()
    client.post("/password/dimenticata", data={"email": user.email})
    path = password_path(user.email)
    client.get("/?lang=en")
    for password, said in (
        ("corta", "the password must have at least 12 characters"),
        ("password1234", "the password is one of the most common and easiest to guess"),
        ("abcabcabcabcabc", "the password cannot be one character or one group"),
    ):
        refused = client.post(path, data={"password": password, "password_confirm": password})
        assert refused.status_code == 422 and said in refused.text, password
        assert "la password" not in refused.text
    fields = ("name", "tax_code", "legal_form", "pec", "address", "legal_representative")
    empty = client.post("/registrazione", data=dict.fromkeys(fields, "") | {"email": "x@x.it"})
    assert "the organisation&#39;s name is missing" in empty.text
    assert "the legal representative is missing" in empty.text and "manca" not in empty.text
    client.get("/?lang=it")
    italian = client.post(path, data={"password": "corta", "password_confirm": "corta"})
    assert "la password deve avere almeno 12 caratteri" in italian.text
    token = path.rsplit("/", 1)[1]
    answer = client.post(
        "/api/v1/accounts/password/reset",
        json={"token": token, "password": "corta", "password_confirm": "corta"},
        headers={"Accept-Language": "en"},
    )
    assert answer.get_json()["errors"]["password"] == ["la password deve avere almeno 12 caratteri"]


def test_one_link_sent_twice_at_once_sets_one_password(app, tmp_path):
    # Through four gunicorn workers, on SQLite and PostgreSQL alike: one answer 200, the
    # others find the link spent.
    user = create_user("officer", "doppio@example.it")
    db.session.commit()
    user_id, email = user.id, user.email
    # A hash slow enough that the requests overlap between reading the link and saving.
    slow = {"ARGON2": {"time_cost": 2, "memory_cost": 32768, "parallelism": 1}}
    with served(app, tmp_path, **slow) as server:
        assert server.post("/accounts/password/forgotten", body={"email": email})[0] == 202
        token = password_path(email).rsplit("/", 1)[1]
        db.session.remove()
        passwords = [f"password-numero-{i}-abbastanza-lunga" for i in range(8)]
        with ThreadPoolExecutor(8) as pool:
            answers = list(
                pool.map(
                    lambda p: server.post(
                        "/accounts/password/reset",
                        body={"token": token, "password": p, "password_confirm": p},
                    ),
                    passwords,
                )
            )
    assert sorted(status for status, _ in answers) == [200] + [400] * 7, answers
    winner = passwords[[status for status, _ in answers].index(200)]
    db.session.remove()
    stored = db.session.get(User, user_id)
    assert verify_password(stored.password_hash, winner)
    triggers = db.session.scalars(
        select(AuditEvent.trigger).where(AuditEvent.trigger == "reset_password")
    ).all()
    assert triggers == ["reset_password"]
    assert audit.verify() is None


def test_a_link_sent_before_a_deactivation_stays_dead_after_the_reactivation(app, client):
    user = create_user("evaluator", "riattivata@example.it")
    db.session.commit()
    client.post("/password/dimenticata", data={"email": user.email})
    path = password_path(user.email)
    page = client.get(path)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    deactivate_user(db.session.get(User, user.id))
    db.session.commit()
    db.session.get(User, user.id).active = True  # reactivated
    db.session.commit()
    assert client.get(path).status_code == 400
    body = {"password": NEW, "password_confirm": NEW}
    assert client.post(path, data=body).status_code == 400
    db.session.expire_all()
    assert verify_password(db.session.get(User, user.id).password_hash, PASSWORD)


def test_the_current_password_is_not_a_new_one(client):
    user = create_user("officer", "uguale@example.it")
    db.session.commit()
    client.post("/password/dimenticata", data={"email": user.email})
    refused = client.post(
        password_path(user.email), data={"password": PASSWORD, "password_confirm": PASSWORD}
    )
    assert refused.status_code == 422 and "diversa da quella attuale" in refused.text


def test_what_cannot_be_an_address_is_answered_as_an_unknown_one(app, client):
    # A NUL (which PostgreSQL refuses in any text), a megabyte, a run of dots that an
    # ambiguous pattern would try every way: the same answer, no query, no mail.
    app.config["RATELIMITS"] = {"password_resets": "50 per hour", "confirmations": "50 per hour"}
    for email in ("a\x00@b.it", "a@" + "." * 50_000 + "@", "x" * 1_000_000 + "@b.it"):
        assert client.post("/password/dimenticata", data={"email": email}).status_code == 302
        assert client.post("/conferma", data={"email": email}).status_code == 302
        signed = client.post("/accedi", data={"email": email, "password": "x"})
        assert signed.status_code == 200 and "Email o password non corretti" in signed.text
    assert db.session.scalar(select(func.count(Notification.id))) == 0


def test_a_forged_host_never_carries_the_link(app, client, caplog):
    """With no PUBLIC_URL, a request for a link under another host (the link would take the
    token there) gets a link to the local address, and the log says to set PUBLIC_URL."""
    user = create_user("applicant", "volontaria@example.it")
    db.session.commit()
    assert "PUBLIC_URL" not in app.config or not app.config["PUBLIC_URL"]
    answer = client.post(
        "/api/v1/accounts/password/forgotten",
        json={"email": user.email},
        headers={"Host": "evil.example"},
    )
    assert answer.status_code == 202, answer.text
    body = mails_to(user.email)[-1].body
    assert "evil.example" not in body and "http://localhost:5000/password/nuova/" in body
    assert "PUBLIC_URL is not set" in caplog.text and "'evil.example'" in caplog.text

    # A host the operator trusts (Flask refuses every other one) carries it.
    app.config["TRUSTED_HOSTS"] = ["bandi.comune.example.it"]
    client.post(
        "/api/v1/accounts/password/forgotten",
        json={"email": user.email},
        headers={"Host": "bandi.comune.example.it"},
    )
    assert "http://bandi.comune.example.it/password/nuova/" in mails_to(user.email)[-1].body
