"""The administrator's accounts, through the pages and the API: a staff account made with
an invitation to choose the password (nobody else knows it), found by role, status or
text; deactivated (not one's own, never the last administrator), reactivated, sent a
password link; each change an audit event."""

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select, update

from bando.accounts.models import User
from bando.accounts.passwords import verify_password
from bando.core import audit
from bando.core.extensions import db
from bando.core.models import AuditEvent
from tests.bando.accounts.helpers import PASSWORD_LINK, mails_to
from tests.bando.applications.data import token_for
from tests.factories import PASSWORD, create_user
from tests.serving import served

NEW = "la-mia-password-da-istruttrice"


def admin_browser(app):
    admin = create_user("admin", "admin@example.it")
    db.session.commit()
    browser = app.test_client()
    assert (
        browser.post("/accedi", data={"email": admin.email, "password": PASSWORD}).status_code
        == 302
    )
    return admin, browser


def events(trigger):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.trigger == trigger)).all()


def test_a_staff_account_is_made_and_its_person_chooses_the_password(app):
    admin, browser = admin_browser(app)
    assert "Amministrazione" in browser.get("/profilo").text  # the menu's link
    form = browser.get("/amministrazione/utenti/nuovo")
    assert form.status_code == 200 and 'value="finance"' in form.text
    assert 'value="applicant"' not in form.text  # organisations register themselves

    made = browser.post(
        "/amministrazione/utenti/nuovo",
        data={
            "email": " Laura.Verdi@Comune.Milano.it ",
            "full_name": "Laura Verdi",
            "role": "officer",
        },
    )
    assert made.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "laura.verdi@comune.milano.it"))
    assert (user.role, user.full_name, user.active) == ("officer", "Laura Verdi", True)
    assert made.headers["Location"] == f"/amministrazione/utenti/{user.id}"
    (event,) = events("create_user")
    assert event.actor_id == admin.id and event.payload == {"user": user.email, "role": "officer"}
    (invitation,) = mails_to(user.email)
    assert invitation.subject == "Account bando: scegliere la password"
    path = PASSWORD_LINK.search(invitation.body).group(1)

    # A link sent again by the administrator before it is used is an invitation still.
    again = browser.post(f"/amministrazione/utenti/{user.id}/collegamento")
    assert again.status_code == 302, again.text
    second = mails_to(user.email)[-1]
    assert second.subject == invitation.subject and "resta valida" not in second.body
    person = app.test_client()
    page = person.get(path)
    assert "vecchia password" not in page.text
    assert "creato dall'amministrazione" in page.text
    assert person.post(path, data={"password": NEW, "password_confirm": NEW}).status_code == 302
    assert person.post("/accedi", data={"email": user.email, "password": NEW}).status_code == 302
    page = browser.get(f"/amministrazione/utenti/{user.id}")
    assert (
        'data-trigger="reset_password"' in page.text and 'data-trigger="create_user"' in page.text
    )
    assert audit.verify() is None


def test_a_bad_or_taken_address_and_a_wrong_role_are_refused_in_place(app):
    admin, browser = admin_browser(app)
    create_user("finance", "preso@example.it")
    db.session.commit()
    cases = [
        ({"email": "preso@example.it", "role": "officer"}, "email", "esiste già"),
        ({"email": "non-una-email", "role": "officer"}, "email", "non valido"),
        ({"email": " ", "role": "officer"}, "email", "manca l&#39;indirizzo email"),
        ({"email": "nuovo@example.it", "role": "applicant"}, "role", None),
        (
            {"email": "nuovo@example.it", "role": "officer", "full_name": "Anna\x07"},
            "full_name",
            "U+0007",
        ),
    ]
    for data, field, words in cases:
        refused = browser.post("/amministrazione/utenti/nuovo", data=data)
        assert refused.status_code == 422, data
        assert f'data-error-for="{field}"' in refused.text, data
        if words:
            assert words in refused.text, data
    assert db.session.scalar(select(User).where(User.email == "nuovo@example.it")) is None
    assert events("create_user") == []
    assert mails_to("nuovo@example.it") == []


def test_the_list_finds_accounts_by_role_status_and_text(app):
    admin, browser = admin_browser(app)
    officers = [create_user("officer", f"istruttore{n:02}@example.it") for n in range(55)]
    create_user("applicant", "ente@example.it")
    gone = create_user("evaluator", "uscita@example.it")
    gone.active = False
    db.session.commit()

    first = browser.get("/amministrazione/utenti?ruolo=officer")
    assert "55 account" in first.text and "pagina 1 di 2" in first.text
    assert first.text.count('data-user="') == 50
    second = browser.get("/amministrazione/utenti?ruolo=officer&pagina=2")
    assert second.text.count('data-user="') == 5
    assert officers[-1].email in second.text
    inactive = browser.get("/amministrazione/utenti?stato=inactive")
    assert inactive.text.count('data-user="') == 1 and gone.email in inactive.text
    # The text is looked for as typed: % and _ are no wildcards.
    assert "1 account" in browser.get("/amministrazione/utenti?q=ENTE@").text
    assert "Nessun account" in browser.get("/amministrazione/utenti?q=%25_%25").text
    # Filters that are none of the choices are left out, not a 500.
    assert (
        browser.get("/amministrazione/utenti?ruolo=re&stato=x&q=%00&pagina=abc").status_code == 200
    )

    bearer = token_for(app.test_client(), admin.email)
    client = app.test_client()
    listed = client.get("/api/v1/users?role=officer&limit=10&offset=50", headers=bearer).get_json()
    assert listed["total"] == 55 and [u["email"] for u in listed["users"]] == [
        o.email for o in officers[50:]
    ]
    found = client.get("/api/v1/users?q=ente%40", headers=bearer).get_json()
    assert [u["email"] for u in found["users"]] == ["ente@example.it"]
    assert found["users"][0]["organisation"]

    bad = client.get("/api/v1/users?role=re&limit=0", headers=bearer)
    assert bad.status_code == 422 and {"role", "limit"} <= set(bad.get_json()["errors"])


def test_the_list_finds_names_whatever_their_letters_case(app):
    # Beyond ASCII too, on SQLite as on PostgreSQL: "ÀNCORA" is found as "àncora".
    admin, browser = admin_browser(app)
    create_user("officer", "ancora@example.it").full_name = "NICOLÒ ÀNCORA"
    db.session.commit()
    for typed in ("àncora", "ÀNCORA", "nicolò"):
        page = browser.get(f"/amministrazione/utenti?q={typed}")
        assert "ancora@example.it" in page.text, typed


def test_deactivate_reactivate_and_send_a_link(app):
    admin, browser = admin_browser(app)
    user = create_user("finance", "ragioniera@example.it")
    db.session.commit()
    person = app.test_client()
    person.post("/accedi", data={"email": user.email, "password": PASSWORD})
    assert person.get("/profilo").status_code == 200

    base = f"/amministrazione/utenti/{user.id}"
    # Asked once more, saying what it does, before it is done.
    assert f'href="{base}/disattiva"' in browser.get(base).text
    asked = browser.get(base + "/disattiva")
    assert asked.status_code == 200 and "non potrà più accedere" in asked.text
    assert db.session.get(User, user.id).active
    assert browser.post(base + "/disattiva").status_code == 302
    assert person.get("/profilo").status_code == 302  # the open session ended
    refused = browser.post(base + "/disattiva")
    assert refused.status_code == 409 and "già disattivato" in refused.text
    link = browser.post(base + "/collegamento")
    assert link.status_code == 409 and "riattivarlo prima" in link.text
    assert [m.subject for m in mails_to(user.email)] == ["Account bando disattivato"]
    assert browser.post(base + "/riattiva").status_code == 302
    assert (
        person.post("/accedi", data={"email": user.email, "password": PASSWORD}).status_code == 302
    )
    assert browser.post(base + "/collegamento").status_code == 302
    subjects = [m.subject for m in mails_to(user.email)]
    assert subjects == [
        "Account bando disattivato",
        "Account bando riattivato",
        "Nuova password per l'account bando",
    ]
    mail = mails_to(user.email)[-1]
    assert PASSWORD_LINK.search(mail.body) and "la password attuale resta valida" in mail.body
    # As many links as a person may ask for themselves in an hour, then a refusal.
    for _ in range(2):
        assert browser.post(base + "/collegamento").status_code == 302
    many = browser.post(base + "/collegamento?lang=en")
    assert many.status_code == 409 and "several links" in many.text
    assert len(mails_to(user.email)) == 5
    db.session.expire_all()
    assert verify_password(db.session.get(User, user.id).password_hash, PASSWORD)
    page = browser.get(base)
    for trigger in ("deactivate_user", "reactivate_user", "send_password_link"):
        assert f'data-trigger="{trigger}"' in page.text
    assert [e.actor_id for e in events("deactivate_user")] == [admin.id]
    assert audit.verify() is None


def test_not_ones_own_account_nor_the_last_administrator(app):
    admin, browser = admin_browser(app)
    asked = browser.get(f"/amministrazione/utenti/{admin.id}/disattiva")
    assert "lo può fare un altro amministratore" in asked.text
    assert "Disattiva l&#39;account</button>" not in asked.text
    own = browser.post(f"/amministrazione/utenti/{admin.id}/disattiva")
    assert own.status_code == 409 and "proprio account" in own.text
    assert "Disattiva l'account" not in browser.get(f"/amministrazione/utenti/{admin.id}").text
    english = browser.post(f"/amministrazione/utenti/{admin.id}/disattiva?lang=en")
    assert "your own account" in english.text and "proprio" not in english.text

    other = create_user("admin", "seconda@example.it")
    db.session.commit()
    bearer = token_for(app.test_client(), other.email)
    client = app.test_client()
    done = client.post(f"/api/v1/users/{admin.id}/deactivate", headers=bearer)
    assert done.status_code == 200 and done.get_json()["active"] is False
    last = client.post(f"/api/v1/users/{other.id}/deactivate", headers=bearer)
    assert last.status_code == 409 and last.get_json()["code"] == "own_account"
    db.session.expire_all()
    assert db.session.get(User, other.id).active


def test_the_api_makes_and_changes_accounts(app, client):
    admin = create_user("admin", "admin@example.it")
    db.session.commit()
    bearer = token_for(client, admin.email)
    made = client.post(
        "/api/v1/users",
        json={"email": "valutatore@example.it", "role": "evaluator", "full_name": "Ugo Neri"},
        headers=bearer,
    )
    assert made.status_code == 201
    body = made.get_json()
    # The address counts as confirmed once the invitation's link is used.
    assert (body["role"], body["active"], body["email_confirmed"]) == ("evaluator", True, False)
    assert body["organisation"] is None and body["created_at"].endswith(("+01:00", "+02:00"))
    assert len(mails_to("valutatore@example.it")) == 1
    again = client.post(
        "/api/v1/users", json={"email": "valutatore@example.it", "role": "officer"}, headers=bearer
    )
    assert again.status_code == 422 and "email" in again.get_json()["errors"]
    applicant = client.post(
        "/api/v1/users", json={"email": "x@example.it", "role": "applicant"}, headers=bearer
    )
    assert applicant.status_code == 422 and "role" in applicant.get_json()["errors"]
    extra = client.post(
        "/api/v1/users",
        json={"email": "y@example.it", "role": "officer", "password": "scelta-da-me-123"},
        headers=bearer,
    )
    assert extra.status_code == 422

    user_id = body["id"]
    assert client.get(f"/api/v1/users/{user_id}", headers=bearer).get_json() == body
    assert client.get("/api/v1/users/987654", headers=bearer).status_code == 404
    assert client.post(f"/api/v1/users/{user_id}/reactivate", headers=bearer).status_code == 409
    assert client.post(f"/api/v1/users/{user_id}/password-link", headers=bearer).status_code == 204
    assert len(mails_to("valutatore@example.it")) == 2
    off = client.post(f"/api/v1/users/{user_id}/deactivate", headers=bearer)
    assert off.status_code == 200 and off.get_json()["active"] is False
    gone = client.post(f"/api/v1/users/{user_id}/password-link", headers=bearer)
    assert gone.status_code == 409 and gone.get_json()["code"] == "inactive"
    on = client.post(f"/api/v1/users/{user_id}/reactivate", headers=bearer)
    assert on.status_code == 200 and on.get_json()["active"] is True


def test_the_console_never_deactivates_the_last_administrator(app, runner):
    only = create_user("admin", "unica@example.it")
    db.session.commit()
    result = runner.invoke(args=["users", "deactivate", only.email])
    assert result.exit_code != 0 and "alcun amministratore" in result.output
    db.session.expire_all()
    assert db.session.get(User, only.id).active


def test_two_administrators_deactivating_each_other_at_once_leave_one(app, tmp_path):
    # Through four gunicorn workers, on SQLite and PostgreSQL alike, many times over: one
    # of the two is refused (409 last_admin), never both let through.
    first = create_user("admin", "prima@example.it")
    second = create_user("admin", "seconda@example.it")
    db.session.commit()
    ids = (first.id, second.id)
    emails = ("prima@example.it", "seconda@example.it")

    def deactivate_each_other(server):
        tokens = [server.token(email) for email in emails]
        with ThreadPoolExecutor(2) as pool:
            return list(
                pool.map(
                    lambda i: server.post(f"/users/{ids[1 - i]}/deactivate", tokens[i]),
                    (0, 1),
                )
            )

    with served(app, tmp_path) as server:
        for _ in range(6):
            answers = deactivate_each_other(server)
            # The other one is refused: by the rule (409), or, when the first one's
            # deactivation ended its token before it was read, as signed out (401).
            assert sorted(status for status, _ in answers)[0] == 200, answers
            assert sorted(status for status, _ in answers)[1] in (401, 409), answers
            db.session.remove()
            active = db.session.scalars(select(User.id).where(User.active.is_(True))).all()
            assert len(active) == 1
            # Both back for the next round, by the database's way round the rule.
            db.session.execute(update(User).values(active=True))
            db.session.commit()
            db.session.remove()
    assert audit.verify() is None
