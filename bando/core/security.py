"""The HTTP hardening every response gets: security headers, HTTPS-only cookies and HSTS
behind a trusted proxy, no caching of what belongs to a signed-in user, a JSON reader that
refuses deep nesting, and the draining of a refused request body so a browser can read
the 413 page.

A small after_request hook rather than Flask-Talisman: Talisman trusts X-Forwarded-Proto
from anyone for HSTS, makes the session cookie Secure for every request (HTTP included) and
knows nothing of Cache-Control; what remains of it here is a handful of constant headers.
"""

import time

from flask import abort, current_app, g, request, session
from flask.json.provider import DefaultJSONProvider
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wsgi import LimitedStream

# Settings (app.config.get(KEY, default)); the README lists them.
TRUSTED_PROXIES = 0  # proxies in front whose X-Forwarded-For/-Proto count; 0: none
HSTS_SECONDS = 365 * 24 * 3600  # Strict-Transport-Security over HTTPS; 0: not sent
REQUEST_DRAIN_BYTES = 64 * 1024 * 1024  # a refused body read and dropped, at most
REQUEST_DRAIN_SECONDS = 20  # …for at most this long (within gunicorn's 30 s worker timeout)
# The design kit's bundle includes video.js, which on load inserts one <style> element
# (empty, then the player's default sizes): those two contents are allowed by their hash,
# nothing else inline. A new version of the kit may change them: the browser test
# (tests/browser/test_security.py) then fails with the hash Chromium asks for.
KIT_STYLE_HASHES = (
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",  # "" (the element, still empty)
    "'sha256-wPXhisdsFu1DtHYH1D9W5isSGqS5vIPn6QJWSNLqfCM='",  # .video-js { width: 300px; …
)
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",  # the design kit's bundle only: no inline script anywhere
        # No style attribute (classes in bando.css) and no <style> but the kit's own.
        "style-src 'self' " + " ".join(KIT_STYLE_HASHES),
        "img-src 'self' data:",  # the kit's CSS draws some controls with data: SVGs
        "font-src 'self' data:",  # …and embeds the video player's icon font
        "connect-src 'self'",
        "manifest-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)

# Browser features the site never uses, turned off for it and anything it could embed.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
)

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Links carry application ids and one-time tokens: other sites learn nothing.
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": PERMISSIONS_POLICY,
}


def init_app(app):
    app.json = BoundedJSONProvider(app)
    policy = app.config.get("CONTENT_SECURITY_POLICY", CONTENT_SECURITY_POLICY)

    @app.before_request
    def _no_nul_in_the_path():
        # No path of bando has a NUL (%00); PostgreSQL refuses one in any text it compares,
        # which would otherwise end as an internal error wherever a path's code is looked up.
        if "\x00" in request.path:
            abort(404)

    @app.after_request
    def _security_headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if policy:
            response.headers.setdefault("Content-Security-Policy", policy)
        if _private(response):
            response.headers["Cache-Control"] = "no-store"
            response.headers.pop("Expires", None)
            response.headers.pop("ETag", None)
        return response

    app.wsgi_app = HttpsOnly(app.wsgi_app, app.config.get("HSTS_SECONDS", HSTS_SECONDS))
    proxies = int(app.config.get("TRUSTED_PROXIES", TRUSTED_PROXIES) or 0)
    if proxies > 0:
        # Outermost, so that what is inside sees the client's scheme and address. The host
        # is not taken from the proxy: links in e-mails are built from it.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)


def _private(response) -> bool:
    """Whether the response must not be kept by any cache: a download, the answer to
    anything but a reading (a new token, a registration), or anything answered to a
    signed-in person or a bearer token (static files excepted: the same for everyone)."""
    if request.endpoint == "static":
        return False
    if request.method not in ("GET", "HEAD") or g.get("private"):
        return True  # a change's answer, or a page a view marks private (a secret link's)
    if response.headers.get("Content-Disposition", "").lower().startswith("attachment"):
        return True
    if "Authorization" in request.headers:
        return True
    user = g.get("_login_user")  # Flask-Login's user of this request, when it was loaded
    if user is not None and user.is_authenticated:
        return True
    # Without loading the user (no database work here): a session or a remember-me
    # cookie that names one.
    if current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies:
        return True
    return "_user_id" in session


class HttpsOnly:
    """Over HTTPS (direct, or said by a trusted proxy through ProxyFix): every cookie
    Secure, whoever sets it (session, remember-me, language), and HSTS."""

    def __init__(self, wsgi_app, hsts_seconds: int):
        self.wsgi_app = wsgi_app
        self.hsts = f"max-age={int(hsts_seconds)}" if hsts_seconds else None

    def __call__(self, environ, start_response):
        if environ.get("wsgi.url_scheme") != "https":
            return self.wsgi_app(environ, start_response)

        def secure_start_response(status, headers, exc_info=None):
            headers = [
                (name, _secure_cookie(value) if name.lower() == "set-cookie" else value)
                for name, value in headers
            ]
            if self.hsts and not any(n.lower() == "strict-transport-security" for n, _ in headers):
                headers.append(("Strict-Transport-Security", self.hsts))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, secure_start_response)


def _secure_cookie(value: str) -> str:
    attributes = {part.strip().lower() for part in value.split(";")[1:]}
    return value if "secure" in attributes else value + "; Secure"


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, with a body nested beyond the interpreter's recursion limit refused
    as invalid JSON (400 from request.get_json, as Flask-WTF uses for JSON posts) rather
    than a RecursionError (500)."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def drain_request_body(app) -> bool:
    """Reads and drops what is left of the request body, within the configured bounds, so
    that the server can close the connection without a reset: the client, still sending,
    then reads the answer (a 413) instead of "connection reset". False when the body is
    too large to drain; the server's own handling applies then."""
    environ = request.environ
    limit = int(app.config.get("REQUEST_DRAIN_BYTES", REQUEST_DRAIN_BYTES))
    seconds = float(app.config.get("REQUEST_DRAIN_SECONDS", REQUEST_DRAIN_SECONDS))
    length = request.content_length
    if "wsgi.input_terminated" in environ:
        stream = environ["wsgi.input"]  # chunked, ended by the server: safe to read to EOF
    elif not length:
        return True
    elif length > limit:
        return False
    else:
        # The body stream of the request if reading had begun (it knows how far it got),
        # else a fresh one over the whole Content-Length.
        stream = request.__dict__.get("stream") or LimitedStream(environ["wsgi.input"], length)
    deadline = time.monotonic() + seconds
    drained = 0
    try:
        while drained <= limit and time.monotonic() < deadline:
            chunk = stream.read(64 * 1024)
            if not chunk:
                return True
            drained += len(chunk)
    except Exception:  # the client went away, or the stream refuses more: nothing to drain
        return False
    return False
