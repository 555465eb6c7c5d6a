"""The HTTP hardening: security headers on every kind of answer, HSTS and Secure cookies
only over HTTPS (a trusted proxy's word counts only when configured), no caching of what
is personal, downloads as attachments, deep JSON refused with a 400, and a refused large
upload whose 413 a real client can read."""

import http.client
import logging
import re

import pytest

from bando import create_app
from bando.core import security
from bando.core.api import OPERATIONS
from bando.core.extensions import db
from tests.bando.applications.data import submitted_application, token_for
from tests.factories import PASSWORD, create_edition, create_user
from tests.serving import Gunicorn


def directives(policy: str) -> dict[str, str]:
    return dict(
        (part.strip().split(" ", 1) + [""])[:2] for part in policy.split(";") if part.strip()
    )


def assert_strict_policy(policy: str):
    """No inline script, style or framing; everything from this site only."""
    rules = directives(policy)
    assert rules["default-src"] == "'none'"
    assert rules["script-src"] == "'self'"
    # Styles: the site's files, plus the two <style> contents of the kit's bundle by hash.
    assert rules["style-src"].split(" ")[0] == "'self'"
    assert all(s.startswith("'sha256-") for s in rules["style-src"].split(" ")[1:])
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert rules["frame-ancestors"] == "'none'"
    assert rules["object-src"] == "'none'" and rules["base-uri"] == "'none'"
    assert rules["form-action"] == "'self'" and rules["connect-src"] == "'self'"
    for directive in ("img-src", "font-src"):
        assert set(rules[directive].split(" ")) <= {"'self'", "data:"}


def assert_hardened(response, *, private: bool):
    headers = response.headers
    assert headers["Content-Security-Policy"] == security.CONTENT_SECURITY_POLICY
    assert_strict_policy(headers["Content-Security-Policy"])
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    permissions = headers["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in permissions
    # Plain HTTP without a trusted proxy: no HSTS, no Secure cookie.
    assert "Strict-Transport-Security" not in headers
    for cookie in headers.getlist("Set-Cookie"):
        assert "secure" not in cookie.lower()
    if private:
        assert headers["Cache-Control"] == "no-store"
    else:
        assert "no-store" not in headers.get("Cache-Control", "")


def sign_in(client, user):
    client.post("/esci")
    response = client.post("/accedi", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302


@pytest.fixture
def submitted(app):
    edition = create_edition("cdq-sicurezza")
    application = submitted_application(edition)
    db.session.commit()
    return application


# --- 1. headers ------------------------------------------------------------------------------


def test_public_page_has_the_headers_and_may_be_cached(client):
    response = client.get("/")
    assert response.status_code == 200
    assert_hardened(response, private=False)


def test_a_new_token_and_any_other_answer_to_a_change_are_never_stored(app, client):
    officer = create_user("officer")
    db.session.commit()
    token = client.post("/api/v1/tokens", json={"email": officer.email, "password": PASSWORD})
    assert token.status_code == 201 and "token" in token.get_json()
    assert_hardened(token, private=True)
    refused = client.post("/api/v1/accounts/confirmation/resend", json={"email": "a@b.it"})
    assert_hardened(refused, private=True)
    assert_hardened(client.get("/api/v1/editions"), private=False)


def test_signed_in_page_is_never_stored(app, client):
    officer = create_user("officer")
    db.session.commit()
    sign_in(client, officer)
    response = client.get("/istruttoria/")
    assert response.status_code == 200
    assert_hardened(response, private=True)
    # Even a public page, read by a signed-in person, shows their name in the header.
    assert_hardened(client.get("/"), private=True)
    # Static files are the same for everyone: cacheable.
    css = client.get("/static/css/bando.css")
    assert css.status_code == 200
    assert "no-store" not in css.headers.get("Cache-Control", "")
    css.close()


def test_api_answers_have_the_headers(app, client):
    applicant = create_user("applicant")
    db.session.commit()
    public = client.get("/api/v1/editions")
    assert public.status_code == 200
    assert_hardened(public, private=False)
    mine = client.get("/api/v1/applications", headers=token_for(client, applicant.email))
    assert mine.status_code == 200
    assert_hardened(mine, private=True)


def test_error_pages_have_the_headers(app, client):
    @app.route("/prova-guasto")
    def broken():
        raise RuntimeError("a bug")

    for url, status in (("/non-esiste", 404), ("/api/v1/non-esiste", 404), ("/prova-guasto", 500)):
        response = client.get(url)
        assert response.status_code == status
        assert_hardened(response, private=False)


def test_receipts_and_attachments_are_downloads_never_stored_never_sniffed(app, client, submitted):
    owner = submitted.created_by
    kind = submitted.attachments[0].kind
    sign_in(client, owner)
    downloads = [
        client.get(f"/domande/{submitted.id}/ricevuta.pdf"),
        client.get(f"/domande/{submitted.id}/allegati/{kind}"),
    ]
    client.post("/esci")
    bearer = token_for(client, owner.email)
    downloads += [
        client.get(f"/api/v1/applications/{submitted.id}/receipt.pdf", headers=bearer),
        client.get(f"/api/v1/applications/{submitted.id}/attachments/{kind}", headers=bearer),
    ]
    for response in downloads:
        assert response.status_code == 200, response.request.path
        assert response.mimetype == "application/pdf"
        assert response.data.startswith(b"%PDF")
        # Saved, never shown in the site's own origin.
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert_hardened(response, private=True)


def _https_app(app, tmp_path, **settings):
    served = create_app(
        {
            **{
                key: app.config[key]
                for key in (
                    "SQLALCHEMY_DATABASE_URI",
                    "ARGON2",
                    "BABEL_TRANSLATION_DIRECTORIES",
                    "SECRET_KEY",
                    "TESTING",
                    "WTF_CSRF_ENABLED",
                )
            },
            **settings,
        },
        instance_path=str(tmp_path / "https-instance"),
    )
    return served.test_client()


def _cookies_and_hsts(client, **request):
    """Signs in (a session cookie) and chooses a language; what came back."""
    answers = [
        client.post(
            "/accedi", data={"email": "sicura@example.it", "password": PASSWORD}, **request
        ),
        client.get("/?lang=en", **request),
    ]
    cookies = [c for answer in answers for c in answer.headers.getlist("Set-Cookie")]
    hsts = {answer.headers.get("Strict-Transport-Security") for answer in answers}
    assert answers[0].status_code == 302  # signed in
    assert cookies
    return cookies, hsts


def test_hsts_and_secure_cookies_only_behind_a_trusted_proxy_saying_https(app, tmp_path):
    create_user("applicant", email="sicura@example.it")
    db.session.commit()
    forwarded = {"headers": {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}}

    # Anyone can send X-Forwarded-Proto: without TRUSTED_PROXIES it means nothing.
    cookies, hsts = _cookies_and_hsts(_https_app(app, tmp_path), **forwarded)
    assert hsts == {None}
    assert not any("secure" in c.lower() for c in cookies)

    # Behind the configured proxy, over plain HTTP: still nothing.
    proxied = _https_app(app, tmp_path, TRUSTED_PROXIES=1)
    cookies, hsts = _cookies_and_hsts(proxied)
    assert hsts == {None}
    assert not any("secure" in c.lower() for c in cookies)

    # Behind the configured proxy that says HTTPS: HSTS, and every cookie Secure.
    cookies, hsts = _cookies_and_hsts(proxied, **forwarded)
    assert hsts == {"max-age=31536000"}
    assert all("; Secure" in c for c in cookies), cookies

    # Served over HTTPS directly (no proxy): the same.
    cookies, hsts = _cookies_and_hsts(_https_app(app, tmp_path), base_url="https://localhost")
    assert hsts == {"max-age=31536000"}
    assert all("; Secure" in c for c in cookies), cookies


def test_the_trusted_proxy_gives_the_client_address(app, tmp_path):
    seen = []
    proxied = _https_app(app, tmp_path, TRUSTED_PROXIES=1)

    @proxied.application.route("/prova-indirizzo")
    def address():
        from flask import request

        seen.append(request.remote_addr)
        return "ok"

    proxied.get("/prova-indirizzo", headers={"X-Forwarded-For": "203.0.113.9"})
    plain = _https_app(app, tmp_path)
    plain.application.add_url_rule("/prova-indirizzo", view_func=address)
    plain.get("/prova-indirizzo", headers={"X-Forwarded-For": "203.0.113.9"})
    assert seen == ["203.0.113.9", "127.0.0.1"]


# --- 2. deeply nested JSON -------------------------------------------------------------------

NESTED = b"[" * 100_000 + b"]" * 100_000


def _api_targets(app):
    """Every POST/PATCH endpoint, with a token of a role it accepts (path ids need not
    exist: the body is read before anything is looked up)."""
    tokens = {}
    client = app.test_client()
    for operation in OPERATIONS:
        if operation.method not in ("post", "patch"):
            continue
        headers = {}
        if operation.roles is not None:
            role = operation.roles[0] if operation.roles else "applicant"
            if role not in tokens:
                user = create_user(role)
                db.session.commit()
                tokens[role] = token_for(client, user.email)
            headers = tokens[role]
        path = "/api/v1" + re.sub(
            r"\{(\w+)\}", lambda m: "1" if m.group(1).endswith("id") else "x", operation.path
        )
        yield operation, path, headers


def test_deep_json_is_a_400_on_every_api_endpoint_and_logs_no_error(app, client, caplog):
    targets = list(_api_targets(app))
    assert len([t for t in targets if t[0].body is not None]) >= 5
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        for operation, path, headers in targets:
            response = client.open(
                path,
                method=operation.method.upper(),
                data=NESTED,
                content_type="application/json",
                headers=headers,
            )
            where = f"{operation.method.upper()} {path}"
            if operation.body is not None:
                assert response.status_code == 400, (where, response.get_json())
                assert response.get_json()["error"]
            else:  # no JSON body read at all: whatever it says, not a failure
                assert response.status_code < 500, where
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_deep_json_posted_to_the_pages_is_a_400_not_a_500(app, client, caplog, submitted):
    """Flask-WTF reads a JSON post with request.get_json (Python's json, recursive): the
    pages' forms get the same 400."""
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        for url in ("/accedi", "/registrazione"):  # signed out
            response = client.post(url, data=NESTED, content_type="application/json")
            assert response.status_code == 400, url
        sign_in(client, submitted.created_by)
        for url in (f"/domande/{submitted.id}/ritira", f"/domande/{submitted.id}/allegati"):
            response = client.post(url, data=NESTED, content_type="application/json")
            assert response.status_code == 400, url
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_the_json_reader_keeps_its_answers_for_normal_json(app):
    assert app.json.loads('{"a": [1, 2.5, "x", null, true]}') == {"a": [1, 2.5, "x", None, True]}
    with pytest.raises(ValueError):
        app.json.loads(NESTED)


# --- 4. a refused upload a browser can read ----------------------------------------------------

LIMIT = 1024 * 1024  # MAX_CONTENT_LENGTH of the served app: 1 MB


@pytest.fixture
def gunicorn(app, tmp_path):
    """bando under gunicorn (one sync worker, as the README serves it) on this test's
    database, with CSRF on and a 1 MB request limit."""
    db.session.commit()
    settings = {
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "BABEL_TRANSLATION_DIRECTORIES": app.config["BABEL_TRANSLATION_DIRECTORIES"],
        "ARGON2": app.config["ARGON2"],
        "SECRET_KEY": "gunicorn-tests-" + "x" * 32,
        "MAIL_SERVER": None,
        "MAX_CONTENT_LENGTH": LIMIT,
        "MAX_ATTACHMENT_BYTES": LIMIT // 2,
    }
    with Gunicorn(tmp_path / "gunicorn-instance", settings) as server:
        yield server


def post_over_socket(port, path, body: bytes, content_type: str):
    """A plain HTTP/1.1 client: sends the whole body, then reads the answer."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def multipart(size: int) -> tuple[bytes, str]:
    boundary = "confine-di-prova"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="enorme.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    body += b"%PDF-1.4\n" + b"0" * size + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_an_oversized_upload_gets_a_readable_413_page_not_a_reset(gunicorn):
    # 24 MB: far more than the socket buffers hold, so the client is still sending when
    # the server decides.
    body, content_type = multipart(24 * 1024 * 1024)
    status, headers, page = post_over_socket(gunicorn.port, "/accedi", body, content_type)
    assert status == 413
    html = page.decode()
    assert '<html lang="it">' in html
    assert "Il file o la richiesta sono troppo grandi." in html
    assert "al massimo 0,5 MB" in html and "al massimo 1 MB" in html
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "Traceback" not in html


def test_an_oversized_api_body_gets_a_readable_413_json(gunicorn):
    body = b'{"email": "' + b"a" * (24 * 1024 * 1024) + b'", "password": "x"}'
    status, headers, answer = post_over_socket(
        gunicorn.port, "/api/v1/tokens", body, "application/json"
    )
    assert status == 413
    assert headers["Content-Type"] == "application/json"
    assert b"larger than 1 MB" in answer


def test_a_body_over_the_drain_bound_is_not_read(app):
    """The server reads a refused body only up to REQUEST_DRAIN_BYTES."""
    app.config.update(MAX_CONTENT_LENGTH=1000, REQUEST_DRAIN_BYTES=10_000)
    reads = []

    class CountingInput:
        def __init__(self, size):
            self.left = size

        def read(self, n=-1):
            n = self.left if n is None or n < 0 else min(n, self.left)
            self.left -= n
            reads.append(n)
            return b"x" * n

    for size, drained in ((5_000, 5_000), (50_000, 0)):
        reads.clear()
        response = app.test_client().post(
            "/accedi",
            environ_overrides={
                "wsgi.input": CountingInput(size),
                "CONTENT_LENGTH": str(size),
                "CONTENT_TYPE": "multipart/form-data; boundary=x",
            },
        )
        assert response.status_code == 413
        assert sum(reads) == drained


def test_the_settings_have_safe_defaults(app):
    """No proxy is trusted unless configured: a client's X-Forwarded-Proto is ignored."""
    assert "TRUSTED_PROXIES" not in app.config
    assert security.TRUSTED_PROXIES == 0
    with app.test_request_context("/", headers={"X-Forwarded-Proto": "https"}):
        from flask import request

        assert not request.is_secure
