"""Money stays integer cents until the 360Giving number: exact, whatever the cents."""

from decimal import Decimal

from bando.transparency.operations import euro_number, is_person_tax_code
from bando.transparency.schemas import GivingGrant


def test_cents_become_exact_euro_and_a_json_number_only_at_the_end():
    assert euro_number(1_600_050) == Decimal("16000.50")
    assert euro_number(1) == Decimal("0.01")
    grant = {
        "id": "360G-x-1",
        "title": "t",
        "description": "d",
        "currency": "EUR",
        "recipientOrganization": [{"id": "IT-CF-90000010018", "name": "n"}],
        "fundingOrganization": [{"id": "IT-CF-01199250158", "name": "Comune di Milano"}],
        "grantProgramme": [{"code": "c", "title": "t", "url": "http://x/"}],
        "awardDate": "2019-06-01",
        "url": "http://x/",
        "dateModified": "2019-06-01T10:00:00+02:00",
    }
    for cents, number in ((1_600_050, 16000.5), (1_600_000, 16000), (10, 0.1), (999, 9.99)):
        dumped = GivingGrant.of({**grant, "amountAwarded": euro_number(cents)}).model_dump_json()
        assert f'"amountAwarded":{number}' in dumped, dumped


def test_only_a_16_character_tax_code_is_a_persons():
    assert is_person_tax_code("RSSMRA85T10A562S")
    assert not is_person_tax_code("01199250158")
    assert not is_person_tax_code("") and not is_person_tax_code(None)
