"""What tests of any package need to finish a registration: the confirmation link that
bando mailed, followed as the person would (page) or sent to the API."""

import re

from sqlalchemy import select

from bando.core.extensions import db
from bando.core.models import Notification

LINK = re.compile(r"https?://\S+?(/conferma/([A-Za-z0-9_.\-]+))(?:\s|$)")


def confirmation_path(email: str) -> str:
    """The path of the latest confirmation link queued for `email`."""
    bodies = db.session.scalars(
        select(Notification.body)
        .where(Notification.to_address == email.lower())
        .order_by(Notification.id.desc())
    )
    for body in bodies:
        if match := LINK.search(body):
            return match.group(1)
    raise AssertionError(f"no confirmation link was sent to {email}")


def confirmation_token(email: str) -> str:
    return confirmation_path(email).rsplit("/", 1)[1]


def confirm_address(client, email: str) -> None:
    """Confirms the address by the page of its link (one click on its button)."""
    response = client.post(confirmation_path(email))
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


PASSWORD_LINK = re.compile(r"https?://\S+?(/password/nuova/[A-Za-z0-9_.\-]+)(?:\s|$)")


def mails_to(address: str) -> list[Notification]:
    """The e-mails queued for `address`, oldest first."""
    return list(
        db.session.scalars(
            select(Notification).where(Notification.to_address == address).order_by(Notification.id)
        )
    )


def password_path(address: str) -> str:
    """The path of the latest link to choose a password (a reset, an invitation) queued for
    `address`."""
    for mail in reversed(mails_to(address)):
        if match := PASSWORD_LINK.search(mail.body):
            return match.group(1)
    raise AssertionError(f"no password link was sent to {address}")
