import pytest

from bando.core.links import is_loopback, trusted_host


@pytest.mark.parametrize(
    "host",
    ["localhost", "LocalHost:5000", "127.0.0.1", "127.0.0.1:8000", "127.1.2.3", "[::1]:5000"],
)
def test_this_machine_is_loopback(host):
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "localhost.evil.example",
        "127.0.0.1.evil.example",
        "10.0.0.1",
        "[::2]",
        "[::1",
        "localhost:port",
        "",
        "user@localhost",
        "localhost\n",
        "LOCALHOST:5000 ",
    ],
)
def test_any_other_host_is_not(host):
    assert not is_loopback(host)


def test_trusted_hosts_are_those_flask_trusts():
    config = {"TRUSTED_HOSTS": ["bandi.comune.example.it", ".comune.example.it"]}
    assert trusted_host("bandi.comune.example.it:443", config)
    assert trusted_host("www.comune.example.it", config)
    assert not trusted_host("evil.example", config)
    assert not trusted_host("evil.example", {})


def test_a_public_link_follows_the_host_asked_and_a_token_link_does_not(app, caplog):
    from bando.core.links import public_url, site_url

    with app.test_request_context("/", headers={"Host": "bandi.comune.example.it"}):
        assert public_url("/bandi") == "http://bandi.comune.example.it/bandi"
        assert "PUBLIC_URL" not in caplog.text
        assert site_url("/conferma/x") == "http://localhost:5000/conferma/x"
        assert "PUBLIC_URL is not set" in caplog.text
    app.config["PUBLIC_URL"] = "https://bandi.example.it/"
    with app.test_request_context("/", headers={"Host": "evil.example"}):
        assert public_url("/bandi") == "https://bandi.example.it/bandi"
        assert site_url("/conferma/x") == "https://bandi.example.it/conferma/x"
