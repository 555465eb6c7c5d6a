"""The committee's API: the officer's committee of a call, the declaration, reviews."""

from sqlalchemy import select

from bando.accounts.models import User
from bando.applications import rules
from bando.calls.api import edition_or_404
from bando.calls.models import Edition
from bando.core.api import ApiError, endpoint
from bando.core.extensions import db
from bando.core.operations import commit
from bando.core.types import row_id
from bando.evaluation import operations
from bando.evaluation.models import Review
from bando.evaluation.schemas import (
    CommitteeOut,
    DeclarationIn,
    DeclarationOut,
    EvaluatorIn,
    ReopenIn,
    ReviewIn,
    ReviewOut,
    Reviews,
    StatisticsOut,
)


def _application(user, application_id):
    application = rules.visible_application(user, application_id)
    if application is None:
        raise ApiError(404, "application not found")
    return application


def committee_view(edition: Edition) -> dict:
    declared = {d.evaluator_id: d for d in edition.declarations}
    return {
        "edition": edition.code,
        "evaluators": [
            {
                "email": a.evaluator.email,
                "name": a.evaluator.full_name,
                "declared_at": declared[a.evaluator_id].signed_at
                if a.evaluator_id in declared
                else None,
            }
            for a in edition.assignments
        ],
    }


def review_view(review: Review) -> dict:
    scores = {s.criterion.code: s.points for s in review.scores}
    return {
        "id": review.id,
        "application_id": review.application_id,
        "evaluator": review.evaluator.email,
        "conflict_of_interest": review.conflict_of_interest,
        "scores": scores,
        "total": sum(scores.values()),
        "comment": review.comment,
        "submitted_at": review.submitted_at,
    }


@endpoint(
    "GET",
    "/editions/<code>/committee",
    summary="The evaluators of a call and when each signed the declaration",
    tag="evaluation",
    roles=("officer",),
    ok=(200, "the committee", CommitteeOut),
)
def get_committee(user, code):
    return CommitteeOut.of(committee_view(edition_or_404(code)))


@endpoint(
    "POST",
    "/editions/<code>/committee",
    summary="Add an evaluator to the committee of a call",
    tag="evaluation",
    roles=("officer",),
    body=EvaluatorIn,
    ok=(201, "added", CommitteeOut),
    errors={409: "already on the committee"},
)
def add_evaluator(user, code, body: EvaluatorIn):
    edition = edition_or_404(code)
    evaluator = db.session.scalar(select(User).where(User.email == body.evaluator.lower()))
    if evaluator is None:
        raise ApiError(422, "unknown evaluator", {"evaluator": ["nessun utente con questa email"]})
    operations.assign_evaluator(edition, user, evaluator)
    commit()
    return CommitteeOut.of(committee_view(edition))


@endpoint(
    "DELETE",
    "/editions/<code>/committee/<int:user_id>",
    summary="Take an evaluator off the committee of a call (only before any review)",
    tag="evaluation",
    roles=("officer",),
    ok=(200, "removed", CommitteeOut),
    errors={409: "the evaluator has already reviewed (code has_reviews)"},
)
def remove_evaluator(user, code, user_id):
    edition = edition_or_404(code)
    assignment = next((a for a in edition.assignments if a.evaluator_id == user_id), None)
    if assignment is None:
        raise ApiError(404, "not on the committee of this call")
    operations.remove_evaluator(edition, user, assignment.evaluator)
    commit()
    return CommitteeOut.of(committee_view(edition))


@endpoint(
    "POST",
    "/editions/<code>/conflict-declaration",
    summary="Sign the conflict-of-interest declaration for a call (before any proposal)",
    tag="evaluation",
    roles=("evaluator",),
    body=DeclarationIn,
    body_required=False,
    ok=(201, "signed", DeclarationOut),
    errors={403: "not on the committee of this call", 409: "already signed"},
)
def sign_declaration(user, code, body: DeclarationIn):
    edition = edition_or_404(code)
    declaration = operations.sign_declaration(edition, user, body.linked_organisations)
    commit()
    return DeclarationOut.of(
        {
            "edition": edition.code,
            "evaluator": user.email,
            "text": declaration.text,
            "linked_organisations": [o.tax_code for o in declaration.linked_organisations],
            "signed_at": declaration.signed_at,
        }
    )


@endpoint(
    "GET",
    "/applications/<int:application_id>/reviews",
    summary="The reviews of a proposal this user may read",
    tag="evaluation",
    roles=("officer", "admin", "evaluator"),
    ok=(200, "the reviews", Reviews),
)
def list_reviews(user, application_id):
    application = _application(user, application_id)
    everyone = rules.can_see_all_scores(user, application)
    shown = [r for r in application.reviews if everyone or r.evaluator_id == user.id]
    if user.role == "evaluator" and everyone:
        # The others' drafts are theirs until sent.
        shown = [r for r in shown if r.submitted_at is not None or r.evaluator_id == user.id]
    return Reviews.of(
        {
            "application_id": application.id,
            "state": application.state,
            "reviews": [review_view(r) for r in sorted(shown, key=lambda r: r.id)],
        }
    )


@endpoint(
    "POST",
    "/applications/<int:application_id>/reviews",
    summary="Score a proposal (or recuse from it)",
    tag="evaluation",
    roles=("evaluator",),
    body=ReviewIn,
    ok=(200, "saved", ReviewOut),
    errors={403: "the declaration is not signed", 409: "not scorable by this evaluator"},
)
def post_review(user, application_id, body: ReviewIn):
    application = _application(user, application_id)
    if body.conflict_of_interest:
        review = operations.recuse(application, user, body.reason)
    else:
        review = operations.save_review(
            application, user, dict(body.scores), body.comment, submit=body.submit
        )
    commit()
    return ReviewOut.of(review_view(review))


@endpoint(
    "POST",
    "/reviews/<int:review_id>/reopen",
    summary="Send a submitted review back to its evaluator, saying why",
    tag="evaluation",
    roles=("officer",),
    body=ReopenIn,
    ok=(200, "reopened", ReviewOut),
    errors={409: "not submitted, or the ranking is approved"},
)
def reopen_review(user, review_id, body: ReopenIn):
    review = db.session.get(Review, review_id) if row_id(review_id) else None
    if review is None or not rules.can_see(user, review.application):
        raise ApiError(404, "review not found")
    operations.reopen_review(review, user, body.reason)
    commit()
    return ReviewOut.of(review_view(review))


@endpoint(
    "GET",
    "/editions/<code>/statistics",
    summary="Where the committee disagrees: evaluators far from the panel, proposals far apart",
    tag="evaluation",
    roles=("officer",),
    ok=(200, "the figures", StatisticsOut),
)
def get_statistics(user, code):
    return StatisticsOut.of(operations.statistics(edition_or_404(code)))
