"""The administration API: accounts (listed, staff made with an invitation, deactivated,
reactivated, sent a password link), a call loaded from its TOML file, the audit chain
checked. Administrators only."""

from flask import Response

from bando.accounts.models import User
from bando.admin import operations
from bando.admin.schemas import (
    AccountList,
    AccountOut,
    AuditQuery,
    CallFile,
    ChainCheck,
    NewStaffAccount,
    TrailEvents,
    UserQuery,
)
from bando.calls.api import edition_or_404
from bando.core import audit
from bando.core.api import ApiError, endpoint
from bando.core.operations import commit
from bando.public.api import edition_detail
from bando.public.schemas import EditionDetail

ADMIN = ("admin",)


def account_view(user: User) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "full_name": user.full_name,
        "role": user.role,
        "active": user.active,
        "email_confirmed": user.email_confirmed,
        "organisation": user.organisation.name if user.organisation else None,
        "created_at": user.created_at,
    }


def _user(user_id) -> User:
    user = operations.user_or_none(user_id)
    if user is None:
        raise ApiError(404, "no such user")
    return user


@endpoint(
    "GET",
    "/users",
    summary="Every account, by e-mail, a page at a time (filters: role, status, text)",
    tag="administration",
    roles=ADMIN,
    query=UserQuery,
    ok=(200, "one page of the accounts, and how many match in all", AccountList),
)
def list_users(user, query: UserQuery):
    where = operations.matching(role=query.role, status=query.status, text=query.q)
    total = operations.count_users(where)
    rows = operations.users(where, limit=query.limit, offset=query.offset)
    return AccountList.of(
        {
            "users": [account_view(row) for row in rows],
            "total": total,
            "limit": query.limit,
            "offset": query.offset,
        }
    )


@endpoint(
    "POST",
    "/users",
    summary="Make a staff account: the person chooses the password through the link "
    "mailed to the address",
    tag="administration",
    roles=ADMIN,
    body=NewStaffAccount,
    ok=(201, "made; the invitation is queued", AccountOut),
    errors={409: "another request made this address meanwhile"},
)
def create_staff_user(user, body: NewStaffAccount):
    made = operations.invite_staff(user, body.email, body.role, body.full_name)
    commit("un account con questo indirizzo è appena stato creato", code="user_exists")
    return AccountOut.of(account_view(made))


@endpoint(
    "GET",
    "/users/<int:user_id>",
    summary="One account",
    tag="administration",
    roles=ADMIN,
    ok=(200, "the account", AccountOut),
)
def get_user(user, user_id):
    return AccountOut.of(account_view(_user(user_id)))


@endpoint(
    "POST",
    "/users/<int:user_id>/deactivate",
    summary="The account can no longer sign in; its sessions and tokens end now",
    tag="administration",
    roles=ADMIN,
    ok=(200, "deactivated", AccountOut),
    errors={409: "own account, already inactive, or the last active administrator"},
)
def deactivate_user(user, user_id):
    target = _user(user_id)
    operations.deactivate(user, target)
    commit()
    return AccountOut.of(account_view(target))


@endpoint(
    "POST",
    "/users/<int:user_id>/reactivate",
    summary="The account signs in again with its password",
    tag="administration",
    roles=ADMIN,
    ok=(200, "reactivated", AccountOut),
    errors={409: "already active"},
)
def reactivate_user(user, user_id):
    target = _user(user_id)
    operations.reactivate(user, target)
    commit()
    return AccountOut.of(account_view(target))


@endpoint(
    "POST",
    "/users/<int:user_id>/password-link",
    summary="Mail the account a link to choose a new password (the current one stays "
    "valid until the link is used)",
    tag="administration",
    roles=ADMIN,
    ok=(204, "queued", None),
    errors={409: "the account is deactivated"},
)
def send_password_link(user, user_id):
    operations.send_password_link(user, _user(user_id))
    commit()
    return Response(status=204)


@endpoint(
    "POST",
    "/editions",
    summary="Load a call from its TOML file: a new call, or a call nobody has applied to "
    "yet written again; a bad file changes nothing",
    tag="administration",
    roles=ADMIN,
    body=CallFile,
    ok=(201, "a new call", EditionDetail),
    errors={
        200: ("an existing call written again", EditionDetail),
        422: "the file's problems, by key",
    },
)
def load_call(user, body: CallFile):
    edition, created = operations.load_call_file(user, body.toml, body.name)
    return EditionDetail.of(edition_detail(edition)), 201 if created else 200


@endpoint(
    "GET",
    "/audit",
    summary="Check the audit chain: every event against its hash and the one before it",
    tag="administration",
    roles=ADMIN,
    ok=(200, "the check's result", ChainCheck),
)
def check_audit_chain(user):
    result = operations.chain_check()
    return ChainCheck.of(
        {
            "whole": result.ok,
            "events": result.count,
            "first_bad_event": result.bad.id if result.bad is not None else None,
            "problem": result.problem,
        }
    )


@endpoint(
    "GET",
    "/audit/events",
    summary="The audit trail, newest first, a page at a time (filters: subject, call, who, days)",
    tag="administration",
    roles=ADMIN,
    query=AuditQuery,
    ok=(200, "one page of the events, and how many match in all", TrailEvents),
    errors={404: "no call with that code"},
)
def list_audit_events(user, query: AuditQuery):
    edition_id = None if query.edition is None else edition_or_404(query.edition).id
    where = operations.audit_matching(
        subject=query.subject,
        edition_id=edition_id,
        text=query.q,
        since=query.since,
        until=query.until,
    )
    total = operations.count_audit_events(where)
    rows = operations.audit_events(where, limit=query.limit, offset=query.offset)
    return TrailEvents.of(
        {
            "events": [
                {
                    **audit.event_view(event),
                    "subject": event.subject,
                    "edition": code,
                    "application_id": event.application_id,
                    "protocol": protocol,
                }
                for event, code, protocol in rows
            ],
            "total": total,
            "limit": query.limit,
            "offset": query.offset,
        }
    )
