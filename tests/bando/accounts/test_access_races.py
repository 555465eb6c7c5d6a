"""What a request that runs at the same moment as another cannot undo: a sign-in that
checked the old password while the password changed or the account was deactivated, two
deactivations, reactivations or confirmations of the same account at once."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from bando.accounts.models import User
from bando.accounts.operations import ConfirmationError, confirm_email, issue_token
from bando.accounts.passwords import verify_password
from bando.accounts.sessions import open_session, user_for_session
from bando.core import audit
from bando.core.extensions import db
from bando.core.models import AuditEvent
from tests.bando.accounts.helpers import confirmation_token, password_path
from tests.bando.applications.data import registration, token_for
from tests.factories import PASSWORD, create_user
from tests.serving import served

NEW = "una-password-nuova-e-lunga"


def events(trigger: str) -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.trigger == trigger))


def opened_with_what_was_read(user: User, version: int) -> tuple[str, str]:
    """A sign-in that read the account (its credentials version) and checked the password
    before the change, and writes its token and its session only after it."""
    set_committed_value(user, "credentials_version", version)
    token, secret = issue_token(user, 2), open_session(user)
    db.session.commit()
    return token, secret


def refused(client, user_id: int, token: str, secret: str) -> bool:
    db.session.expire_all()
    api = client.get("/api/v1/applications", headers={"Authorization": f"Bearer {token}"})
    return api.status_code == 401 and user_for_session(user_id, secret) is None


def test_a_sign_in_across_a_reset_opens_nothing(app, client):
    user = create_user("officer", "lenta@example.it")
    db.session.commit()
    read = user.credentials_version
    assert verify_password(user.password_hash, PASSWORD)
    client.post("/password/dimenticata", data={"email": user.email})
    body = {"password": NEW, "password_confirm": NEW}
    assert client.post(password_path(user.email), data=body).status_code == 302
    assert refused(client, user.id, *opened_with_what_was_read(user, read))
    # Signed in afterwards, with the new password: open.
    db.session.expire_all()
    token, secret = issue_token(user, 2), open_session(user)
    db.session.commit()
    assert not refused(client, user.id, token, secret)


def test_a_sign_in_across_a_deactivation_stays_shut_after_the_reactivation(app, client):
    admin = create_user("admin", "admin@example.it")
    user = create_user("finance", "ragioneria@example.it")
    db.session.commit()
    read = user.credentials_version
    bearer = token_for(client, admin.email)
    for action in ("deactivate", "reactivate"):
        answer = client.post(f"/api/v1/users/{user.id}/{action}", headers=bearer, json={})
        assert answer.status_code == 200, answer.text
    assert refused(client, user.id, *opened_with_what_was_read(user, read))


def test_the_account_page_that_changed_the_password_stays_signed_in(app):
    user = create_user("applicant", "volontaria@example.it")
    db.session.commit()
    browser, other = app.test_client(), app.test_client()
    for each in (browser, other):
        each.post("/accedi", data={"email": user.email, "password": PASSWORD})
    changed = browser.post(
        "/profilo/password",
        data={"current_password": PASSWORD, "password": NEW, "password_confirm": NEW},
    )
    assert changed.status_code == 302, changed.text
    assert browser.get("/profilo").status_code == 200
    assert other.get("/profilo").status_code == 302  # sent to sign in


def test_a_confirmation_link_sent_before_a_deactivation_stays_dead(app, client):
    body = registration()
    assert client.post("/api/v1/accounts", json=body).status_code == 202
    token = confirmation_token(body["email"])
    admin = create_user("admin", "admin@example.it")
    db.session.commit()
    user = db.session.scalar(select(User).where(User.email == body["email"]))
    bearer = token_for(client, admin.email)
    for action in ("deactivate", "reactivate"):
        assert client.post(f"/api/v1/users/{user.id}/{action}", headers=bearer).status_code == 200
    answer = client.post("/api/v1/accounts/confirmation", json={"token": token})
    assert answer.status_code == 400 and answer.get_json()["code"] == "link_invalid"
    db.session.expire_all()
    assert db.session.get(User, user.id).email_confirmed_at is None


def test_the_console_does_not_deactivate_twice(app, runner):
    user = create_user("evaluator", "valutatore@example.it")
    db.session.commit()
    assert runner.invoke(args=["users", "deactivate", user.email]).exit_code == 0
    again = runner.invoke(args=["users", "deactivate", user.email])
    assert again.exit_code != 0 and "già disattivato" in again.output
    assert events("deactivate_user") == 1


@pytest.mark.parametrize("action", ["deactivate", "reactivate"])
def test_the_same_change_sent_at_once_is_made_once(app, tmp_path, action):
    admins = [create_user("admin", f"admin{n}@example.it") for n in range(2)]
    user = create_user("officer", "istruttore@example.it")
    user.active = action == "deactivate"  # as it is before the change
    db.session.commit()
    user_id, emails = user.id, [admin.email for admin in admins]
    with served(app, tmp_path) as server:
        tokens = [server.token(email) for email in emails] * 3
        with ThreadPoolExecutor(6) as pool:
            answers = list(
                pool.map(lambda t: server.post(f"/users/{user_id}/{action}", t, {}), tokens)
            )
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] + [409] * 5, answers
    db.session.remove()
    assert events(f"{action}_user") == 1
    assert db.session.get(User, user_id).active is (action == "reactivate")
    assert audit.verify() is None


def test_one_confirmation_link_sent_at_once_confirms_once(app, tmp_path):
    body = registration()
    with served(app, tmp_path) as server, ThreadPoolExecutor(6) as pool:
        assert server.post("/accounts", None, body)[0] == 202
        token = confirmation_token(body["email"])  # signed with the server's key
        db.session.remove()
        answers = list(
            pool.map(
                lambda _: server.post("/accounts/confirmation", None, {"token": token}), range(6)
            )
        )
    assert all(status == 200 for status, _ in answers), answers
    db.session.remove()
    assert events("confirm_email") == 1
    assert audit.verify() is None


def test_a_confirmation_checked_as_the_account_is_deactivated_confirms_nothing(app, client):
    body = registration()
    assert client.post("/api/v1/accounts", json=body).status_code == 202
    token = confirmation_token(body["email"])
    user = db.session.scalar(select(User).where(User.email == body["email"]))
    assert user.active  # the link is checked against this reading of the account…
    with db.engine.begin() as other:  # …while a deactivation commits
        other.execute(
            update(User)
            .where(User.id == user.id)
            .values(active=False, credentials_version=User.credentials_version + 1)
        )
    with pytest.raises(ConfirmationError):
        confirm_email(token)
    db.session.rollback()
    assert db.session.get(User, user.id).email_confirmed_at is None
    assert events("confirm_email") == 0
