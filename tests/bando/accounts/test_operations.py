from datetime import timedelta

from sqlalchemy import func, select

from bando.accounts.models import ApiToken, User
from bando.accounts.operations import authenticate
from bando.core.extensions import db
from bando.core.models import AuditEvent
from tests.factories import PASSWORD, create_user


def _count():
    return db.session.scalar(select(func.count(User.id)))


def test_cli_creates_a_staff_user_with_an_argon2_hash(runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--role",
            "officer",
            "--email",
            "RUP@Comune.Milano.it",
            "--password",
            "una-password-lunga",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "rup@comune.milano.it"))
    assert user.role == "officer"
    assert user.password_hash.startswith("$argon2id$")
    assert "una-password-lunga" not in user.password_hash
    assert authenticate("rup@comune.milano.it", "una-password-lunga") == user
    assert authenticate("rup@comune.milano.it", "sbagliata-del-tutto") is None
    # A new password and the deactivation, from the console too: each in the audit chain,
    # who and which role, never the password.
    changed = runner.invoke(
        args=["users", "password", "rup@comune.milano.it", "--password", "altra-password-lunga"]
    )
    assert changed.exit_code == 0, changed.output
    assert runner.invoke(args=["users", "deactivate", "rup@comune.milano.it"]).exit_code == 0
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.subject == "user").order_by(AuditEvent.id)
    ).all()
    assert [e.trigger for e in events] == ["create_user", "set_password", "deactivate_user"]
    assert all(e.payload == {"user": user.email, "role": "officer"} for e in events)
    assert all(e.actor_id is None for e in events)
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_cli_refuses_bad_users_and_creates_nothing(runner):
    create_user("finance", "ragioneria@example.it")
    db.session.commit()
    before = _count()
    cases = [
        (["--role", "sindaco", "--email", "a@example.it", "--password", PASSWORD], "ruolo"),
        (["--role", "officer", "--email", "non-una-mail", "--password", PASSWORD], "email"),
        (["--role", "officer", "--email", "b@example.it", "--password", "corta"], "12 caratteri"),
        (
            ["--role", "officer", "--email", "RAGIONERIA@example.it", "--password", PASSWORD],
            "esiste già",
        ),
        (
            ["--role", "applicant", "--email", "c@example.it", "--password", PASSWORD],
            "organisation",
        ),
        # A control character or a name longer than its column, as the pages refuse them.
        (["--role", "officer", "--email", "a\x01b@example.it", "--password", PASSWORD], "U+0001"),
        (
            ["--role", "officer", "--email", "d@example.it", "--password", PASSWORD]
            + ["--name", "Nome\x07Strano"],
            "U+0007",
        ),
        (
            ["--role", "officer", "--email", "e@example.it", "--password", PASSWORD]
            + ["--name", "N" * 201],
            "al massimo 200 caratteri",
        ),
        (
            ["--role", "officer", "--email", "f" * 250 + "@example.it", "--password", PASSWORD],
            "al massimo 254 caratteri",
        ),
    ]
    for args, message in cases:
        result = runner.invoke(args=["users", "create", *args])
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)
    assert _count() == before


def test_tokens_api(client):
    user = create_user("evaluator", "valutatrice@example.it")
    db.session.commit()
    assert client.post("/api/v1/tokens", json={"email": user.email}).status_code == 422
    wrong = client.post("/api/v1/tokens", json={"email": user.email, "password": "no" * 6})
    assert wrong.status_code == 401 and "error" in wrong.get_json()
    answer = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    assert answer.status_code == 201
    assert answer.get_json()["role"] == "evaluator"
    token = answer.get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    # Only the token's digest is stored.
    assert db.session.scalar(select(ApiToken.token_sha256)) != token
    assert client.get("/api/v1/applications", headers=headers).status_code != 401

    row = db.session.scalar(select(ApiToken))
    row.expires_at = row.expires_at - timedelta(days=2)
    db.session.commit()
    assert client.get("/api/v1/applications", headers=headers).status_code == 401


def test_a_deactivated_user_cannot_sign_in(client):
    user = create_user("officer", "ex@example.it")
    user.active = False
    db.session.commit()
    page = client.post("/accedi", data={"email": user.email, "password": PASSWORD})
    assert page.status_code == 200
    assert "non corretti" in page.get_data(as_text=True)
    token = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    assert token.status_code == 401
