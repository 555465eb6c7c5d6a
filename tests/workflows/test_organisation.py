"""Who may register: tax code, VAT number, legal form, PEC, withholding declaration."""

import pytest

from workflows.organisation import (
    clean_organisation,
    legal_form_problem,
    organisation_problems,
    tax_code_problem,
)

VALID = {
    "name": "Associazione Quartiere Vivo",
    "tax_code": "97071260158",  # 11 digits, Luhn check digit right
    "legal_form": "aps",
    "pec": "quartierevivo@pec.example.it",
    "address": "via Selinunte 4, Milano",
    "legal_representative": "Maria Rossi",
}


def test_a_valid_organisation_has_no_problems():
    assert organisation_problems(VALID) == {}


@pytest.mark.parametrize("code", ["97071260158", "RSSMRA85T10A562S", " rss mra 85t10 a562s "])
def test_tax_codes_of_entities_and_persons(code):
    assert tax_code_problem(code) is None


@pytest.mark.parametrize(
    "code, words",
    [
        ("97071260155", "controllo"),  # entity, wrong check digit
        ("RSSMRA85T10A562T", "controllo"),  # person, wrong check character
        ("1234567", "11 cifre"),
        ("RSSMRA85T10A562", "16 caratteri"),
        ("", "11 cifre"),
        # Right check digit, but an office code (digits 8-10) no office has: no birth date.
        ("98123456786", "codice dell'ufficio"),
    ],
)
def test_wrong_tax_codes_say_why(code, words):
    assert words in tax_code_problem(code)


def test_the_vat_number_is_optional_and_checked():
    assert organisation_problems({**VALID, "vat_number": ""}) == {}
    assert organisation_problems({**VALID, "vat_number": "97071260158"}) == {}
    problems = organisation_problems({**VALID, "vat_number": "97071260151"})
    assert "partita IVA" in problems["vat_number"][0]
    for number, words in (("12345678901", "codice dell'ufficio"), ("00000000000", "zero")):
        assert words in organisation_problems({**VALID, "vat_number": number})["vat_number"][0]


@pytest.mark.parametrize(
    "form",
    ["associazione", "APS", "ODV", "ets", "Cooperativa sociale", "impresa_sociale", "fondazione"],
)
def test_non_profit_forms_are_admitted(form):
    assert legal_form_problem(form) is None


@pytest.mark.parametrize("form", ["srl", "S.r.l.", "spa", "snc", "sas", "ditta individuale"])
def test_for_profit_forms_are_refused_with_the_reason(form):
    message = legal_form_problem(form)
    assert "scopo di lucro" in message
    assert "solo enti senza scopo di lucro" in message


def test_an_unknown_form_lists_the_admitted_ones():
    assert "aps" in legal_form_problem("club")


def test_every_missing_field_is_named():
    problems = organisation_problems({})
    assert set(problems) == {
        "name",
        "tax_code",
        "legal_form",
        "pec",
        "address",
        "legal_representative",
    }


def test_wrong_types_and_bad_pec():
    problems = organisation_problems({**VALID, "name": 12, "withholding_exempt": "sì"})
    assert problems["name"] == ["deve essere un testo"]
    assert problems["withholding_exempt"] == ["deve essere vero o falso"]
    assert "PEC" in organisation_problems({**VALID, "pec": "non-una-pec"})["pec"][0]


def test_an_exemption_from_withholding_needs_its_reason():
    problems = organisation_problems({**VALID, "withholding_exempt": True})
    assert "motivo" in problems["withholding_reason"][0]
    assert (
        organisation_problems(
            {
                **VALID,
                "withholding_exempt": True,
                "withholding_reason": "ONLUS, art. 16 DLgs 460/97",
            }
        )
        == {}
    )


def test_clean_organisation_normalises():
    cleaned = clean_organisation({**VALID, "legal_form": "Cooperativa sociale", "pec": " A@B.IT "})
    assert cleaned["legal_form"] == "cooperativa_sociale"
    assert cleaned["pec"] == "a@b.it"
    assert cleaned["vat_number"] is None and cleaned["runts_number"] is None


def test_an_address_pattern_that_fails_at_once_on_a_run_of_dots():
    from workflows.organisation import EMAIL_RE

    assert EMAIL_RE.fullmatch("a@" + "." * 50_000 + "@") is None
    assert EMAIL_RE.fullmatch("giulia.bianchi@pec.comune.milano.it")
    assert EMAIL_RE.fullmatch("a@b..it") is None and EMAIL_RE.fullmatch("a@b.it.") is None
