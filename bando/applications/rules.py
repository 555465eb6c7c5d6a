"""Who may see and do what with an application — the one place every page and endpoint
asks. Plain predicates with readable names; a user who may not see an application gets
a 404, never a hint that it exists.

- The organisation's own users see everything of their applications, drafts included.
- A draft is the organisation's own work: no one on the staff sees it, nor its events.
- Officers and administrators see every submitted application.
- An evaluator sees only eligible (and later, scored) proposals of calls they sit on and
  have signed the conflict-of-interest declaration for; never those of an organisation
  they named in it, nor one they recused from; the other evaluators' scores only once
  they submitted their own.
- Finance sees proposals from the allocation on.
- Applicants see the staff by role («istruttore»), never by name or e-mail.

`can_see` answers for one application; `listed` says the same as SQL conditions, for the
lists (pages and API) that filter, count and page in the database: the two are kept
equal by tests/bando/applications/test_listing.py.

The committee's rows are read through the Edition's and the Application's relationships
(by name), so this module needs no import of bando.evaluation.
"""

from sqlalchemy import and_, false

from bando.accounts.models import STAFF_ROLES, Organisation, User
from bando.applications.models import Application
from bando.calls.models import Edition
from bando.core.extensions import db
from bando.core.labels import role_label
from bando.core.types import row_id

# What an evaluator may be shown, and what finance may.
EVALUATION_STATES = ("eligible", "scored", "funded", "reserve", "not_funded")
ALLOCATED_STATES = ("funded", "reserve", "not_funded", "reported", "closed", "renounced", "revoked")


def is_member(user: User | None, application: Application) -> bool:
    """A user of the organisation that owns the application."""
    return (
        user is not None
        and getattr(user, "role", None) == "applicant"
        and user.organisation_id is not None
        and user.organisation_id == application.organisation_id
    )


def sits_on_committee(user: User | None, edition) -> bool:
    return getattr(user, "role", None) == "evaluator" and any(
        a.evaluator_id == user.id for a in edition.assignments
    )


def declaration_of(user: User | None, edition):
    """The evaluator's signed conflict-of-interest declaration for the call, or None."""
    if user is None:
        return None
    return next((d for d in edition.declarations if d.evaluator_id == user.id), None)


def has_declared(user: User | None, edition) -> bool:
    return sits_on_committee(user, edition) and declaration_of(user, edition) is not None


def is_linked(user: User | None, application: Application) -> bool:
    """The evaluator named the application's organisation in their declaration."""
    declaration = declaration_of(user, application.edition)
    return declaration is not None and any(
        o.id == application.organisation_id for o in declaration.linked_organisations
    )


def review_of(user: User | None, application: Application):
    if user is None:
        return None
    return next((r for r in application.reviews if r.evaluator_id == user.id), None)


def has_recused(user: User | None, application: Application) -> bool:
    review = review_of(user, application)
    return review is not None and review.conflict_of_interest


def can_evaluate(user: User | None, application: Application) -> bool:
    """An evaluator who may open this proposal (and score it while it is eligible)."""
    return (
        application.state in EVALUATION_STATES
        and has_declared(user, application.edition)
        and not is_linked(user, application)
        and not has_recused(user, application)
    )


def can_score(user: User | None, application: Application) -> bool:
    """Scores are given while the proposal waits for the ranking (a review the officer
    reopened may be sent again), and not twice."""
    review = review_of(user, application)
    return (
        application.state in ("eligible", "scored")
        and application.edition.state in ("open", "closed")
        and can_evaluate(user, application)
        and (review is None or review.submitted_at is None)
    )


def can_see_all_scores(user: User | None, application: Application) -> bool:
    """The officer always; an evaluator once their own review is submitted."""
    role = getattr(user, "role", None)
    if role in ("officer", "admin"):
        return application.state != "draft"
    review = review_of(user, application)
    return can_evaluate(user, application) and review is not None and review.counts


def can_see(user: User | None, application: Application) -> bool:
    if is_member(user, application):
        return True
    role = getattr(user, "role", None)
    # Never sent (a draft, or a draft withdrawn before sending): the organisation's own.
    if role not in STAFF_ROLES or application.state == "draft" or application.protocol is None:
        return False
    if role == "evaluator":
        return can_evaluate(user, application)
    if role == "finance":
        return application.state in ALLOCATED_STATES
    return True  # officer, admin


def listed(user: User | None) -> list:
    """`can_see` as SQL conditions on Application: what this user's lists may hold."""
    role = getattr(user, "role", None)
    if role == "applicant":
        if user.organisation_id is None:
            return [false()]
        return [Application.organisation_id == user.organisation_id]
    if role not in STAFF_ROLES:
        return [false()]
    sent = [Application.state != "draft", Application.protocol.is_not(None)]
    if role == "evaluator":
        return [*sent, *_evaluable(user)]
    if role == "finance":
        return [*sent, Application.state.in_(ALLOCATED_STATES)]
    return sent  # officer, admin


def _evaluable(user: User) -> list:
    """can_evaluate as SQL: the call's committee, the declaration signed, the organisation
    not named in it, no recusal."""
    assignment = Edition.assignments.property.mapper.class_
    declaration = Edition.declarations.property.mapper.class_
    review = Application.reviews.property.mapper.class_
    own = declaration.evaluator_id == user.id
    linked = declaration.linked_organisations.any(Organisation.id == Application.organisation_id)
    return [
        Application.state.in_(EVALUATION_STATES),
        Application.edition.has(
            and_(
                Edition.assignments.any(assignment.evaluator_id == user.id),
                Edition.declarations.any(own),
            )
        ),
        ~Application.edition.has(Edition.declarations.any(and_(own, linked))),
        ~Application.reviews.any(
            and_(review.evaluator_id == user.id, review.conflict_of_interest.is_(True))
        ),
    ]


def can_act_as_owner(user: User | None, application: Application) -> bool:
    """Edit, attach, submit, answer, withdraw: the organisation, not the staff."""
    return is_member(user, application)


def can_decide_admissibility(user: User | None, application: Application) -> bool:
    return getattr(user, "role", None) == "officer" and can_see(user, application)


def visible_application(user: User | None, application_id, options=()) -> Application | None:
    """The application if this user may see it; None for an unknown id and for someone
    else's alike. `options`: loader options for what the caller reads next."""
    try:
        application_id = int(application_id)
    except (TypeError, ValueError):
        return None
    if not row_id(application_id):
        return None
    application = db.session.get(Application, application_id, options=options)
    if application is None or not can_see(user, application):
        return None
    return application


# The committee's work and the officer's notes on the formal checks stay with the staff:
# the organisation learns the outcome (the moves of its proposal, the ranking), not each
# evaluator's points while the committee is at work, nor a recusal's reasons.
STAFF_ONLY_TRIGGERS = frozenset({"submit_review", "reopen_review", "recuse", "tick_check"})


def events_shown_to(viewer: User | None, events) -> list:
    """The events of an application's trail this viewer may read."""
    if getattr(viewer, "role", None) in STAFF_ROLES:
        return list(events)
    return [e for e in events if e.trigger not in STAFF_ONLY_TRIGGERS]


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
