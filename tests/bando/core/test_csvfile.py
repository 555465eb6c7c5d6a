"""CSV cells that a spreadsheet would run as formulas stay text (CSV injection)."""

import csv
import io

from bando.core.csvfile import csv_bytes, neutralise


def test_formula_starts_get_an_apostrophe_and_the_rest_is_untouched():
    for dangerous in ("=1+1", "+39 02", "-2+3", "-5000.00\n=x", "-1-1", "@SUM(A1)", "\t=x", "\r=x"):
        assert neutralise(dangerous) == "'" + dangerous
    # A negative amount (a recovery in the payment register) stays a number.
    for harmless in ("Associazione Ponte", "16000.00", "-850.00", "a=b", "", "'già"):
        assert neutralise(harmless) == harmless
    assert neutralise(None) == "" and neutralise(-5) == -5 and neutralise(7) == 7


def test_every_cell_of_the_file_is_neutralised_header_included():
    data = csv_bytes(["=titolo", "b"], [['=HYPERLINK("http://x")', "ok"], [3, "@me"]])
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    assert rows == [["'=titolo", "b"], ['\'=HYPERLINK("http://x")', "ok"], ["3", "'@me"]]
