"""Who may apply: the checks on an organisation's registration data. Plain data in, Italian
messages out, keyed by field; no Flask, no database (the duplicate tax code is checked by
bando.organisations, which can see the table)."""

import re

from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)
from stdnum.it import codicefiscale, iva

from workflows.machine import Message, gettext_noop

# The non-profit legal forms the call admits, code → label shown to people.
NON_PROFIT_FORMS = {
    "associazione": gettext_noop("Associazione"),
    "aps": gettext_noop("Associazione di promozione sociale (APS)"),
    "odv": gettext_noop("Organizzazione di volontariato (ODV)"),
    "ets": gettext_noop("Altro ente del Terzo settore (ETS)"),
    "cooperativa_sociale": gettext_noop("Cooperativa sociale"),
    "impresa_sociale": gettext_noop("Impresa sociale"),
    "fondazione": gettext_noop("Fondazione"),
    "comitato": gettext_noop("Comitato"),
}

# Forms of companies that distribute profits: named so the refusal can say why.
FOR_PROFIT_FORMS = {
    "srl": "società a responsabilità limitata (S.r.l.)",
    "srls": "società a responsabilità limitata semplificata (S.r.l.s.)",
    "spa": "società per azioni (S.p.A.)",
    "sapa": "società in accomandita per azioni (S.a.p.A.)",
    "snc": "società in nome collettivo (S.n.c.)",
    "sas": "società in accomandita semplice (S.a.s.)",
    "ss": "società semplice",
    "ditta_individuale": "ditta individuale",
    "impresa_individuale": "impresa individuale",
    "cooperativa": "cooperativa non sociale",
}

# Each part of the domain is dot-free, so a long run of dots fails at once instead of
# being tried every way (the earlier pattern took seconds of CPU on 64 kB of dots).
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+$")

# Every field of an organisation's registration, in the order forms and the API show them.
FIELDS = (
    "name",
    "tax_code",
    "vat_number",
    "legal_form",
    "pec",
    "address",
    "legal_representative",
    "runts_number",
    "withholding_exempt",
    "withholding_reason",
)

# What the registration must have, and what is said when it is missing (marked for the
# catalogue: the pages say it in their language, the API in Italian).
REQUIRED = {
    "name": gettext_noop("manca la denominazione dell'ente"),
    "tax_code": gettext_noop("manca il codice fiscale"),
    "legal_form": gettext_noop("manca la forma giuridica"),
    "pec": gettext_noop("manca l'indirizzo PEC"),
    "address": gettext_noop("manca la sede legale"),
    "legal_representative": gettext_noop("manca il legale rappresentante"),
}

MAX_LENGTHS = {
    "name": 300,
    "pec": 254,
    "address": 300,
    "legal_representative": 200,
    "runts_number": 40,
    "withholding_reason": 300,
}


def normalise_legal_form(value: str) -> str:
    """ "Cooperativa sociale", "S.r.l." → "cooperativa_sociale", "srl"."""
    text = (value or "").strip().lower().replace(".", "").replace("-", " ")
    return "_".join(text.split())


def legal_form_problem(value: str) -> str | None:
    code = normalise_legal_form(value)
    if code in NON_PROFIT_FORMS:
        return None
    if code in FOR_PROFIT_FORMS:
        return Message(
            gettext_noop(
                "una %(form)s ha scopo di lucro: possono partecipare al bando solo enti senza "
                "scopo di lucro (associazioni, APS, ODV, ETS, cooperative e imprese sociali, "
                "fondazioni, comitati)"
            ),
            form=FOR_PROFIT_FORMS[code],
        )
    return Message(
        gettext_noop("forma giuridica «%(form)s» non prevista: scegliere tra %(allowed)s"),
        form=value,
        allowed=", ".join(NON_PROFIT_FORMS),
    )


# An 11-digit number whose check digit is right but whose office code (digits 8 to 10) no
# office has (stdnum it.iva), as a tax code and as a VAT number.
TAX_CODE_NOT_ISSUED = gettext_noop(
    "codice fiscale non valido: nessun numero di questa forma può essere stato attribuito "
    "(il codice dell'ufficio, le cifre dall'ottava alla decima, non esiste): controllare di "
    "averlo copiato bene"
)
VAT_NUMBER_NOT_ISSUED = gettext_noop(
    "partita IVA non valida: nessun numero di questa forma può essere stato attribuito "
    "(il codice dell'ufficio, le cifre dall'ottava alla decima, non esiste): controllare di "
    "averlo copiato bene"
)


def tax_code_problem(value: str) -> str | None:
    """The codice fiscale: 11 digits for an entity, 16 characters for a person. What is
    wrong, said so that it can be put right: the length, a character, the shape of a
    person's code, or the check character (usually a typing slip)."""
    number = codicefiscale.compact(value or "")
    if len(number) not in (11, 16):
        return Message(
            gettext_noop(
                "il codice fiscale ha 11 cifre per gli enti e 16 caratteri per le persone "
                "(ne sono stati indicati %(count)s)"
            ),
            count=len(number),
        )
    strange = sorted({ch for ch in number if not (ch.isascii() and ch.isalnum())})
    if strange:
        return Message(
            gettext_noop(
                "il codice fiscale contiene caratteri non ammessi (%(shown)s): solo lettere e cifre"
            ),
            shown=" ".join(f"«{ch}»" for ch in strange),
        )
    if len(number) == 11 and not number.isdigit():
        return gettext_noop(
            "il codice fiscale di un ente è fatto di sole cifre (11): "
            "le lettere si trovano solo in quello di 16 caratteri di una persona"
        )
    try:
        codicefiscale.validate(number)
    except InvalidChecksum:
        if len(number) == 11:
            return gettext_noop(
                "codice fiscale non valido: il carattere di controllo non torna (l'ultima "
                "cifra, la cifra di controllo, non corrisponde alle altre): controllare di "
                "averlo copiato bene"
            )
        return gettext_noop(
            "codice fiscale non valido: il carattere di controllo non torna (l'ultima "
            "lettera, la lettera di controllo, non corrisponde alle altre): controllare di "
            "averlo copiato bene"
        )
    except InvalidComponent:
        if len(number) == 11:
            return TAX_CODE_NOT_ISSUED
        return gettext_noop("codice fiscale non valido: la data di nascita che contiene non esiste")
    except (InvalidLength, ValidationError):
        return gettext_noop(
            "il codice fiscale di una persona non ha la forma giusta: 6 lettere, 2 cifre, "
            "1 lettera, 2 cifre, 1 lettera, 3 cifre e 1 lettera (es. RSSMRA85T10A562S)"
        )
    return None


def vat_number_problem(value: str) -> str | None:
    try:
        iva.validate(value)
    except InvalidChecksum:
        return gettext_noop("partita IVA non valida: la cifra di controllo non torna")
    except InvalidComponent:
        return VAT_NUMBER_NOT_ISSUED
    except InvalidFormat:
        return gettext_noop(
            "partita IVA non valida: sono 11 cifre, e le prime sette non tutte zero"
        )
    except ValidationError:
        return gettext_noop("partita IVA non valida: sono 11 cifre")
    return None


def organisation_problems(data: dict) -> dict[str, list[str]]:
    """Everything wrong with the registration data of an organisation, by field."""
    problems: dict[str, list[str]] = {}

    def add(field, message):
        problems.setdefault(field, []).append(message)

    for field, missing in REQUIRED.items():
        value = data.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            add(field, missing)
        elif not isinstance(value, str):
            add(field, "deve essere un testo")
    for field, limit in MAX_LENGTHS.items():
        value = data.get(field)
        if isinstance(value, str) and len(value) > limit:
            add(field, Message(gettext_noop("al massimo %(count)s caratteri"), count=limit))
    for field in ("vat_number", "runts_number", "withholding_reason"):
        value = data.get(field)
        if value is not None and not isinstance(value, str):
            add(field, "deve essere un testo")
    for field, value in data.items():
        if isinstance(value, str) and "\x00" in value:
            add(field, "il testo contiene un carattere non ammesso")
    if "withholding_exempt" in data and not isinstance(data["withholding_exempt"], bool):
        add("withholding_exempt", "deve essere vero o falso")
    if problems:
        return problems

    if problem := tax_code_problem(data["tax_code"]):
        add("tax_code", problem)
    if (vat := (data.get("vat_number") or "").strip()) and (problem := vat_number_problem(vat)):
        add("vat_number", problem)
    if problem := legal_form_problem(data["legal_form"]):
        add("legal_form", problem)
    if not EMAIL_RE.fullmatch(data["pec"].strip()):
        add("pec", gettext_noop("indirizzo PEC non valido"))
    if data.get("withholding_exempt") and not (data.get("withholding_reason") or "").strip():
        add(
            "withholding_reason",
            gettext_noop(
                "indicare il motivo dell'esenzione dalla ritenuta del 4 % (es. norma di "
                "riferimento)"
            ),
        )
    return problems


def clean_organisation(data: dict) -> dict:
    """The registration data as stored: trimmed, tax code compacted, legal form as code."""
    vat = (data.get("vat_number") or "").strip()
    runts = (data.get("runts_number") or "").strip()
    return {
        "name": data["name"].strip(),
        "tax_code": codicefiscale.compact(data["tax_code"]),
        "vat_number": iva.compact(vat) if vat else None,
        "legal_form": normalise_legal_form(data["legal_form"]),
        "pec": data["pec"].strip().lower(),
        "address": data["address"].strip(),
        "legal_representative": data["legal_representative"].strip(),
        "runts_number": runts or None,
        "withholding_exempt": bool(data.get("withholding_exempt", False)),
        "withholding_reason": (data.get("withholding_reason") or "").strip(),
    }
