"""Sign-in is throttled per account (with a doubling wait) and per client address, for the
page and the API alike; unknown addresses are throttled and cost the same as known ones."""

import time

import pytest
from sqlalchemy import select, update

from bando.accounts import operations
from bando.core.extensions import db, limiter
from bando.core.ratelimit import Backoff, RateLimitCounter, Throttled
from tests.factories import PASSWORD, create_user

WRONG = "non-e-la-password"


def token_attempt(client, email, password):
    return client.post("/api/v1/tokens", json={"email": email, "password": password})


def page_attempt(client, email, password):
    return client.post("/accedi", data={"email": email, "password": password})


def expire_locks():
    """The wait is over: every lock of the backoff expires (edited, not slept through)."""
    table = RateLimitCounter.__table__
    with db.engine.begin() as connection:
        connection.execute(
            update(table).where(table.c.key.like("backoff/login/lock/%")).values(expires_at_ms=0)
        )


def test_five_wrong_passwords_then_the_right_one_is_refused_with_429(client):
    user = create_user("officer", "rup@example.it")
    db.session.commit()
    for _ in range(5):
        assert token_attempt(client, user.email, WRONG).status_code == 401
    refused = token_attempt(client, user.email, PASSWORD)
    assert refused.status_code == 429
    body = refused.get_json()
    assert body["code"] == "too_many_attempts" and "riprovare tra" in body["error"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 30
    # The page shares the account's count: refused too, in Italian, saying when.
    page = page_attempt(client, user.email, PASSWORD)
    assert page.status_code == 429
    assert "Troppi tentativi non riusciti per questo account" in page.text
    assert int(page.headers["Retry-After"]) >= 1
    assert "Esci" not in page.text

    # Once the wait is over, the right password opens, and the count starts again.
    expire_locks()
    assert token_attempt(client, user.email, PASSWORD).status_code == 201
    for _ in range(4):
        assert token_attempt(client, user.email, WRONG).status_code == 401
    assert token_attempt(client, user.email, PASSWORD).status_code == 201


def test_the_wait_doubles_with_each_failure_up_to_fifteen_minutes(app):
    backoff = Backoff("prova", free=5, first_delay=30, max_delay=900)
    assert [backoff.delay(n) for n in range(5, 12)] == [30, 60, 120, 240, 480, 900, 900]
    subject = "qualcuno@example.it"
    for _ in range(5):
        backoff.acquire(subject)
        backoff.failed(subject)
    with pytest.raises(Throttled) as first:
        backoff.acquire(subject)
    assert first.value.seconds <= 30
    table = RateLimitCounter.__table__
    with db.engine.begin() as connection:  # the 30 seconds have passed
        connection.execute(
            update(table).where(table.c.key.like("backoff/prova/lock/%")).values(expires_at_ms=0)
        )
    backoff.acquire(subject)  # the one attempt let through…
    backoff.failed(subject)  # …fails: the next waits a minute
    with pytest.raises(Throttled) as second:
        backoff.acquire(subject)
    assert 30 < second.value.seconds <= 60
    assert backoff.failures(subject) == 6


def test_a_success_is_not_a_failure(client):
    user = create_user("finance", "ragioneria@example.it")
    db.session.commit()
    for _ in range(3):
        for _ in range(4):
            assert page_attempt(client, user.email, WRONG).status_code == 200
        assert page_attempt(client, user.email, PASSWORD).status_code == 302
        client.post("/esci")
    assert operations.login_backoff().failures(user.email) == 0


def test_an_unknown_address_is_throttled_like_a_known_one(client):
    known = create_user("officer", "esiste@example.it")
    db.session.commit()
    answers = {}
    for email in (known.email, "non-esiste@example.it"):
        statuses = [token_attempt(client, email, WRONG).status_code for _ in range(6)]
        answers[email] = statuses
    assert answers[known.email] == answers["non-esiste@example.it"] == [401] * 5 + [429]


def test_the_address_limit_holds_across_accounts_page_and_api(app, client):
    app.config["RATELIMITS"] = {"login": "4 per 15 minutes"}
    users = [create_user("evaluator", f"valutatore{n}@example.it") for n in range(3)]
    db.session.commit()
    assert page_attempt(client, users[0].email, WRONG).status_code == 200
    assert token_attempt(client, users[1].email, WRONG).status_code == 401
    assert page_attempt(client, users[2].email, WRONG).status_code == 200
    # Successes do not count against the address.
    for user in users:
        assert token_attempt(client, user.email, PASSWORD).status_code == 201
    assert page_attempt(client, "chiunque@example.it", WRONG).status_code == 200
    # Four failures from this address: even the right password waits.
    refused = token_attempt(client, users[0].email, PASSWORD)
    assert refused.status_code == 429
    assert refused.get_json()["code"] == "too_many_attempts"
    assert int(refused.headers["Retry-After"]) > 0
    page = page_attempt(client, users[1].email, PASSWORD)
    assert page.status_code == 429
    assert "Troppi tentativi." in page.text and "riprovare tra" in page.text
    # Another address is not affected.
    other = app.test_client()
    response = other.post(
        "/api/v1/tokens",
        json={"email": users[0].email, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert response.status_code == 201


def count_verifications(monkeypatch) -> list:
    """Every argon2 verification sign-in makes, by wrapping the real one."""
    calls = []
    real = operations.verify_password

    def counted(stored_hash, password):
        calls.append(stored_hash)
        return real(stored_hash, password)

    monkeypatch.setattr(operations, "verify_password", counted)
    return calls


def test_unknown_and_inactive_users_cost_one_argon2_verification_too(app, monkeypatch):
    user = create_user("officer", "attivo@example.it")
    gone = create_user("officer", "disattivato@example.it")
    gone.active = False
    db.session.commit()
    calls = count_verifications(monkeypatch)
    for email in (user.email, "sconosciuto@example.it", gone.email):
        before = len(calls)
        assert operations.authenticate(email, WRONG) is None
        assert len(calls) == before + 1, email
        assert calls[-1].startswith("$argon2id$")
    # The dummy hash is made with the parameters in use, so it costs what a real one does.
    assert f"m={app.config['ARGON2']['memory_cost']}," in calls[1]
    assert operations.authenticate(gone.email, PASSWORD) is None


def test_the_counts_live_in_the_shared_storage(client):
    """Not in the process: a fresh storage object over the same database sees them."""
    from bando.core.ratelimit import DatabaseStorage

    user = create_user("officer", "condiviso@example.it")
    db.session.commit()
    for _ in range(2):
        token_attempt(client, user.email, WRONG)
    assert type(limiter.storage) is DatabaseStorage
    keys = db.session.scalars(select(RateLimitCounter.key)).all()
    assert any(key.startswith("backoff/login/failures/") for key in keys)
    assert all("condiviso" not in key for key in keys)  # no address kept in clear
    fresh = DatabaseStorage("bando+db://")
    failures_key = next(k for k in keys if k.startswith("backoff/login/failures/"))
    assert fresh.get(failures_key) == 2
    assert fresh.get_expiry(failures_key) > time.time()
