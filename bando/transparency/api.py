"""The public transparency exports: the art. 27 table (CSV, JSON) and the 360Giving data
package of a call's active grants. No sign-in: the law makes them public."""

from flask import Response, jsonify

from bando.calls.api import edition_or_404
from bando.core.api import ApiError, endpoint
from bando.core.csvfile import csv_bytes
from bando.core.downloads import download
from bando.transparency import operations
from bando.transparency.schemas import Art27Out, GivingPackage


def csv_response(edition) -> Response:
    return download(
        csv_bytes(*operations.art27_table(edition)), "text/csv", f"contributi-{edition.code}.csv"
    )


def giving_response(edition) -> Response:
    package = GivingPackage.of(operations.giving_package(edition))
    # Optional members left out rather than null: the standard's schema wants them absent.
    response = jsonify(package.model_dump(mode="json", exclude_none=True))
    response.headers["Content-Disposition"] = f'inline; filename="360giving-{edition.code}.json"'
    return response


@endpoint(
    "GET",
    "/editions/<code>/transparency.csv",
    summary="The call's active grants with the fields of D.Lgs. 33/2013 art. 27, as CSV "
    "(UTF-8; a natural person's tax code is left empty)",
    tag="transparency",
    roles=None,
    ok=(200, "the CSV", {"text/csv": {}}),
)
def transparency_csv(code):
    return csv_response(edition_or_404(code))


@endpoint(
    "GET",
    "/editions/<code>/transparency.json",
    summary="The call's active grants with the fields of D.Lgs. 33/2013 art. 27",
    tag="transparency",
    roles=None,
    ok=(200, "the grants", Art27Out),
)
def transparency_json(code):
    return Art27Out.of(operations.art27_document(edition_or_404(code)))


@endpoint(
    "GET",
    "/editions/<code>/360giving.json",
    summary="The call's active grants as a 360Giving data package "
    "(https://standard.threesixtygiving.org)",
    tag="transparency",
    roles=None,
    ok=(200, "the package", GivingPackage),
    errors={404: "no such call, or no grant awarded yet (a package holds at least one)"},
)
def giving_json(code):
    edition = edition_or_404(code)
    if not operations.grants(edition):
        raise ApiError(404, "no grant awarded yet in this edition")
    return giving_response(edition)
