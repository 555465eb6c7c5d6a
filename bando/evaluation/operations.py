"""The committee's work: the officer assigns evaluators to a call; each signs the
conflict-of-interest declaration before seeing any proposal; scores the proposals it may
see, or recuses from one; the officer may reopen a submitted review, with a reason.

Every act is an audit event. When a proposal has the reviews the call requires, the
submission of the last one moves it to `scored` (the lifecycle's complete_scoring, by the
system, in the same transaction). Flush, never commit: the caller commits.
"""

from sqlalchemy import func, select

from bando.accounts.models import Organisation, User
from bando.applications import rules
from bando.applications.facts import application_fact
from bando.applications.lifecycle import fire
from bando.applications.models import Application
from bando.calls.lifecycle import lock_edition
from bando.calls.models import Edition
from bando.core import audit
from bando.core.extensions import db
from bando.core.operations import OperationError
from bando.core.timeutil import utcnow
from bando.evaluation.models import Assignment, ConflictDeclaration, Review, Score
from scoring.criteria import Criterion, points_str, review_problems
from scoring.statistics import candidate_spread, evaluator_statistics

DECLARATION = (
    "Il/la sottoscritto/a, componente della commissione di valutazione del bando «{title}», "
    "consapevole delle responsabilità penali per dichiarazioni mendaci (art. 76 DPR "
    "445/2000), dichiara ai sensi dell'art. 6-bis della L. 241/1990 e dell'art. 35-bis del "
    "D.Lgs. 165/2001 di non trovarsi in situazioni di conflitto di interessi, anche "
    "potenziale, con gli enti che hanno presentato domanda{linked}, e si impegna a "
    "comunicare tempestivamente ogni situazione sopravvenuta astenendosi dalla valutazione."
)


def criteria_of(edition: Edition) -> list[Criterion]:
    return [Criterion(c.code, c.max_points, c.label) for c in edition.criteria]


def _event(trigger: str, actor, edition: Edition, application=None, reason="", payload=None):
    return audit.append(
        subject="evaluation",
        trigger=trigger,
        actor=actor,
        edition_id=edition.id,
        application_id=None if application is None else application.id,
        reason=reason,
        payload=payload or {},
    )


# --- the committee --------------------------------------------------------------------------


# Once the ranking is approved the committee's work is done: a member added later would
# score nothing and only read every proposal.
COMMITTEE_OPEN = ("draft", "open", "closed")


def assign_evaluator(edition: Edition, officer: User, evaluator: User) -> Assignment:
    lock_committee(edition.id)  # the approval of the ranking waits, or is waited for
    if edition.state not in COMMITTEE_OPEN:
        raise OperationError(
            409,
            "la graduatoria è già approvata: la commissione non si può più cambiare",
            code="committee_closed",
        )
    if evaluator.role != "evaluator" or not evaluator.active:
        raise OperationError(
            422, "non è un valutatore attivo", {"evaluator": ["scegliere un valutatore attivo"]}
        )
    if rules.sits_on_committee(evaluator, edition):
        raise OperationError(409, "già componente della commissione", code="already_assigned")
    assignment = Assignment(edition_id=edition.id, evaluator=evaluator, assigned_by_id=officer.id)
    db.session.add(assignment)
    db.session.flush()
    db.session.expire(edition, ["assignments"])
    _event("assign_evaluator", officer, edition, payload={"evaluator": evaluator.email})
    return assignment


def remove_evaluator(edition: Edition, officer: User, evaluator: User) -> None:
    """Only before they have scored anything: a review once made stays on the record. Under
    the call's lock, as every save of a review: none slips in between the count and the
    removal."""
    lock_committee(edition.id)
    assignment = next((a for a in edition.assignments if a.evaluator_id == evaluator.id), None)
    if assignment is None:
        raise OperationError(404, "non è componente della commissione")
    reviewed = db.session.scalar(
        select(func.count(Review.id))
        .join(Application, Application.id == Review.application_id)
        .where(Application.edition_id == edition.id, Review.evaluator_id == evaluator.id)
    )
    if reviewed:
        raise OperationError(
            409,
            "il valutatore ha già valutato delle domande: non si può togliere",
            code="has_reviews",
        )
    db.session.delete(assignment)
    db.session.flush()
    db.session.expire(edition, ["assignments"])
    _event("remove_evaluator", officer, edition, payload={"evaluator": evaluator.email})


def declaration_text(edition: Edition, linked: list[Organisation]) -> str:
    names = ", ".join(f"{o.name} (C.F. {o.tax_code})" for o in linked)
    return DECLARATION.format(
        title=edition.title,
        linked=f", salvo che con: {names}, dalle cui domande si astiene" if linked else "",
    )


def sign_declaration(
    edition: Edition, evaluator: User, linked_tax_codes: list[str], *, now=None
) -> ConflictDeclaration:
    """The declaration, naming the organisations the evaluator is linked to (by tax code);
    signed once per call, before any proposal is shown."""
    if not rules.sits_on_committee(evaluator, edition):
        raise OperationError(
            403, "solo i componenti della commissione di questo bando", code="not_on_committee"
        )
    if rules.declaration_of(evaluator, edition) is not None:
        raise OperationError(409, "dichiarazione già firmata", code="already_declared")
    codes = [c.strip().upper() for c in linked_tax_codes if c.strip()]
    linked = list(db.session.scalars(select(Organisation).where(Organisation.tax_code.in_(codes))))
    unknown = sorted(set(codes) - {o.tax_code for o in linked})
    if unknown:
        raise OperationError(
            422,
            "enti sconosciuti",
            {
                "linked_organisations": [
                    f"nessun ente registrato con codice fiscale {c}" for c in unknown
                ]
            },
        )
    declaration = ConflictDeclaration(
        edition_id=edition.id,
        evaluator_id=evaluator.id,
        text=declaration_text(edition, linked),
        linked_organisations=linked,
        signed_at=now or utcnow(),
    )
    db.session.add(declaration)
    db.session.flush()
    db.session.expire(edition, ["declarations"])
    _event(
        "sign_declaration",
        evaluator,
        edition,
        payload={"linked_organisations": [o.tax_code for o in linked]},
    )
    return declaration


# --- reviews ------------------------------------------------------------------------------


def _review_for(application: Application, evaluator: User) -> Review:
    review = rules.review_of(evaluator, application)
    if review is None:
        review = Review(application=application, evaluator=evaluator)
        db.session.add(review)
    return review


def _may_score(application: Application, evaluator: User) -> None:
    edition = application.edition
    if not rules.has_declared(evaluator, edition):
        raise OperationError(
            403,
            "prima di valutare va firmata la dichiarazione di assenza di conflitti di interesse",
            code="declaration_required",
        )
    if not rules.can_score(evaluator, application):
        raise OperationError(
            409, "la domanda non è valutabile da questo valutatore", code="not_scorable"
        )


def recuse(application: Application, evaluator: User, reason: str) -> Review:
    """The evaluator abstains from this proposal (a conflict found on reading it): final,
    and from then on the proposal is not shown to them."""
    _may_score(application, evaluator)
    if not reason.strip():
        raise OperationError(422, "motivazione mancante", {"reason": ["indicare il motivo"]})
    review = _review_for(application, evaluator)
    review.conflict_of_interest = True
    review.comment = reason.strip()
    review.scores = []
    review.submitted_at = utcnow()
    db.session.flush()
    _event("recuse", evaluator, application.edition, application, reason)
    return review


def save_review(
    application: Application,
    evaluator: User,
    scores: dict,
    comment: str,
    *,
    submit: bool,
    now=None,
) -> Review:
    """Saves the scores (a draft may be partial; what is there must be in range) and, with
    submit, checks the whole review and records it; the last required review moves the
    proposal to scored."""
    # Every save under the call's lock, the committee read again under it: an evaluator
    # taken off the committee meanwhile (remove_evaluator, same lock) can save nothing.
    lock_committee(application.edition_id)
    _may_score(application, evaluator)
    criteria = criteria_of(application.edition)
    problems = review_problems(scores, criteria, comment)
    if not submit:  # a draft: only values out of range or unknown criteria are refused
        problems = {
            k: v
            for k, v in problems.items()
            if k.startswith("scores.") and scores.get(k[7:]) is not None
        }
    if problems:
        raise OperationError(422, "valutazione non valida", problems)
    review = _review_for(application, evaluator)
    # Points change in place: replacing the rows would insert a criterion's new score
    # before deleting its old one.
    given = {code: points for code, points in scores.items() if points is not None}
    kept = {score.criterion.code: score for score in review.scores}
    for code, score in kept.items():
        if code in given:
            score.points = given[code]
        else:
            review.scores.remove(score)
    by_code = {c.code: c for c in application.edition.criteria}
    for code, points in given.items():
        if code not in kept:
            review.scores.append(Score(criterion=by_code[code], points=points))
    review.comment = comment.strip()
    if submit:
        review.submitted_at = now or utcnow()
    db.session.flush()
    if submit:
        points = {s.criterion.code: s.points for s in review.scores}
        _event("submit_review", evaluator, application.edition, application, payload=points)
        complete = valid_reviews(application) >= application.edition.reviews_required
        if application.state == "eligible" and complete:
            fire(application, "complete_scoring", None, "valutazioni richieste completate")
    return review


def reopen_review(review: Review, officer: User, reason: str) -> Review:
    """The officer sends a submitted review back to its evaluator, saying why (before the
    ranking is approved)."""
    application = review.application
    if review.submitted_at is None or review.conflict_of_interest:
        raise OperationError(409, "la valutazione non è stata inviata", code="not_submitted")
    if application.edition.state not in ("open", "closed"):
        raise OperationError(
            409, "la graduatoria è già approvata: la valutazione non si riapre", code="ranked"
        )
    if not reason.strip():
        raise OperationError(422, "motivazione mancante", {"reason": ["indicare il motivo"]})
    review.submitted_at = None
    db.session.flush()
    _event(
        "reopen_review",
        officer,
        application.edition,
        application,
        reason,
        {"evaluator": review.evaluator.email},
    )
    return review


def valid_reviews(application: Application) -> int:
    return db.session.scalar(
        select(func.count(Review.id)).where(
            Review.application_id == application.id,
            Review.submitted_at.is_not(None),
            Review.conflict_of_interest.is_(False),
        )
    )


@application_fact("valid_reviews", triggers=("complete_scoring",))
def _valid_reviews_fact(application: Application) -> int:
    return valid_reviews(application)


def lock_committee(edition_id: int) -> None:
    """Every save of a review and every removal from the committee: the edition's lock
    (edition → application → audit head, as every writer), and the committee read afresh
    under it. Two evaluators submitting the last reviews at once never both miss the count,
    and no review slips in from someone being taken off."""
    edition = lock_edition(edition_id)
    db.session.expire(edition, ["assignments", "declarations"])


# --- where the committee disagrees ----------------------------------------------------------


def statistics(edition: Edition) -> dict:
    """Per evaluator: reviews, mean total, spread and deviation from the panel (flagged
    where far off); per proposal, the spread between its evaluators."""
    # One row per review with its total: one query whatever the size of the committee.
    rows = db.session.execute(
        select(
            Review.evaluator_id,
            Review.application_id,
            func.coalesce(func.sum(Score.points), 0),
            User.email,
            Application.protocol,
        )
        .join(Application, Application.id == Review.application_id)
        .join(User, User.id == Review.evaluator_id)
        .outerjoin(Score, Score.review_id == Review.id)
        .where(
            Application.edition_id == edition.id,
            Review.submitted_at.is_not(None),
            Review.conflict_of_interest.is_(False),
        )
        .group_by(Review.id, User.email, Application.protocol)
        .order_by(Review.id)
    ).all()
    triples = [
        (evaluator_id, application_id, int(total))
        for evaluator_id, application_id, total, *_ in rows
    ]
    emails = {row[0]: row[3] for row in rows}
    protocols = {row[1]: row[4] for row in rows}
    return {
        "edition": edition.code,
        "evaluators": [
            {
                "evaluator": emails[s.evaluator_id],
                "reviews": s.count,
                "mean": points_str(s.mean_total),
                "stdev": f"{s.stdev:.2f}",
                "deviation_from_panel": None
                if s.mean_deviation is None
                else points_str(s.mean_deviation),
                "flagged": s.flagged,
            }
            for s in evaluator_statistics(triples)
        ],
        "proposals": [
            {
                "application_id": application_id,
                "protocol": protocols[application_id],
                "reviews": spread.count,
                "min": spread.min,
                "max": spread.max,
                "spread": spread.spread,
                "flagged": spread.flagged,
            }
            for application_id, spread in candidate_spread(triples).items()
        ],
    }
