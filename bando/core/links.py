"""Absolute links to this site, for what leaves it (e-mails, the open-data files).

A link in an e-mail carries a token (a confirmation, a new password, an invitation): built
from a forged `Host` header it would send that token to whoever forged it. So its base
(site_url) is PUBLIC_URL when set; without it, the request's own host only when it is this
machine (development, `make run`) or one of Flask's TRUSTED_HOSTS (which then refuses every
other host anyway); any other host gives the local address, and the log says to set
PUBLIC_URL. A link that carries nothing (public_url: the open-data files' links to the
public pages) may follow the host the reader asked.
"""

import ipaddress
import re

from flask import current_app, has_request_context, request
from werkzeug.sansio.utils import host_is_trusted

LOCAL_BASE = "http://localhost:5000/"
# A Host header: a name or an IP address (IPv6 in brackets), perhaps a port; nothing else.
HOST = re.compile(r"(?P<name>[A-Za-z0-9.-]+|\[(?P<ipv6>[0-9A-Fa-f:.]+)\])(?::[0-9]{1,5})?")


def is_loopback(host: str) -> bool:
    """Whether `host` (a Host header: a name or address, perhaps with a port) is this
    machine."""
    match = HOST.fullmatch(host)
    if match is None:
        return False
    name = match["ipv6"] or match["name"]
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def trusted_host(host: str, config) -> bool:
    """Whether links may be built on `host` when PUBLIC_URL is not set."""
    trusted = config.get("TRUSTED_HOSTS")
    return is_loopback(host) or bool(trusted and host_is_trusted(host, trusted))


def public_url(path: str) -> str:
    """An absolute link to a public page, carrying no token (see the module's docstring)."""
    base = current_app.config.get("PUBLIC_URL")
    if not base and has_request_context():
        base = request.host_url
    return (base or LOCAL_BASE).rstrip("/") + path


def site_url(path: str) -> str:
    """An absolute link to `path` on this site, for an e-mail (see the module's docstring)."""
    config = current_app.config
    base = config.get("PUBLIC_URL")
    if not base and has_request_context():
        if trusted_host(request.host, config):
            base = request.host_url
        else:
            current_app.logger.warning(
                "PUBLIC_URL is not set: a link asked under the host %r points to %s instead "
                "(set PUBLIC_URL to this site's address)",
                request.host[:200],
                LOCAL_BASE,
            )
    return (base or LOCAL_BASE).rstrip("/") + path
