"""The rate limits of the accounts' pages and API (bando.core.ratelimit.LIMITS holds their
values): one budget per client address shared by the page and the API of each thing."""

from flask import g
from flask_limiter.util import get_remote_address

from bando.core.ratelimit import limited


def sign_in_failed(response) -> bool:
    """Whether this request counts against the sign-in limit of its address: only a
    refused password does, never a success (the view sets the flag)."""
    return bool(g.get("sign_in_failed"))


login_limit = limited(
    "login", key_func=get_remote_address, deduct_when=sign_in_failed, methods=["POST"]
)


def accepted(response) -> bool:
    """Whether a registration or a request for a link went through (and may have sent
    mail): only those count, so that a refused form changes nothing."""
    return response.status_code in (202, 302)


registration_limit = limited(
    "registrations", key_func=get_remote_address, deduct_when=accepted, methods=["POST"]
)
confirmation_limit = limited(
    "confirmations", key_func=get_remote_address, deduct_when=accepted, methods=["POST"]
)
password_reset_limit = limited(
    "password_resets", key_func=get_remote_address, deduct_when=accepted, methods=["POST"]
)
