from pathlib import Path

import pytest

from bando.core.formatting import money
from tests.factories import create_edition


def test_index_lists_editions_with_italian_money(app, client):
    create_edition(cap_cents=94_000_00)
    from bando.core.extensions import db

    db.session.commit()
    page = client.get("/")
    assert page.status_code == 200
    assert "€ 94.000,00" in page.get_data(as_text=True)


def test_money_formats():
    assert money(94_000_00, "it") == "€ 94.000,00"
    assert money(5, "it") == "€ 0,05"
    assert money(94_000_00, "en") == "€ 94,000.00"


def test_without_a_configured_key_each_install_makes_its_own(tmp_path, monkeypatch):
    from bando import create_app

    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}, instance_path=str(tmp_path))
    assert first.config["SECRET_KEY"]
    # Same instance folder, same key (sessions survive a restart); never a known default.
    again = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}, instance_path=str(tmp_path))
    assert again.config["SECRET_KEY"] == first.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 40
    assert (tmp_path / "secret_key").read_text().strip() == first.config["SECRET_KEY"]


def test_instance_secret_is_private_and_per_folder(tmp_path):
    import os
    import stat

    from bando.core.config import instance_secret

    key = instance_secret(str(tmp_path))
    assert instance_secret(str(tmp_path)) == key
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600
    other = tmp_path / "altro"
    other.mkdir()
    assert instance_secret(str(other)) != key


@pytest.mark.parametrize(
    "key",
    [
        "a long random string",  # instance/config.example.py
        "change-me",
        "secret",
        "dev",
        "test",
        "Change-Me",
        "short-but-random-Xq7#pL",  # under 32 characters
        "a" * 40,
    ],
)
def test_a_known_or_short_secret_key_stops_the_start(tmp_path, key):
    from bando import create_app

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(
            {"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": key},
            instance_path=str(tmp_path),
        )


def test_the_example_configuration_key_is_refused(tmp_path, monkeypatch):
    import shutil

    from bando import ROOT, create_app

    monkeypatch.delenv("SECRET_KEY", raising=False)
    shutil.copy(Path(ROOT) / "instance" / "config.example.py", tmp_path / "config.py")
    with pytest.raises(RuntimeError, match="placeholder"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}, instance_path=str(tmp_path))


def test_a_weak_key_from_the_environment_is_refused(tmp_path, monkeypatch):
    from bando import create_app

    monkeypatch.setenv("SECRET_KEY", "change-me")
    with pytest.raises(RuntimeError, match="placeholder"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}, instance_path=str(tmp_path))


def test_a_long_random_secret_key_is_taken(tmp_path):
    import secrets

    from bando import create_app

    key = secrets.token_urlsafe(32)
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": key}, instance_path=str(tmp_path)
    )
    assert app.config["SECRET_KEY"] == key
