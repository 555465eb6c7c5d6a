"""Italian first, English on request: the locale choice and the English catalogue."""

import os
import re
from datetime import UTC, datetime

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from bando import ROOT
from bando.core.extensions import db
from bando.core.formatting import clock, day, moment, money, share
from tests.bando.public.test_pages import award, cdq_like_edition
from tests.factories import PASSWORD, create_user

TRANSLATIONS = os.path.join(ROOT, "bando", "translations")
PO = os.path.join(TRANSLATIONS, "en", "LC_MESSAGES", "messages.po")

# The files whose strings the public pages show; every one must have its English text.
PUBLIC_SOURCES = [
    ("templates/base.html", "jinja2"),
    ("templates/error.html", "jinja2"),
    ("templates/auth/login.html", "jinja2"),
    ("templates/public/index.html", "jinja2"),
    ("templates/public/edition.html", "jinja2"),
    ("templates/public/how_it_works.html", "jinja2"),
    ("templates/public/_macros.html", "jinja2"),
    ("bando/core/layout.py", "python"),
    ("bando/core/errors.py", "python"),
    ("bando/accounts/pages.py", "python"),
]


def read_catalogue():
    with open(PO, "rb") as handle:
        return read_po(handle, locale="en")


def text_of(response) -> str:
    return response.get_data(as_text=True)


def test_italian_is_the_default(app, client):
    cdq_like_edition()
    html = text_of(client.get("/"))
    assert '<html lang="it">' in html
    assert "<h1>Bandi di contributi</h1>" in html
    assert "€ 94.000,00" in html
    assert "15/04/2019" in html


def test_english_on_request_and_remembered(app, client):
    cdq_like_edition()
    html = text_of(client.get("/?lang=en"))
    assert '<html lang="en">' in html
    assert "<h1>Grant calls</h1>" in html
    assert "€ 94,000.00" in html
    assert "from 01/03/2019 at 09:00 to 15/04/2019 at 12:00" in html
    assert "Closed – under evaluation" in html
    assert ">Sign in<" in html
    # The choice is kept for the next pages…
    html = text_of(client.get("/bandi/cdq-prova"))
    assert '<html lang="en">' in html
    # …until Italian is chosen again.
    assert '<html lang="it">' in text_of(client.get("/?lang=it"))
    assert '<html lang="it">' in text_of(client.get("/"))


def test_unknown_language_is_ignored(client):
    assert '<html lang="it">' in text_of(client.get("/?lang=de"))


def test_english_call_page(app, client):
    edition = cdq_like_edition(cap_cents=80_000_00)
    award(edition, 10_000_00)
    award(edition, 10_000_00)  # each within the call's maximum per project
    html = text_of(client.get("/bandi/cdq-prova?lang=en"))
    for heading in (
        "Rules of the call",
        "Evaluation criteria",
        "General aims of the call",
        "Neighbourhoods and guidelines",
        "Dates",
    ):
        assert heading in html, heading
    assert "Committed: 25% of the cap" in html
    assert "Maximum grant per project: € 16,000.00." in html
    assert "Minimum co-financing by the organisation: 10%" in html
    assert "Inhabitants" in html and "6,647" in html


def test_english_error_page(client):
    page = client.get("/bandi/non-esiste?lang=en")
    assert page.status_code == 404
    assert "Page not found." in text_of(page)


def test_english_login_message(app, client):
    user = create_user("officer")
    db.session.commit()
    client.get("/accedi?lang=en")
    html = text_of(client.post("/accedi", data={"email": user.email, "password": "no"}))
    assert "Wrong email or password." in html


def test_user_locale_applies_until_a_choice_is_made(app, client):
    user = create_user("officer")
    user.locale = "en"
    db.session.commit()
    client.post("/accedi", data={"email": user.email, "password": PASSWORD})
    assert '<html lang="en">' in text_of(client.get("/"))
    assert '<html lang="it">' in text_of(client.get("/?lang=it"))


def test_language_links_keep_the_page_and_its_query(client):
    html = text_of(client.get("/accedi?next=/come-funziona"))
    assert 'href="/accedi?next=%2Fcome-funziona&amp;lang=en"' in html
    assert 'lang="en" hreflang="en">English</a>' in html
    # The current language is not a link.
    assert '<span class="active" lang="it" aria-current="true">Italiano</span>' in html


def test_language_links_stay_on_the_site_whatever_the_path(client):
    # A 404 page shows its language links too: a path a browser would read as another host
    # ("/\\host" is "//host" to it) becomes a path of this site.
    for path, expected in (
        ("/%5Cevil.example", "/%5Cevil.example?lang=en"),
        ("/%09/evil.example", "/%09/evil.example?lang=en"),
        ("/bandi/caff%C3%A8", "/bandi/caff%C3%A8?lang=en"),
    ):
        html = text_of(client.get(path))
        links = re.findall(r'href="([^"]*lang=en)"', html)
        assert links == [expected], (path, links)


def test_formats():
    summer = datetime(2019, 4, 15, 10, 0, tzinfo=UTC)
    winter = datetime(2019, 3, 1, 8, 0, tzinfo=UTC)
    assert (day(summer), clock(summer), moment(summer)) == (
        "15/04/2019",
        "12:00",
        "15/04/2019 12:00",
    )
    assert clock(winter) == "09:00"
    # Just before midnight UTC is already the next day in Rome.
    assert day(datetime(2019, 4, 14, 22, 30, tzinfo=UTC)) == "15/04/2019"
    assert money(94_000_00, "it") == "€ 94.000,00"
    assert money(-1_50, "it") == "-€ 1,50"
    assert (share(1000, "it"), share(1250, "it"), share(1250, "en")) == ("10%", "12,5%", "12.5%")


def test_public_strings_are_all_translated():
    catalogue = read_catalogue()
    missing = []
    for path, method in PUBLIC_SOURCES:
        with open(os.path.join(ROOT, path), "rb") as handle:
            for _lineno, message, _comments, _context in extract_from_file(
                method, handle.name, keywords={"_": None, "_l": None, "gettext": None}
            ):
                msgid = message if isinstance(message, str) else message[0]
                entry = catalogue.get(msgid)
                if entry is None or not entry.string or entry.fuzzy:
                    missing.append(f"{path}: {msgid}")
    assert not missing, "run `make messages` and translate:\n" + "\n".join(missing)


def test_translations_keep_their_placeholders():
    """A translation that drops or renames a %(name)s, or turns a template's "%%" into a
    lone "%", would fail at render time."""
    placeholder = re.compile(r"%\((\w+)\)[sd]")
    wrong = []
    for message in read_catalogue():
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set(placeholder.findall(ids[0]))
        for text in strings:
            if text and (
                set(placeholder.findall(text)) != expected or text.count("%") != ids[0].count("%")
            ):
                wrong.append(ids[0])
    assert not wrong, wrong


def test_every_word_of_the_lifecycle_has_its_english_text(app):
    """workflows/ names states, triggers and roles in Italian; bando.labels puts them in
    the catalogue. A label changed there without its marker would stay Italian."""
    from flask import session

    from bando.core import labels
    from workflows import application as machine

    with app.test_request_context():
        session["lang"] = "en"
        untranslated = [
            text
            for table, label in (
                (machine.STATE_LABELS, labels.state_label),
                (machine.TRIGGER_LABELS, labels.trigger_label),
                (machine.ROLE_LABELS, labels.role_label),
            )
            for key, text in table.items()
            if label(key) == text
        ]
        assert not untranslated, untranslated
        assert labels.state_label("submitted") == "Submitted"


def test_the_timeline_reads_in_english_for_the_officer_and_the_applicant(app, client):
    from tests.factories import create_edition, create_organisation
    from tests.lifecycle_factories import create_application, put_in_state

    edition = create_edition("cdq-en")
    organisation = create_organisation(name="Associazione Orti di Quartiere")
    owner = create_user("applicant", organisation=organisation)
    officer = create_user("officer")
    application = put_in_state(create_application(edition, organisation, owner), "submitted")
    db.session.commit()

    client.post("/accedi", data={"email": officer.email, "password": PASSWORD})
    html = text_of(client.get("/istruttoria/?bando=cdq-en&lang=en"))
    assert 'data-state="submitted">Submitted</span>' in html
    html = text_of(
        client.post(
            f"/istruttoria/domande/{application.id}/esito",
            data={"decision": "request_integration", "reason": "Manca lo statuto.", "confirm": "1"},
            follow_redirects=True,
        )
    )
    assert f"Application {application.protocol}: Documents requested." in html
    assert 'data-state="integration_requested">Documents requested</span>' in html

    client.post("/esci")
    client.post("/accedi", data={"email": owner.email, "password": PASSWORD})
    html = text_of(client.get("/domande?lang=en"))
    assert "Request for missing documents" in html
    assert "(Submitted → Documents requested)" in html
    assert "From: case officer" in html
    for italian in ("Richiesta di integrazione", "Presentata", "istruttore"):
        assert italian not in html, italian


def test_the_table_of_states_reads_in_english(client):
    html = text_of(client.get("/come-funziona?lang=en"))
    assert '<th scope="row">Withdrawn</th>' in html
    assert "<td>Application submitted</td>" in html
    assert "<td>Presentazione della domanda</td>" not in html
