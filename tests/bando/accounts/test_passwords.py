"""The one rule for a new password: long enough, not common, not guessable, not the e-mail."""

import pytest
from sqlalchemy import func, select

from bando.accounts.models import Organisation, User
from bando.accounts.passwords import MIN_LENGTH, common_passwords, password_problem
from bando.core.extensions import db
from bando.demo import PASSWORD as DEMO_PASSWORD
from tests.bando.applications.data import registration
from tests.factories import PASSWORD


@pytest.mark.parametrize(
    "password",
    [
        "aaaaaaaaaa",
        "1234567890",
        "password1234",
        "qwertyuiop12",
        "aaaaaaaaaaaaaaaa",  # long enough, one character
        "abcabcabcabc",  # one piece repeated
        "123456789012",  # a sequence
        "PASSWORD1234",  # the common one in capitals
        "!!password1234!!",  # the common one padded
        " " * 16,
        "\t" * 16,
        "   corta   ",  # the spaces around do not count
        "",
        None,
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password):
    problem = password_problem(password)
    assert problem and problem.startswith("la password")


def test_the_minimum_is_twelve_characters():
    assert MIN_LENGTH == 12
    assert "12 caratteri" in password_problem("Xq7#pLm2Vz!")  # 11, random


@pytest.mark.parametrize(
    "password, email",
    [
        ("volontaria.gratosoglio@example.it", "Volontaria.Gratosoglio@example.it"),
        ("volontaria.gratosoglio", "volontaria.gratosoglio@example.it"),
        ("volontaria.gratosoglio2019", "volontaria.gratosoglio@example.it"),
    ],
)
def test_the_own_email_is_refused(password, email):
    assert "email" in password_problem(password, email)
    assert password_problem(password) is None  # for someone else it is a fine password


def test_the_passwords_bando_ships_and_tests_with_are_fine():
    assert password_problem(PASSWORD, "volontaria1@example.it") is None
    assert password_problem(DEMO_PASSWORD, "biblioteca.sansiro@bando.demo") is None
    assert password_problem("una-password-lunga") is None
    assert password_problem("Cortili aperti a Gratosoglio") is None


def test_the_common_list_is_the_one_zxcvbn_keeps():
    common = common_passwords()
    assert len(common) > 20_000
    assert {"password1234", "qwertyuiop12", "1234567890"} <= common
    assert PASSWORD not in common and DEMO_PASSWORD not in common


def test_a_registration_with_a_weak_password_is_refused(client):
    body = registration()
    response = client.post("/api/v1/accounts", json={**body, "password": "aaaaaaaaaa"})
    assert response.status_code == 422
    assert response.get_json()["errors"]["password"] == [
        "la password deve avere almeno 12 caratteri"
    ]
    response = client.post("/api/v1/accounts", json={**body, "password": "password1234"})
    assert response.status_code == 422
    assert "più diffuse" in response.get_json()["errors"]["password"][0]
    response = client.post("/api/v1/accounts", json={**body, "password": body["email"]})
    assert response.status_code == 422
    assert "email" in response.get_json()["errors"]["password"][0]
    assert db.session.scalar(select(func.count(User.id))) == 0
    assert db.session.scalar(select(func.count(Organisation.id))) == 0
    assert client.post("/api/v1/accounts", json=body).status_code in (201, 202)


def test_the_refusal_of_a_short_password_says_the_length_asked():
    from bando.accounts.passwords import MIN_LENGTH, TOO_SHORT

    assert f"almeno {MIN_LENGTH} caratteri" in TOO_SHORT


def test_a_password_beyond_the_schemas_length_is_refused_at_once():
    from bando.accounts.passwords import MAX_LENGTH, TOO_LONG, password_problem

    assert f"{MAX_LENGTH} caratteri" in TOO_LONG
    assert password_problem("Ab1-" * 3_000_000) == TOO_LONG  # 12 million characters
    assert password_problem("x7-Qz!" * 166 + "Lm9") is None  # 999 characters
