"""Page sessions live on the server: sign-out, a password change and deactivation end them,
and so do the idle and absolute timeouts (time moved by editing the row). API tokens are
revocable and purged when expired. After signing in each person lands on their own page."""

from datetime import timedelta

from sqlalchemy import func, select

from bando.accounts.models import ApiToken, UserSession
from bando.core.extensions import db
from bando.core.tick import tick
from bando.core.timeutil import utcnow
from tests.factories import PASSWORD, create_user

NEW_PASSWORD = "una-nuova-password-lunga"


def signed_in(app, user, password=PASSWORD):
    client = app.test_client()
    response = client.post("/accedi", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.text
    return client


def cookie_of(client) -> str:
    return client.get_cookie("session").value


def client_with(app, cookie):
    """Another browser, with a copy of a session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief


def opens_dashboard(client) -> bool:
    response = client.get("/domande")
    if response.status_code == 302:
        assert "/accedi" in response.headers["Location"]
        return False
    assert response.status_code == 200
    return True


def only_session():
    return db.session.scalar(select(UserSession))


def test_a_cookie_copied_before_sign_out_opens_nothing_afterwards(app):
    user = create_user("applicant", "ente@example.it")
    db.session.commit()
    client = signed_in(app, user)
    copied = cookie_of(client)
    assert opens_dashboard(client_with(app, copied))
    client.post("/esci")
    assert not opens_dashboard(client_with(app, copied))
    assert not opens_dashboard(client)
    row = only_session()
    assert row.ended_at is not None and row.end_reason == "logout"
    # The cookie carries a secret, the table only its digest.
    assert row.secret_sha256 not in copied


def test_a_session_idle_too_long_or_too_old_is_refused(app):
    user = create_user("applicant", "ente@example.it")
    db.session.commit()
    client = signed_in(app, user)
    row = only_session()
    row.last_seen_at = utcnow() - timedelta(minutes=119)
    db.session.commit()
    assert opens_dashboard(client)
    db.session.refresh(row)
    assert utcnow() - row.last_seen_at < timedelta(minutes=1)  # the visit counted
    row.last_seen_at = utcnow() - timedelta(minutes=121)
    db.session.commit()
    assert not opens_dashboard(client)

    client = signed_in(app, user)
    row = db.session.scalars(select(UserSession).order_by(UserSession.id.desc())).first()
    row.created_at = utcnow() - timedelta(hours=12, minutes=1)  # active all along
    db.session.commit()
    assert not opens_dashboard(client)


def test_the_timeouts_are_settings(app):
    app.config.update(SESSION_IDLE_MINUTES=5, SESSION_MAX_HOURS=1)
    user = create_user("applicant", "ente@example.it")
    db.session.commit()
    client = signed_in(app, user)
    row = only_session()
    row.last_seen_at = utcnow() - timedelta(minutes=6)
    db.session.commit()
    assert not opens_dashboard(client)


def test_changing_the_password_ends_the_other_sessions_and_the_tokens(app):
    user = create_user("applicant", "ente@example.it")
    db.session.commit()
    here, elsewhere = signed_in(app, user), signed_in(app, user)
    token = app.test_client().post(
        "/api/v1/tokens", json={"email": user.email, "password": PASSWORD}
    )
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}

    page = here.get("/profilo/password")
    assert page.status_code == 200 and "Password attuale" in page.text
    wrong = here.post(
        "/profilo/password",
        data={
            "current_password": "non-e-questa",
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert wrong.status_code == 422 and "password attuale non corretta" in wrong.text
    weak = here.post(
        "/profilo/password",
        data={"current_password": PASSWORD, "password": "corta", "password_confirm": "corta"},
    )
    assert weak.status_code == 422 and "almeno 12 caratteri" in weak.text
    assert opens_dashboard(elsewhere)

    done = here.post(
        "/profilo/password",
        data={
            "current_password": PASSWORD,
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert done.status_code == 302
    assert opens_dashboard(here)
    assert not opens_dashboard(elsewhere)
    assert app.test_client().get("/api/v1/applications", headers=headers).status_code == 401
    assert db.session.scalar(select(func.count(ApiToken.id))) == 0
    signed_in(app, user, NEW_PASSWORD)


def test_changing_the_password_through_the_api_gives_a_new_token_and_ends_the_rest(app, client):
    user = create_user("applicant", "volontaria@example.it")
    db.session.commit()
    page = signed_in(app, user)
    first = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    other = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {first.get_json()['token']}"}
    change = {"current_password": PASSWORD, "password": NEW_PASSWORD}

    refused = [
        ({**change, "current_password": "non-e-questa", "password_confirm": NEW_PASSWORD}, 422),
        ({**change, "password": "corta", "password_confirm": "corta"}, 422),
        ({**change, "password_confirm": NEW_PASSWORD + "x"}, 422),
        ({**change, "password": PASSWORD, "password_confirm": PASSWORD}, 422),
        (change, 422),  # no confirmation
        ({"current_password": 12, "password": [], "password_confirm": None}, 422),
    ]
    for body, status in refused:
        response = client.post("/api/v1/accounts/password", json=body, headers=headers)
        assert response.status_code == status, (body, response.text)
        assert "error" in response.get_json()
    assert db.session.scalar(select(func.count(ApiToken.id))) == 2  # nothing changed
    assert opens_dashboard(page)
    wrong = client.post(
        "/api/v1/accounts/password",
        json={**change, "current_password": "non-e-questa", "password_confirm": NEW_PASSWORD},
        headers=headers,
    ).get_json()
    assert wrong["errors"] == {"current_password": ["password attuale non corretta"]}

    done = client.post(
        "/api/v1/accounts/password",
        json={**change, "password_confirm": NEW_PASSWORD},
        headers=headers,
    )
    assert done.status_code == 200, done.text
    assert done.get_json()["role"] == "applicant"
    new = {"Authorization": f"Bearer {done.get_json()['token']}"}
    assert client.get("/api/v1/applications", headers=headers).status_code == 401
    old = {"Authorization": f"Bearer {other.get_json()['token']}"}
    assert client.get("/api/v1/applications", headers=old).status_code == 401
    assert client.get("/api/v1/editions", headers=new).status_code == 200
    assert client.delete("/api/v1/tokens/current", headers=new).status_code == 204
    assert not opens_dashboard(page)
    assert db.session.scalar(select(func.count(ApiToken.id))) == 0
    assert (
        client.post(
            "/api/v1/tokens", json={"email": user.email, "password": NEW_PASSWORD}
        ).status_code
        == 201
    )
    assert (
        client.post(
            "/api/v1/accounts/password", json={**change, "password_confirm": NEW_PASSWORD}
        ).status_code
        == 401
    )


def test_deactivation_ends_sessions_and_tokens(app, runner):
    user = create_user("officer", "ex@example.it")
    db.session.commit()
    client = signed_in(app, user)
    token = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    assert client.get("/istruttoria/").status_code == 200
    result = runner.invoke(args=["users", "deactivate", "EX@example.it"])
    assert result.exit_code == 0, result.output
    assert client.get("/istruttoria/").status_code == 302
    assert app.test_client().get("/api/v1/applications", headers=headers).status_code == 401
    assert only_session().end_reason == "deactivated"
    refused = app.test_client().post("/accedi", data={"email": user.email, "password": PASSWORD})
    assert refused.status_code == 200 and "non corretti" in refused.text
    unknown = runner.invoke(args=["users", "deactivate", "nessuno@example.it"])
    assert unknown.exit_code != 0 and "no user" in unknown.output


def test_a_new_password_from_the_console_ends_sessions(app, runner):
    user = create_user("admin", "admin@example.it")
    db.session.commit()
    client = signed_in(app, user)
    weak = runner.invoke(args=["users", "password", user.email, "--password", "corta"])
    assert weak.exit_code != 0 and "12 caratteri" in weak.output
    result = runner.invoke(args=["users", "password", user.email, "--password", NEW_PASSWORD])
    assert result.exit_code == 0, result.output
    assert client.get("/profilo").status_code == 302
    signed_in(app, user, NEW_PASSWORD)


def test_everyone_lands_on_their_own_page(app):
    for role, place in (
        ("applicant", "/domande"),
        ("officer", "/istruttoria/"),
        ("evaluator", "/valutazione"),
        ("finance", "/contabilita/"),
        ("admin", "/amministrazione/"),
    ):
        user = create_user(role)
        db.session.commit()
        client = app.test_client()
        response = client.post("/accedi", data={"email": user.email, "password": PASSWORD})
        assert response.headers["Location"] == place, role
        assert client.get(place).status_code == 200, role
    # A page asked for before signing in still wins.
    response = app.test_client().post(
        "/accedi",
        query_string={"next": "/come-funziona"},
        data={"email": user.email, "password": PASSWORD},
    )
    assert response.headers["Location"] == "/come-funziona"


def test_the_account_page_says_whether_the_address_is_confirmed(app):
    user = create_user("applicant", "nuovo@example.it", confirmed=False)
    db.session.commit()
    page = signed_in(app, user).get("/profilo")
    assert 'data-email-confirmed="no"' in page.text
    assert "Invia di nuovo l'email di conferma" in page.text


def test_a_revoked_token_is_refused(client, app):
    user = create_user("applicant", "ente@example.it")
    db.session.commit()
    token = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    other = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    other_headers = {"Authorization": f"Bearer {other.get_json()['token']}"}
    assert client.get("/api/v1/applications", headers=headers).status_code == 200
    revoked = client.delete("/api/v1/tokens/current", headers=headers)
    assert revoked.status_code == 204 and revoked.data == b""
    assert client.get("/api/v1/applications", headers=headers).status_code == 401
    assert client.delete("/api/v1/tokens/current", headers=headers).status_code == 401
    # Only that token: the user's other one still opens.
    assert client.get("/api/v1/applications", headers=other_headers).status_code == 200
    document = client.get("/api/v1/openapi.json").get_json()
    assert {"204", "401"} <= set(document["paths"]["/tokens/current"]["delete"]["responses"])


def test_tick_purges_expired_tokens_and_old_sessions(app):
    user = create_user("officer", "rup@example.it")
    db.session.commit()
    client = app.test_client()
    for _ in range(2):
        client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    signed_in(app, user)
    expired = db.session.scalars(select(ApiToken)).first()
    expired.expires_at = utcnow() - timedelta(seconds=1)
    old = only_session()
    old.last_seen_at = utcnow() - timedelta(days=31)
    db.session.commit()
    done = tick()
    assert "api tokens: 1 expired token(s) removed" in done
    assert "sessions: 1 old session(s) removed" in done
    assert db.session.scalar(select(func.count(ApiToken.id))) == 1
    assert db.session.scalar(select(func.count(UserSession.id))) == 0
