"""The ranking's files never carry a live formula, whatever an organisation calls itself."""

import csv
import io

from openpyxl import load_workbook
from sqlalchemy import select

from bando.core.extensions import db
from bando.ranking import exports
from bando.ranking.models import RankingEntry
from tests.allocation_factories import ranked_world

NAME = '=HYPERLINK("http://evil.example/x","clicca")'


def test_a_formula_like_name_stays_text_in_csv_and_xlsx(app):
    edition, _, rows = ranked_world([100, 200])
    rows[0][0].organisation.name = NAME
    db.session.commit()
    entries = db.session.scalars(
        select(RankingEntry)
        .where(RankingEntry.edition_id == edition.id)
        .order_by(RankingEntry.position)
    ).all()
    lines = list(csv.reader(io.StringIO(exports.ranking_csv(edition, entries).decode())))
    assert lines[1][3] == "'" + NAME
    workbook = load_workbook(io.BytesIO(exports.ranking_xlsx(edition, entries)))
    for sheet in workbook.worksheets:
        cells = [cell for line in sheet.iter_rows() for cell in line if cell.value == NAME]
        assert cells and all(cell.data_type == "s" for cell in cells), sheet.title
