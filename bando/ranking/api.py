"""The ranking's API: the officer's preview, draws and approval; the public's read of the
approved ranking and its files."""

from sqlalchemy import select

from bando.applications.models import Application
from bando.calls.api import edition_or_404
from bando.calls.models import Edition
from bando.core.api import ApiError, current_api_user, endpoint
from bando.core.downloads import download
from bando.core.extensions import db
from bando.core.operations import commit
from bando.core.xlsxfile import MIMETYPE as XLSX
from bando.evaluation.api import committee_view
from bando.ranking import exports, operations
from bando.ranking.schemas import DrawIn, DrawOut, RankingOut
from scoring.criteria import points_str


def _published(code) -> Edition:
    """The call, if its ranking is public (or the reader is an officer)."""
    edition = edition_or_404(code)
    user = current_api_user()
    if edition.ranking_published_at is None and getattr(user, "role", None) not in (
        "officer",
        "admin",
    ):
        raise ApiError(404, "no published ranking for this edition")
    return edition


def ranking_view(edition: Edition) -> dict:
    """The approved ranking; before approval, the officer's preview computed now."""
    entries = operations.approved(edition)
    if entries:
        rows = [
            {
                "position": e.position,
                "neighbourhood_position": e.neighbourhood_position,
                "application_id": e.application_id,
                "protocol": e.application.protocol,
                "organisation": e.application.organisation.name,
                "neighbourhood": e.application.neighbourhood.slug
                if e.application.neighbourhood
                else "",
                "title": e.application.title,
                "total": e.total,
                "points": e.points,
                "fundable": e.fundable,
                "decided_by": e.decided_by,
            }
            for e in entries
        ]
    else:
        ranking = operations.compute(edition)
        applications = {
            a.id: a
            for a in db.session.scalars(
                select(Application).where(Application.id.in_([e.id for e in ranking.entries]))
            )
        }
        rows = [
            {
                "position": e.position,
                "neighbourhood_position": e.neighbourhood_position,
                "application_id": e.id,
                "protocol": e.protocol,
                "organisation": applications[e.id].organisation.name,
                "neighbourhood": e.neighbourhood,
                "title": applications[e.id].title,
                "total": points_str(e.total),
                "points": {code: points_str(value) for code, value in e.points.items()},
                "fundable": e.fundable,
                "decided_by": e.decided_by,
            }
            for e in ranking.entries
        ]
    return {
        "edition": edition.code,
        "approved": bool(entries),
        "published_at": edition.ranking_published_at,
        "threshold": edition.threshold,
        "entries": rows,
    }


@endpoint(
    "GET",
    "/editions/<code>/ranking",
    summary="The ranking (graduatoria): public once published; the officer's preview before",
    tag="ranking",
    roles=None,
    ok=(200, "the ranking, overall order", RankingOut),
    errors={409: "preview refused: scoring incomplete, or a tie needs a draw"},
)
def get_ranking(code):
    return RankingOut.of(ranking_view(_published(code)))


@endpoint(
    "POST",
    "/editions/<code>/ranking",
    summary="Approve and publish the ranking (the edition goes closed → ranked)",
    tag="ranking",
    roles=("officer",),
    ok=(201, "approved and published", RankingOut),
    errors={409: "not closed, scoring incomplete, or a tie needs a draw"},
)
def approve_ranking(user, code):
    edition = edition_or_404(code)
    operations.approve(edition, user)
    commit()
    return RankingOut.of(ranking_view(edition))


@endpoint(
    "POST",
    "/editions/<code>/draws",
    summary="Record a draw (sorteggio) ordering proposals the tie-break chain cannot part",
    tag="ranking",
    roles=("officer",),
    body=DrawIn,
    ok=(201, "recorded", DrawOut),
    errors={409: "the ranking is already approved"},
)
def record_draw(user, code, body: DrawIn):
    draw = operations.record_draw(edition_or_404(code), user, body.order, body.witnesses)
    commit()
    return DrawOut.of(
        {
            "id": draw.id,
            "order": draw.order,
            "witnesses": draw.witnesses,
            "drawn_by": user.email,
            "drawn_at": draw.drawn_at,
        }
    )


def _approved_entries(code):
    edition = _published(code)
    entries = operations.approved(edition)
    if not entries:
        raise ApiError(404, "no approved ranking for this edition")
    return edition, entries


@endpoint(
    "GET",
    "/editions/<code>/ranking.csv",
    summary="The approved ranking as CSV (UTF-8)",
    tag="ranking",
    roles=None,
    ok=(200, "the CSV", {"text/csv": {}}),
)
def ranking_csv(code):
    edition, entries = _approved_entries(code)
    return download(exports.ranking_csv(edition, entries), "text/csv", f"graduatoria-{code}.csv")


@endpoint(
    "GET",
    "/editions/<code>/ranking.xlsx",
    summary="The approved ranking as a spreadsheet",
    tag="ranking",
    roles=None,
    ok=(200, "the spreadsheet", {XLSX: {}}),
)
def ranking_xlsx(code):
    edition, entries = _approved_entries(code)
    return download(exports.ranking_xlsx(edition, entries), XLSX, f"graduatoria-{code}.xlsx")


@endpoint(
    "GET",
    "/editions/<code>/verbale.pdf",
    summary="The minute of the ranking's approval (verbale)",
    tag="ranking",
    roles=None,
    ok=(200, "the PDF", {"application/pdf": {}}),
)
def ranking_minute(code):
    edition, entries = _approved_entries(code)
    committee = committee_view(edition)["evaluators"]
    return download(
        exports.minute_pdf(edition, entries, committee),
        "application/pdf",
        f"verbale-graduatoria-{code}.pdf",
    )
