"""Server-side sessions of the pages: opened at sign-in, checked on every request, ended by
sign-out, a password change or the deactivation of the user, and past their idle or
absolute timeout (SESSION_IDLE_MINUTES, SESSION_MAX_HOURS)."""

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, or_, select, update

from bando.accounts.models import User, UserSession
from bando.core.extensions import db
from bando.core.tick import tick_job
from bando.core.timeutil import utcnow

IDLE_MINUTES = 120
MAX_HOURS = 12
# The last activity is written at most this often: not one write per page.
TOUCH_EVERY = timedelta(minutes=1)
# Ended or expired sessions are kept this long (who was signed in, when), then removed.
KEEP_DAYS = 30


def idle_timeout() -> timedelta:
    return timedelta(minutes=int(current_app.config.get("SESSION_IDLE_MINUTES", IDLE_MINUTES)))


def absolute_timeout() -> timedelta:
    return timedelta(hours=int(current_app.config.get("SESSION_MAX_HOURS", MAX_HOURS)))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def open_session(user: User, *, now: datetime | None = None) -> str:
    """Adds (does not commit) a session of `user`; returns its secret for the cookie."""
    now = now or utcnow()
    secret = secrets.token_urlsafe(32)
    db.session.add(
        UserSession(
            user=user,
            secret_sha256=_digest(secret),
            created_at=now,
            last_seen_at=now,
            # As read with the password that was checked (ApiToken.credentials_version).
            credentials_version=user.credentials_version,
        )
    )
    return secret


def live(row: UserSession, now: datetime) -> bool:
    return (
        row.ended_at is None
        and now - row.last_seen_at < idle_timeout()
        and now - row.created_at < absolute_timeout()
    )


def user_for_session(user_id, secret: str, *, now: datetime | None = None) -> User | None:
    """The user of a live session (Flask-Login's user loader), else None."""
    now = now or utcnow()
    row = db.session.scalar(
        select(UserSession).where(UserSession.secret_sha256 == _digest(secret or ""))
    )
    if row is None or str(row.user_id) != str(user_id) or not live(row, now):
        return None
    if not row.user.active or row.credentials_version != row.user.credentials_version:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        # Its own short transaction: a page that only reads still counts as activity,
        # and the request's unit of work stays the request's.
        with db.engine.begin() as connection:
            connection.execute(
                update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now)
            )
    return row.user


def end_session(secret: str | None, *, now: datetime | None = None, reason="logout") -> None:
    """Ends (does not commit) the session of `secret`, if it is live."""
    if not secret:
        return
    db.session.execute(
        update(UserSession)
        .where(UserSession.secret_sha256 == _digest(secret), UserSession.ended_at.is_(None))
        .values(ended_at=now or utcnow(), end_reason=reason)
    )


def end_sessions_of(
    user: User, *, now: datetime | None = None, reason: str, keep: str | None = None
) -> int:
    """Ends (does not commit) every live session of `user` but the one of `keep`, which
    takes the user's credentials version (the one who changed the password stays in)."""
    query = update(UserSession).where(
        UserSession.user_id == user.id, UserSession.ended_at.is_(None)
    )
    if keep:
        query = query.where(UserSession.secret_sha256 != _digest(keep))
        db.session.execute(
            update(UserSession)
            .where(UserSession.secret_sha256 == _digest(keep), UserSession.user_id == user.id)
            .values(credentials_version=user.credentials_version)
        )
    return db.session.execute(query.values(ended_at=now or utcnow(), end_reason=reason)).rowcount


@tick_job(80)
def purge_old_sessions(now: datetime) -> list[str]:
    """Sessions ended or expired more than KEEP_DAYS ago."""
    before = now - timedelta(days=KEEP_DAYS)
    removed = db.session.execute(
        delete(UserSession).where(
            or_(UserSession.ended_at < before, UserSession.last_seen_at < before)
        )
    ).rowcount
    db.session.commit()
    return [f"sessions: {removed} old session(s) removed"] if removed else []
