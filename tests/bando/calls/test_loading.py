"""Call files: the shipped CdQ editions, the refusal of broken files, reloading, the CLI."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bando.applications.models import Application
from bando.calls.callfile import CallFileError, parse_call, state_for_dates
from bando.calls.loading import SHIPPED_DIR, load_call_file, load_shipped_calls
from bando.calls.models import Criterion, Edition, Guideline, Neighbourhood
from bando.core import audit
from bando.core.extensions import db
from bando.core.models import AuditEvent
from bando.core.timeutil import to_rome, utcnow
from tests.factories import create_organisation, create_user

# Only the keys of DESIGN.md's example: the minimum contract must load as it is.
MINIMAL = """\
[edition]
code = "cdq-test"
title = "Bando di prova"
budget_cap = "80000.00"
opens_at = "2019-03-01T09:00:00+01:00"
closes_at = "2019-04-15T12:00:00+02:00"
legal_basis = "Delibera G.C. n. 1397 del 04/08/2017"
office = "Unità Contratti di Quartiere"

[rules]
max_grant = "16000.00"
min_cofinancing_share = 0.10
integration_days = 10
reviews_required = 3
aggregation = "mean"
threshold = 60
advance_share = 0.5
tie_break = ["criterion:coherence", "cofinancing_share", "protocol"]
required_attachments = ["statuto", "documento_identita", "piano_economico"]
max_applications_per_organisation = 1

[allocation]
mode = "area_quotas_then_pool"
on_insufficient = "partial"
min_partial_share = 0.5

[[criteria]]
code = "coherence"
label = "Coerenza con le linee di indirizzo del quartiere"
max_points = 60

[[criteria]]
code = "network"
label = "Rete locale"
max_points = 40

[[neighbourhoods]]
slug = "san-siro"
name = "San Siro"
inhabitants = 6647
quota = "16000.00"
lab_address = "Piazzale Selinunte 4"
guidelines = [
  { code = "SS1", text = "Biblioteca di quartiere" },
  { code = "SS2", text = "Custodi sociali" },
]

[[neighbourhoods]]
slug = "gratosoglio"
name = "Gratosoglio"
inhabitants = 5309
quota = "16000.00"
lab_address = "via Baroni 9"
guidelines = [
  { code = "GR1", text = "Manutenzione stabili ERP Sud" },
]
"""

EXPECTED_HOODS = [
    # name, inhabitants, households, ERP units, intervention units, laboratory address
    ("San Siro", 6647, 6580, 4647, 1261, "Piazzale Selinunte 4"),
    ("Molise-Calvairate", 3846, 2596, 2487, 1537, "via Faà di Bruno 5"),
    ("Gratosoglio", 5309, 2600, 2091, 1341, "via Baroni 9"),
    ("Ponte Lambro", 1212, 537, 372, 365, "via Ucelli di Nemi 17"),
    ("Mazzini", 4656, 2602, 1143, 390, "via Mompiani 5"),
]


def edit(text, old, new):
    assert text.count(old) == 1, f"the template must hold {old!r} exactly once"
    return text.replace(old, new)


def counts():
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Edition, Neighbourhood, Guideline, Criterion, AuditEvent)
    }


def write(tmp_path, text, name="call.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def shipped(name):
    with open(f"{SHIPPED_DIR}/{name}", encoding="utf-8") as handle:
        return handle.read()


# --- the shipped CdQ editions -------------------------------------------------------------


@pytest.mark.parametrize(
    "code, cap, opens, closes",
    [
        ("cdq-2017-2018", 94_000_00, "2017-11-15 08:00", "2017-12-15 11:00"),
        ("cdq-2019", 80_000_00, "2019-03-01 08:00", "2019-04-15 10:00"),
    ],
)
def test_shipped_calls_load_with_seed_facts(app, code, cap, opens, closes):
    assert dict(load_shipped_calls()) == {"cdq-2017-2018": True, "cdq-2019": True}
    edition = db.session.scalar(select(Edition).where(Edition.code == code))
    assert edition.budget_cap_cents == cap
    assert edition.opens_at.strftime("%Y-%m-%d %H:%M") == opens  # UTC
    assert edition.closes_at.strftime("%Y-%m-%d %H:%M") == closes
    assert edition.state == "closed"  # both calls are long past
    assert edition.legal_basis == "Delibera G.C. n. 1397 del 04/08/2017"
    assert edition.office.startswith("Direzione di Progetto Periferie")
    assert edition.protocol_prefix.startswith("CDQ")
    assert edition.project_starts_on < edition.project_ends_on
    assert [
        (h.name, h.inhabitants, h.households, h.erp_units, h.intervention_units, h.lab_address)
        for h in edition.neighbourhoods
    ] == EXPECTED_HOODS
    for hood in edition.neighbourhoods:
        assert hood.guidelines, hood.name
        assert hood.quota_cents and hood.quota_cents <= edition.max_grant_cents
    assert sum(h.quota_cents for h in edition.neighbourhoods) <= cap
    san_siro = edition.neighbourhoods[0]
    assert [g.code for g in san_siro.guidelines] == ["SS1", "SS2"]
    assert "biblioteca di quartiere" in san_siro.guidelines[0].text
    assert "custodi sociali" in san_siro.guidelines[1].text
    general = " ".join(g.text for g in edition.general_guidelines).lower()
    for aim in ("qualità dell'abitare", "reti di vicinato", "sostenibilità", "autonomia"):
        assert aim in general
    assert sum(c.max_points for c in edition.criteria) == 100
    assert edition.attachment_labels["statuto"].startswith("Statuto")
    assert set(edition.required_attachments) <= set(edition.attachment_labels)
    assert edition.source["edition"]["budget_cap"] == f"{cap // 100}.00"


ASSUMED_KEYS = (
    "opens_at",
    "closes_at",
    "project_starts_on",
    "project_ends_on",
    "max_grant",
    "min_cofinancing_share",
    "integration_days",
    "reviews_required",
    "aggregation",
    "threshold",
    "advance_share",
    "tie_break",
    "required_attachments",
    "max_applications_per_organisation",
    "budget_categories",
    "mode",
    "on_insufficient",
    "min_partial_share",
    "quota",
)


@pytest.mark.parametrize("name", ["cdq-2017-2018.toml", "cdq-2019.toml"])
def test_values_not_in_the_seed_are_marked_as_assumptions(name):
    lines = shipped(name).splitlines()
    seen = set()
    for number, line in enumerate(lines):
        key = line.split("=")[0].strip()
        if key not in ASSUMED_KEYS:
            continue
        seen.add(key)
        # The nearest comment above (other keys of the same group in between) says why.
        above = number - 1
        while not lines[above].startswith("#"):
            assert re.match(r"^\w+ = ", lines[above]), f"{name}:{number + 1} {key} unmarked"
            above -= 1
        assert "assunzione:" in lines[above], f"{name}:{number + 1} {key} unmarked"
    assert seen == set(ASSUMED_KEYS)
    assert "# assunzione: criteri e pesi" in "\n".join(lines)


def test_load_shipped_calls_is_idempotent(app):
    load_shipped_calls()
    before = counts()
    assert load_shipped_calls() == [("cdq-2017-2018", False), ("cdq-2019", False)]
    assert (
        counts()
        == before
        == {
            "Edition": 2,
            "Neighbourhood": 10,
            "Guideline": 30,
            "Criterion": 10,
            "AuditEvent": 2,
        }
    )


# --- the minimum contract and what it becomes ---------------------------------------------


def test_minimal_file_maps_to_columns(app, tmp_path):
    now = datetime(2019, 3, 10, tzinfo=UTC)
    edition, created = load_call_file(write(tmp_path, MINIMAL), now=now)
    assert created
    edition = db.session.get(Edition, edition.id)
    assert edition.state == "open"
    assert edition.budget_cap_cents == 80_000_00
    assert edition.max_grant_cents == 16_000_00
    assert edition.min_cofinancing_bp == 1000
    assert edition.advance_share_bp == 5000
    assert edition.min_partial_share_bp == 5000
    assert edition.opens_at == datetime(2019, 3, 1, 8, tzinfo=UTC)
    assert edition.closes_at == datetime(2019, 4, 15, 10, tzinfo=UTC)
    assert edition.tie_break == ["criterion:coherence", "cofinancing_share", "protocol"]
    assert edition.allocation_mode == "area_quotas_then_pool"
    # Keys outside the minimum contract take their documented defaults.
    assert edition.protocol_prefix == "CDQTEST"
    assert edition.project_starts_on.isoformat() == "2019-04-15"
    assert edition.budget_categories == [] and edition.description == ""
    assert [(h.slug, h.quota_cents, h.households) for h in edition.neighbourhoods] == [
        ("san-siro", 16_000_00, None),
        ("gratosoglio", 16_000_00, None),
    ]
    assert [g.code for g in edition.neighbourhoods[1].guidelines] == ["GR1"]
    assert edition.general_guidelines == []
    assert edition.source["rules"]["min_cofinancing_share"] == 0.10


@pytest.mark.parametrize(
    "now, state",
    [
        # The call opens at 09:00 in Rome, that is 08:00 UTC in March.
        (datetime(2019, 3, 1, 7, 59, tzinfo=UTC), "draft"),
        (datetime(2019, 3, 1, 8, 0, tzinfo=UTC), "open"),
        # It closes at 12:00 in Rome, summer time: 10:00 UTC.
        (datetime(2019, 4, 15, 9, 59, tzinfo=UTC), "open"),
        (datetime(2019, 4, 15, 10, 0, tzinfo=UTC), "closed"),
    ],
)
def test_state_at_load_follows_the_dates_in_rome(app, tmp_path, now, state):
    edition, _ = load_call_file(write(tmp_path, MINIMAL), now=now)
    assert edition.state == state


def test_admissibility_keys_are_read_with_their_defaults(app, tmp_path):
    edition, _ = load_call_file(write(tmp_path, MINIMAL))
    assert (edition.rejection_notice_days, edition.acceptance_days) == (0, 15)
    assert edition.admissibility_checks == [] and edition.required_guidelines("san-siro") == ()
    text = edit(
        MINIMAL, "integration_days = 10\n", "integration_days = 10\nrejection_notice_days = 10\n"
    )
    text = edit(
        text,
        'lab_address = "Piazzale Selinunte 4"\n',
        'lab_address = "Piazzale Selinunte 4"\nrequired_guidelines = ["SS2"]\n',
    )
    text += '\n[[admissibility_checks]]\ncode = "firma"\nlabel = "Domanda firmata"\n'
    edition, _ = load_call_file(write(tmp_path, text, "full.toml"))
    assert edition.rejection_notice_days == 10
    assert edition.required_guidelines("san-siro") == ("SS2",)
    assert edition.required_guidelines("gratosoglio") == ()
    assert edition.admissibility_checks == [
        {"code": "firma", "label": "Domanda firmata", "neighbourhood": None}
    ]


def test_state_for_dates_compares_instants_not_wall_clocks():
    opens = datetime(2019, 3, 1, 8, tzinfo=UTC)
    closes = datetime(2019, 4, 15, 10, tzinfo=UTC)
    rome_noon = datetime.fromisoformat("2019-04-15T12:00:00+02:00")
    assert state_for_dates(opens, closes, rome_noon - timedelta(seconds=1)) == "open"
    assert state_for_dates(opens, closes, rome_noon) == "closed"


def test_native_toml_datetimes_and_dates_are_accepted():
    text = edit(MINIMAL, '"2019-03-01T09:00:00+01:00"', "2019-03-01T09:00:00+01:00")
    text = edit(text, 'office = "', 'project_starts_on = 2019-06-01\noffice = "')
    call = parse_call(text)
    assert call["edition"]["opens_at"] == datetime(2019, 3, 1, 8, tzinfo=UTC)
    assert call["edition"]["project_starts_on"].isoformat() == "2019-06-01"
    assert call["source"]["edition"]["opens_at"] == "2019-03-01T09:00:00+01:00"


# --- broken files: refused with the key named, nothing written ----------------------------

BROKEN = [
    # (id, old text, new text, key path named, words of the message)
    ("missing key", 'title = "Bando di prova"\n', "", "edition.title", "mancante"),
    ("unknown key", 'code = "cdq-test"\n', 'code = "cdq-test"\nfoo = 1\n', "edition.foo", ""),
    ("unknown table", "[rules]\n", "[extras]\nx = 1\n\n[rules]\n", "extras", "sconosciuta"),
    (
        "malformed amount",
        'max_grant = "16000.00"',
        'max_grant = "16000,5x"',
        "rules.max_grant",
        '"16000,5x" non è un importo valido',
    ),
    (
        "amount as float",
        'budget_cap = "80000.00"',
        "budget_cap = 80000.0",
        "edition.budget_cap",
        "",
    ),
    (
        "three decimals",
        'budget_cap = "80000.00"',
        'budget_cap = "80000.001"',
        "edition.budget_cap",
        "",
    ),
    (
        "impossible date",
        '"2019-04-15T12:00:00+02:00"',
        '"2019-04-31T12:00:00+02:00"',
        "edition.closes_at",
        "non è una data e ora valida",
    ),
    (
        "no offset",
        '"2019-03-01T09:00:00+01:00"',
        '"2019-03-01T09:00:00"',
        "edition.opens_at",
        "fuso orario",
    ),
    (
        "winter offset in summer",
        '"2019-04-15T12:00:00+02:00"',
        '"2019-04-15T12:00:00+01:00"',
        "edition.closes_at",
        "Europe/Rome",
    ),
    (
        "closes before it opens",
        '"2019-04-15T12:00:00+02:00"',
        '"2019-02-15T12:00:00+01:00"',
        "edition.closes_at",
        "dopo",
    ),
    ("weights not 100", "max_points = 40", "max_points = 35", "criteria", "95"),
    (
        "quotas over the cap",
        'inhabitants = 5309\nquota = "16000.00"',
        'inhabitants = 5309\nquota = "70000.00"',
        "neighbourhoods",
        "supera il tetto",
    ),
    (
        "malformed quota",
        'inhabitants = 5309\nquota = "16000.00"',
        'inhabitants = 5309\nquota = "sedicimila"',
        "neighbourhoods[2].quota",
        "non è un importo valido",
    ),
    (
        "missing quota with area quotas",
        'inhabitants = 5309\nquota = "16000.00"\n',
        "inhabitants = 5309\n",
        "neighbourhoods[2].quota",
        "area_quotas_then_pool",
    ),
    ("duplicate slug", 'slug = "gratosoglio"', 'slug = "san-siro"', "neighbourhoods[2].slug", ""),
    ("bad slug", 'slug = "gratosoglio"', 'slug = "Grato Soglio"', "neighbourhoods[2].slug", ""),
    (
        "duplicate guideline code",
        '{ code = "GR1"',
        '{ code = "SS1"',
        "neighbourhoods[2].guidelines[1].code",
        "già usato",
    ),
    (
        "unknown key in a guideline",
        '{ code = "GR1", text',
        '{ code = "GR1", note = "x", text',
        "neighbourhoods[2].guidelines[1].note",
        "",
    ),
    (
        "tie_break on a missing criterion",
        '"criterion:coherence", "cofinancing_share"',
        '"criterion:impact", "cofinancing_share"',
        "rules.tie_break[1]",
        "impact",
    ),
    (
        "tie_break unknown item",
        '"cofinancing_share", "protocol"]',
        '"cofinancing_share", "age"]',
        "rules.tie_break[3]",
        "age",
    ),
    (
        "share over 1",
        "min_cofinancing_share = 0.10",
        "min_cofinancing_share = 1.5",
        "rules.min_cofinancing_share",
        "",
    ),
    ("share as text", "advance_share = 0.5", 'advance_share = "50%"', "rules.advance_share", ""),
    ("aggregation", 'aggregation = "mean"', 'aggregation = "max"', "rules.aggregation", "median"),
    ("mode", 'mode = "area_quotas_then_pool"', 'mode = "lottery"', "allocation.mode", ""),
    (
        "on_insufficient",
        'on_insufficient = "partial"',
        'on_insufficient = "maybe"',
        "allocation.on_insufficient",
        "",
    ),
    (
        "partial without its share",
        "min_partial_share = 0.5\n",
        "",
        "allocation.min_partial_share",
        "partial",
    ),
    ("threshold as text", "threshold = 60", 'threshold = "60"', "rules.threshold", "intero"),
    ("threshold over 100", "threshold = 60", "threshold = 160", "rules.threshold", ""),
    (
        "max grant over cap",
        'max_grant = "16000.00"',
        'max_grant = "90000.00"',
        "rules.max_grant",
        "",
    ),
    ("missing table", "[allocation]\n", "[allocazione]\n", "allocation", "mancante"),
    ("edition code", 'code = "cdq-test"', 'code = "CdQ test"', "edition.code", ""),
    (
        "guidelines not a list",
        'guidelines = [\n  { code = "GR1", text = "Manutenzione stabili ERP Sud" },\n]',
        'guidelines = "GR1"',
        "neighbourhoods[2].guidelines",
        "elenco",
    ),
    (
        "negative figure",
        "inhabitants = 5309",
        "inhabitants = -5",
        "neighbourhoods[2].inhabitants",
        "",
    ),
    ("toml syntax", "[rules]\n", "[rules\n", "", "TOML non valido"),
    (
        "a manual check for a neighbourhood the call does not have",
        "[allocation]\n",
        '[[admissibility_checks]]\ncode = "luogo"\nlabel = "Attività nel quartiere"\n'
        'neighbourhood = "quarto-oggiaro"\n\n[allocation]\n',
        "admissibility_checks[1].neighbourhood",
        "non è un quartiere",
    ),
    (
        "a required guideline of another neighbourhood",
        'lab_address = "via Baroni 9"\n',
        'lab_address = "via Baroni 9"\nrequired_guidelines = ["SS1"]\n',
        "neighbourhoods[2].required_guidelines",
        "non è una linea di indirizzo di questo quartiere",
    ),
    (
        "a control character in a one-line text",
        'title = "Bando di prova"',
        'title = "Bando\tdi prova"',
        "edition.title",
        "U+0009",
    ),
    (
        "a cap written with an exponent",
        'budget_cap = "',
        'budget_cap = "1e5" # ',
        "edition.budget_cap",
        "non è un importo valido",
    ),
    (
        "notice days out of range",
        "integration_days = 10\n",
        "integration_days = 10\nrejection_notice_days = -1\n",
        "rules.rejection_notice_days",
        "fuori dall'intervallo",
    ),
]


@pytest.mark.parametrize(
    "old, new, key, words", [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN]
)
def test_broken_file_is_refused_naming_the_key_and_changes_nothing(
    app, tmp_path, old, new, key, words
):
    load_shipped_calls()
    db.session.commit()
    before = counts()
    with pytest.raises(CallFileError) as refused:
        load_call_file(write(tmp_path, edit(MINIMAL, old, new)))
    paths = [path for path, _ in refused.value.problems]
    assert paths.count(key) == 1, refused.value.problems
    message = str(refused.value)
    assert key in message and words in message
    db.session.rollback()
    assert counts() == before


def test_every_problem_is_reported_at_once():
    text = edit(MINIMAL, 'max_grant = "16000.00"', 'max_grant = "16000,5x"')
    text = edit(text, 'code = "cdq-test"\n', 'code = "cdq-test"\nfoo = 1\n')
    text = edit(text, "max_points = 40", "max_points = 10")
    text = edit(text, 'slug = "gratosoglio"', 'slug = "san-siro"')
    with pytest.raises(CallFileError) as refused:
        parse_call(text, "call.toml")
    assert [path for path, _ in refused.value.problems] == [
        "edition.foo",
        "rules.max_grant",
        "criteria",
        "neighbourhoods[2].slug",
    ]
    assert str(refused.value).startswith("il file call.toml non è valido (4 problemi):")
    assert 'rules.max_grant: "16000,5x" non è un importo valido' in str(refused.value)


def test_parse_call_takes_a_dict():
    with pytest.raises(CallFileError) as refused:
        parse_call({"edition": [], "criteria": {}})
    paths = {path for path, _ in refused.value.problems}
    assert {"edition", "rules", "allocation", "criteria", "neighbourhoods"} <= paths


def test_lengths_are_checked_before_the_database(app, tmp_path):
    """SQLite would store an over-long title; PostgreSQL would fail half-way. Neither happens."""
    load_call_file(write(tmp_path, MINIMAL))
    before = counts()
    text = edit(MINIMAL, 'code = "cdq-test"', 'code = "cdq-test-2"')
    text = edit(text, 'title = "Bando di prova"', f'title = "{"x" * 301}"')
    with pytest.raises(CallFileError, match="edition.title: troppo lungo"):
        load_call_file(write(tmp_path, text))
    assert counts() == before


# --- reloading ----------------------------------------------------------------------------


def test_reload_updates_an_edition_without_applications(app, tmp_path):
    edition, created = load_call_file(write(tmp_path, MINIMAL))
    edition_id = edition.id
    text = edit(MINIMAL, 'title = "Bando di prova"', 'title = "Bando di prova, rettificato"')
    # Gratosoglio goes, so its guideline and its quota with it.
    text = text[: text.index('[[neighbourhoods]]\nslug = "gratosoglio"')]
    text = edit(
        text, '{ code = "SS2", text = "Custodi sociali" }', '{ code = "SS2", text = "Custodi"}'
    )
    edition, created = load_call_file(write(tmp_path, text, "fixed.toml"))
    assert not created and edition.id == edition_id
    db.session.expire_all()
    edition = db.session.get(Edition, edition_id)
    assert edition.title == "Bando di prova, rettificato"
    assert [h.slug for h in edition.neighbourhoods] == ["san-siro"]
    assert [(g.code, g.text) for g in edition.guidelines] == [
        ("SS1", "Biblioteca di quartiere"),
        ("SS2", "Custodi"),
    ]
    assert counts() == {
        "Edition": 1,
        "Neighbourhood": 1,
        "Guideline": 2,
        "Criterion": 2,
        "AuditEvent": 2,
    }
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.trigger, e.edition_id, e.actor_label) for e in events] == [
        ("load_call", edition_id, events[0].actor_label),
        ("reload", edition_id, events[0].actor_label),
    ]
    assert events[1].payload["file"] == "fixed.toml" and len(events[1].payload["sha256"]) == 64
    assert audit.verify() is None


def test_reload_is_refused_once_the_edition_has_applications(app, tmp_path):
    edition, _ = load_call_file(write(tmp_path, MINIMAL))
    applicant = create_user("applicant", organisation=create_organisation())
    db.session.add(
        Application(edition=edition, organisation=applicant.organisation, created_by=applicant)
    )
    db.session.commit()
    before = counts()
    text = edit(MINIMAL, 'title = "Bando di prova"', 'title = "Altro titolo"')
    with pytest.raises(CallFileError) as refused:
        load_call_file(write(tmp_path, text))
    assert refused.value.problems[0][0] == "edition.code"
    assert "ha già 1 domande" in str(refused.value)
    db.session.expire_all()
    assert db.session.get(Edition, edition.id).title == "Bando di prova"
    assert counts() == before


def _dates(text, opens, closes):
    text = edit(text, 'opens_at = "2019-03-01T09:00:00+01:00"', f'opens_at = "{opens.isoformat()}"')
    return edit(
        text, 'closes_at = "2019-04-15T12:00:00+02:00"', f'closes_at = "{closes.isoformat()}"'
    )


def test_reloading_never_takes_a_closed_call_back_to_open(app, tmp_path):
    edition, _ = load_call_file(write(tmp_path, MINIMAL))  # 2019: closed by its dates
    assert edition.state == "closed"
    before = counts()
    now = to_rome(utcnow())
    reopened = _dates(MINIMAL, now - timedelta(days=1), now + timedelta(days=30))
    with pytest.raises(CallFileError) as refused:
        load_call_file(write(tmp_path, reopened, "reopen.toml"))
    assert "già chiuso" in str(refused.value)
    db.session.expire_all()
    assert db.session.get(Edition, edition.id).state == "closed"
    assert counts() == before


def test_reloading_with_dates_that_have_come_opens_the_call_through_the_machine(app, tmp_path):
    now = to_rome(utcnow())
    later = _dates(MINIMAL, now + timedelta(days=5), now + timedelta(days=30))
    edition, _ = load_call_file(write(tmp_path, later))
    assert edition.state == "draft"
    sooner = _dates(MINIMAL, now - timedelta(hours=1), now + timedelta(days=30))
    load_call_file(write(tmp_path, sooner, "sooner.toml"))
    db.session.expire_all()
    assert db.session.get(Edition, edition.id).state == "open"
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.trigger, e.from_state, e.to_state) for e in events] == [
        ("load_call", None, "draft"),
        ("reload", "draft", "draft"),
        ("open", "draft", "open"),
    ]
    assert audit.verify() is None


# --- the command line ---------------------------------------------------------------------


def test_cli_calls_load(runner, tmp_path):
    path = write(tmp_path, MINIMAL)
    result = runner.invoke(args=["calls", "load", path])
    assert result.exit_code == 0, result.output
    assert "loaded: cdq-test «Bando di prova», tetto 80000.00, 2 quartieri" in result.output
    result = runner.invoke(args=["calls", "load", path])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("updated: cdq-test")


def test_cli_calls_load_refuses_a_bad_file(runner, tmp_path):
    before = counts()
    text = edit(MINIMAL, 'max_grant = "16000.00"', 'max_grant = "16000,5x"')
    text = edit(text, "max_points = 40", "max_points = 41")
    result = runner.invoke(args=["calls", "load", write(tmp_path, text, "bad.toml")])
    assert result.exit_code == 1
    assert "il file bad.toml non è valido (2 problemi)" in result.output
    assert 'rules.max_grant: "16000,5x" non è un importo valido' in result.output
    assert "criteria: la somma di max_points è 101, deve essere 100" in result.output
    assert "Traceback" not in result.output
    assert counts() == before


def test_cli_calls_load_missing_file(runner, tmp_path):
    result = runner.invoke(args=["calls", "load", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_cli_init_is_idempotent(runner):
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert "loaded: cdq-2017-2018" in result.output and "loaded: cdq-2019" in result.output
    before = counts()
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert "already present: cdq-2017-2018" in result.output
    assert "already present: cdq-2019" in result.output
    assert counts() == before


def test_cli_init_refuses_a_bad_shipped_file_and_loads_none(runner, tmp_path, monkeypatch):
    write(tmp_path, MINIMAL, "a-good.toml")
    write(tmp_path, edit(MINIMAL, 'code = "cdq-test"', 'code = "cdq-bad"\nfoo = 1'), "b-bad.toml")
    monkeypatch.setattr("bando.calls.loading.SHIPPED_DIR", str(tmp_path))
    before = counts()
    result = runner.invoke(args=["init"])
    assert result.exit_code == 1
    assert "il file b-bad.toml non è valido: edition.foo: chiave sconosciuta" in result.output
    assert counts() == before


def test_a_row_of_dots_in_a_text_is_no_dotted_key():
    # A signature line in a guideline ("Firma ........") or a list of one-word sentences are
    # text; only a key of more than 32 dotted parts is refused before the reader.
    text = MINIMAL.replace(
        'code = "cdq-test"', 'code = "cdq-test"\n# Firma ' + "." * 500 + "\n# " + "a. " * 20
    )
    assert parse_call(text)["edition"]["code"] == "cdq-test"
