"""The ranking's pages: the officer's preview (overall and per neighbourhood, points per
criterion), the draw that settles a tie the call's rules cannot break, the approval and
publication — each after a confirmation step — and, once published, the public ranking
with its files (CSV, XLSX, the minute).

Thin views over bando.ranking.operations and bando.ranking.exports, the same the API
calls; their refusals are shown on the page with their reason, never a 500.
"""

import re
from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from bando.applications.models import Application
from bando.applications.pages.officer import edition_for_officer
from bando.calls.lifecycle import check_edition
from bando.calls.models import Edition
from bando.core.auth import roles_required
from bando.core.downloads import download
from bando.core.extensions import db
from bando.core.operations import OperationError, commit
from bando.core.transitions import TransitionRefused
from bando.core.types import ID_LIMIT
from bando.core.xlsxfile import MIMETYPE as XLSX
from bando.evaluation.api import committee_view
from bando.ranking import exports, operations
from scoring.criteria import points_str

bp = Blueprint("ranking", __name__)


@dataclass(frozen=True)
class Row:
    """A proposal's line of the ranking, the same for the preview and the approved one."""

    position: int
    neighbourhood_position: int
    application: Application
    points: dict  # criterion code → "24.67"
    total: str
    fundable: bool
    decided_by: str | None


def decided_label(edition: Edition, key: str | None) -> str:
    """What separated a proposal from the one above at equal points, in words."""
    if not key:
        return ""
    if key.startswith("criterion:"):
        code = key.split(":", 1)[1]
        label = next((c.label for c in edition.criteria if c.code == code), code)
        return _("a parità di punti, per il criterio «%(criterion)s»", criterion=label)
    return {
        "cofinancing_share": _("a parità di punti, per la quota di cofinanziamento"),
        "protocol": _("a parità di punti, per l'ordine di protocollo"),
        "draw": _("a parità di punti, per sorteggio"),
        "tie": _("a pari merito (sotto la soglia)"),
    }.get(key, key)


def _applications(ids) -> dict[int, Application]:
    return {
        a.id: a
        for a in db.session.scalars(
            select(Application)
            .where(Application.id.in_(list(ids)))
            .options(joinedload(Application.organisation), joinedload(Application.neighbourhood))
        )
    }


def approved_rows(edition: Edition, entries=None) -> list[Row]:
    return [
        Row(
            e.position,
            e.neighbourhood_position,
            e.application,
            e.points,
            e.total,
            e.fundable,
            e.decided_by,
        )
        for e in (operations.approved(edition) if entries is None else entries)
    ]


def preview_rows(ranking) -> list[Row]:
    applications = _applications(e.id for e in ranking.entries)
    return [
        Row(
            e.position,
            e.neighbourhood_position,
            applications[e.id],
            {code: points_str(value) for code, value in e.points.items()},
            points_str(e.total),
            e.fundable,
            e.decided_by,
        )
        for e in ranking.entries
    ]


def by_neighbourhood(edition: Edition, rows: list[Row]) -> list[tuple[str, list[Row]]]:
    """Each neighbourhood of the call with its rows, in the call's order."""
    groups = {}
    for row in rows:
        hood = row.application.neighbourhood
        groups.setdefault(hood.id if hood else None, []).append(row)
    named = [(h.name, groups.get(h.id, [])) for h in edition.neighbourhoods]
    return [(name, sorted(found, key=lambda r: r.neighbourhood_position)) for name, found in named]


DIGITS = re.compile(r"[0-9]+")


def _tie_groups(error: OperationError) -> list[list[Application]]:
    """The proposals of each tie a draw must settle (their ids come in errors["draw"])."""
    groups = []
    for text in error.errors.get("draw", []):
        ids = [int(part) for part in str(text).split(",") if DIGITS.fullmatch(part.strip())]
        found = _applications(ids)
        groups.append([found[i] for i in ids if i in found])
    return [g for g in groups if len(g) > 1]


def _refusals(edition: Edition):
    """Why the edition's machine would refuse the approval now (empty: it would not)."""
    return check_edition(edition, "rank", current_user._get_current_object())


def _officer_page(edition: Edition, *, refusal=None, draw=None, status=200):
    """The approved ranking, or the preview computed now, or why there is none yet."""
    rows, problem, ties, blocked = approved_rows(edition), None, [], []
    approved = bool(rows)
    if not approved:
        try:
            rows = preview_rows(operations.compute(edition))
        except OperationError as error:
            rows, problem = [], error.message
            if error.code == "tie_needs_draw":
                ties = _tie_groups(error)
        blocked = [r.reason for r in _refusals(edition)]
    return (
        render_template(
            "ranking/officer.html",
            edition=edition,
            rows=rows,
            hoods=by_neighbourhood(edition, rows),
            approved=approved,
            problem=problem,
            ties=ties,
            blocked=blocked,
            refusal=refusal,
            draw=draw or {},
            # Errors of a draw whose proposals are not a tie shown now: at the top.
            stray=[
                e
                for e in (draw or {}).get("errors", [])
                if (draw or {}).get("ids") not in [[a.id for a in g] for g in ties]
            ],
            decided_label=decided_label,
        ),
        status,
    )


@bp.route("/istruttoria/bandi/<code>/graduatoria")
@roles_required("officer")
def officer_ranking(code):
    return _officer_page(edition_for_officer(code))


class ConfirmForm(FlaskForm):
    """The CSRF token; the fields of the draw are read from the request (one per proposal)."""


def _read_draw():
    """The draw as posted: (order of ids, witnesses, errors, what was chosen)."""
    form = request.form
    ids = []
    for value in form.getlist("candidate"):
        # Not str.isdigit: "²" is a digit to it, and int("²") fails.
        if not DIGITS.fullmatch(value) or not 0 < int(value) < ID_LIMIT:
            return [], "", [_("Sorteggio non valido: ricaricare la pagina.")], {}
        ids.append(int(value))
    chosen = {i: form.get(f"order-{i}", "") for i in ids}
    errors = []
    if len(ids) < 2 or len(set(ids)) != len(ids):
        errors.append(_("Sorteggio non valido: ricaricare la pagina."))
    places = sorted(chosen.values())
    if not errors and places != [str(n) for n in range(1, len(ids) + 1)]:
        errors.append(
            _("Indicare per ogni domanda il suo numero di estrazione, ciascuno una sola volta.")
        )
    witnesses = (form.get("witnesses") or "").strip()
    if not witnesses:
        errors.append(_("Indicare chi era presente al sorteggio."))
    elif len(witnesses) > 2000:
        errors.append(_("I presenti: al massimo 2000 caratteri."))
    order = sorted(ids, key=lambda i: int(chosen[i])) if not errors else []
    return order, witnesses, errors, {"chosen": chosen, "witnesses": witnesses, "ids": ids}


@bp.route("/istruttoria/bandi/<code>/graduatoria/sorteggio", methods=["POST"])
@roles_required("officer")
def record_draw(code):
    edition = edition_for_officer(code)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    order, witnesses, errors, posted = _read_draw()
    if errors:
        return _officer_page(edition, draw={**posted, "errors": errors}, status=422)
    if not request.form.get("confirm"):
        found = _applications(order)
        if any(i not in found for i in order):
            errors = [_("Sorteggio non valido: ricaricare la pagina.")]
            return _officer_page(edition, draw={**posted, "errors": errors}, status=422)
        return render_template(
            "ranking/confirm_draw.html",
            edition=edition,
            order=[found[i] for i in order],
            witnesses=witnesses,
        )
    try:
        operations.record_draw(edition, current_user._get_current_object(), order, witnesses)
        commit()
    except OperationError as error:
        db.session.rollback()
        detail = "; ".join(str(m) for messages in error.errors.values() for m in messages)
        return _officer_page(edition, refusal=detail or error.message, status=error.status)
    flash(_("Sorteggio registrato: la graduatoria ne tiene conto."), "success")
    return redirect(url_for(".officer_ranking", code=code))


@bp.route("/istruttoria/bandi/<code>/graduatoria/approva", methods=["POST"])
@roles_required("officer")
def approve(code):
    edition = edition_for_officer(code)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not request.form.get("confirm"):
        try:
            rows = preview_rows(operations.compute(edition))
        except OperationError as error:
            return _officer_page(edition, refusal=error.message, status=409)
        if refusals := _refusals(edition):
            reason = "; ".join(r.reason for r in refusals)
            return _officer_page(edition, refusal=reason, status=409)
        return render_template(
            "ranking/confirm_approve.html",
            edition=edition,
            rows=rows,
            fundable=sum(1 for r in rows if r.fundable),
        )
    try:
        operations.approve(edition, current_user._get_current_object())
        commit()
    except (OperationError, TransitionRefused) as error:
        db.session.rollback()
        reason = error.message if isinstance(error, OperationError) else error.reason
        return _officer_page(edition_for_officer(code), refusal=reason, status=409)
    flash(_("Graduatoria approvata e pubblicata."), "success")
    return redirect(url_for(".officer_ranking", code=code))


# --- what anyone reads once the ranking is published -------------------------------------


def _published(code):
    """The call and its approved ranking, once published; 404 before (for everyone)."""
    edition = db.session.scalar(
        select(Edition).where(Edition.code == code).options(selectinload(Edition.criteria))
    )
    if edition is None or edition.ranking_published_at is None:
        abort(404)
    entries = operations.approved(edition)
    if not entries:
        abort(404)
    return edition, entries


@bp.route("/bandi/<code>/graduatoria")
def public_ranking(code):
    edition, entries = _published(code)
    rows = approved_rows(edition, entries)
    return render_template(
        "ranking/public.html",
        edition=edition,
        rows=rows,
        hoods=by_neighbourhood(edition, rows),
        decided_label=decided_label,
    )


@bp.route("/bandi/<code>/graduatoria.csv")
def ranking_csv(code):
    edition, entries = _published(code)
    return download(
        exports.ranking_csv(edition, entries), "text/csv", f"graduatoria-{edition.code}.csv"
    )


@bp.route("/bandi/<code>/graduatoria.xlsx")
def ranking_xlsx(code):
    edition, entries = _published(code)
    return download(
        exports.ranking_xlsx(edition, entries), XLSX, f"graduatoria-{edition.code}.xlsx"
    )


@bp.route("/bandi/<code>/graduatoria/verbale.pdf")
def ranking_minute(code):
    edition, entries = _published(code)
    return download(
        exports.minute_pdf(edition, entries, committee_view(edition)["evaluators"]),
        "application/pdf",
        f"verbale-graduatoria-{edition.code}.pdf",
    )
