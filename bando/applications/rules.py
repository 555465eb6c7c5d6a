"""Who may see and do what with an application — the one place every page and endpoint
asks. Plain predicates with readable names; a user who may not see an application gets
a 404, never a hint that it exists.

- The organisation's own users see everything of their applications, drafts included.
- A draft is the organisation's own work: no one on the staff sees it, nor its events.
- The staff see the rest (each role's stage is narrowed as its capability lands).
- Applicants see the staff by role («istruttore»), never by name or e-mail.
"""

from bando.accounts.models import STAFF_ROLES, User
from bando.applications.models import Application
from bando.core.extensions import db
from bando.core.labels import role_label


def is_member(user: User | None, application: Application) -> bool:
    """A user of the organisation that owns the application."""
    return (
        user is not None
        and user.role == "applicant"
        and user.organisation_id is not None
        and user.organisation_id == application.organisation_id
    )


def can_see(user: User | None, application: Application) -> bool:
    if is_member(user, application):
        return True
    if user is None or application.state == "draft":
        return False
    return user.role in STAFF_ROLES


def can_act_as_owner(user: User | None, application: Application) -> bool:
    """Edit, attach, submit, answer, withdraw: the organisation, not the staff."""
    return is_member(user, application)


def can_decide_admissibility(user: User | None, application: Application) -> bool:
    return user is not None and user.role == "officer" and can_see(user, application)


def visible_application(user: User | None, application_id) -> Application | None:
    """The application if this user may see it; None for an unknown id and for someone
    else's alike."""
    try:
        application_id = int(application_id)
    except (TypeError, ValueError):
        return None
    if not 0 < application_id < 2**31:  # the id column is a 32-bit integer on PostgreSQL
        return None
    application = db.session.get(Application, application_id)
    if application is None or not can_see(user, application):
        return None
    return application


def actor_shown_to(viewer: User | None, event) -> str:
    """Who acted, as this viewer may know it: the staff see addresses; an applicant sees a
    colleague by name and the staff by role."""
    if event.actor is None:
        return role_label("system")
    if getattr(viewer, "role", None) in STAFF_ROLES:
        return event.actor_label
    if event.actor.role == "applicant":
        return event.actor.full_name or event.actor.email
    return role_label(event.actor.role)
