import pytest

from scoring.money import (
    MAX_CENTS,
    AmountError,
    amount_text,
    cents_to_str,
    euro,
    parse_cents,
    share_of,
)


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("16000.00", 16_000_00),
        ("16000", 16_000_00),
        ("16.000,00", 16_000_00),
        ("16000,5", 16_000_50),
        ("€ 94.000,00", 94_000_00),
        ("6.000", 6_000_00),  # Italian thousands, not six euro
        ("1.234.567", 1_234_567_00),
        ("6.00", 6_00),
        ("6.5", 6_50),
        ("16000.000", 16_000_00),
        ("0.01", 1),
        (1500, 1500_00),
    ],
)
def test_parse_cents_reads_api_and_italian_forms(text, cents):
    assert parse_cents(text) == cents


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-1.00", "negativo"),
        ("0.001", "due decimali"),
        # No exponents (a typing slip, not a thousand) and no other script's digits.
        ("1e3", "non è un importo"),
        ("1e-30", "non è un importo"),
        ("1e30", "non è un importo"),
        ("\u0661\u0662\u0663", "non è un importo"),
        ("1.2.3", "non è un importo"),
        ("9" * 40, "fuori misura"),
        ("NaN", "non è un importo"),
        ("Infinity", "non è un importo"),
        ("dieci euro", "non è un importo"),
        ("", "mancante"),
        (None, "mancante"),
        (True, "mancante"),
        (12.5, "come testo"),
    ],
)
def test_parse_cents_refuses_with_a_reason(text, message):
    with pytest.raises(AmountError, match=message):
        parse_cents(text)


def test_parse_cents_ceiling_is_inclusive():
    assert parse_cents(cents_to_str(MAX_CENTS)) == MAX_CENTS
    with pytest.raises(AmountError):
        parse_cents(cents_to_str(MAX_CENTS + 1))


def test_zero_can_be_refused():
    assert parse_cents("0") == 0
    with pytest.raises(AmountError, match="maggiore di zero"):
        parse_cents("0", allow_zero=False)


def test_cents_to_str_and_shares():
    assert cents_to_str(94_000_00) == "94000.00"
    assert cents_to_str(5) == "0.05"
    assert cents_to_str(-150) == "-1.50"
    assert share_of(16_000_00, "0.5") == 8_000_00
    assert share_of(3, "0.5") == 2  # half up to the cent


def test_euro_is_the_italian_way_and_english_on_request():
    assert euro(123_456_789) == "€ 1.234.567,89"
    assert euro(5) == "€ 0,05"
    assert euro(-94_000_00) == "-€ 94.000,00"
    assert euro(94_000_00, "en") == "€ 94,000.00"
    assert amount_text(6_000_00) == "6.000,00"
