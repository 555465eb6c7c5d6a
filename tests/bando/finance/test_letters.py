"""The letters read back: protocol, organisation, tax code, the amount in figures and in
words, the deadlines; the same letters with the same protocols when made again; the page
as an image; a signed letter validated with pyHanko; the ZIP by the command and the API;
who may read which letter."""

import io
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from bando.core.extensions import db
from bando.core.formatting import day
from bando.core.models import AuditEvent
from bando.core.timeutil import utcnow
from bando.finance import operations
from bando.finance.letters import amount_in_words
from bando.finance.models import Letter
from tests.evaluation_factories import token
from tests.finance_factories import funded_world
from tests.letters_factories import letters_world


def read(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def get_letter(client, headers, application, kind):
    response = client.get(
        f"/api/v1/applications/{application.id}/letters/{kind}.pdf", headers=headers
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/pdf"
    return response.data


def issued_letter(client, headers, application, kind):
    """As finance: the call's missing letters issued (a second time issues nothing), then
    this one read."""
    issued = client.post(f"/api/v1/editions/{application.edition.code}/letters", headers=headers)
    assert issued.status_code == 200, issued.get_json()
    return get_letter(client, headers, application, kind)


def test_amount_in_words():
    assert amount_in_words(16_000_00) == "euro sedicimila/00"
    assert amount_in_words(94_000_00) == "euro novantaquattromila/00"
    assert amount_in_words(12_345_67) == "euro dodicimilatrecentoquarantacinque/67"


def test_the_award_letter_says_what_the_rows_say(app, client):
    world = letters_world()
    first, edition = world["first"], world["edition"]
    pdf = issued_letter(client, token(client, world["finance"]), first, "award")
    letter = db.session.scalar(select(Letter).where(Letter.application_id == first.id))
    assert letter.protocol == f"{edition.protocol_prefix}/U/0001" and letter.number == 1
    text = read(pdf)
    award = first.award
    organisation = first.organisation
    for expected in (
        "Comune di Milano",
        f"Prot. n. {letter.protocol}",
        organisation.name,
        f"Codice fiscale {organisation.tax_code}",
        f"PEC: {organisation.pec}",
        f"Oggetto: {edition.title}",
        "CUP B41H19000010004",
        first.title,
        first.neighbourhood.name,
        "posizione 1",
        "€ 16.000,00",
        "euro sedicimila/00",
        "€ 2.000,00",  # the co-financing
        "€ 8.000,00",  # the advance (50 %), and the balance
        "Con il contributo del Comune di Milano",
        "art. 28, comma 2, del D.P.R. 29 settembre 1973, n. 600",
        "€ 320,00",  # 4 % of the advance
        f"entro {day(award.accept_by)}".replace("entro ", "entro il ")
        if day(award.accept_by)[0:2] not in ("01", "08", "11")
        else f"entro l'{day(award.accept_by)}",
        day(operations.report_due_on(first)),
        "Tribunale Amministrativo Regionale per la Lombardia entro 60 giorni",
        "Presidente della Repubblica entro 120 giorni",
        "Amministrazione trasparente",
        "Regolamento (UE) 2016/679",
        "Il Direttore di Progetto",
    ):
        assert expected in text, expected
    assert "non è assoggettato" not in text
    # The fonts are embedded TrueType (the € and the accents do not depend on the reader).
    reader = PdfReader(io.BytesIO(pdf))
    fonts = [
        font.get_object() for page in reader.pages for font in page["/Resources"]["/Font"].values()
    ]
    assert fonts and all("/FontFile2" in f["/FontDescriptor"] for f in fonts)
    assert reader.metadata.creation_date.replace(tzinfo=UTC) == letter.issued_at.replace(
        microsecond=0
    )


def test_an_exempt_organisation_is_told_so(app, client):
    world = letters_world(exempt=True, cup=None)
    text = read(issued_letter(client, token(client, world["finance"]), world["first"], "award"))
    assert "non è assoggettato alla ritenuta d'acconto del 4 %" in text
    assert "ONLUS (art. 16 D.Lgs. 460/1997)" in text
    assert "CUP" not in text


def test_the_other_kinds(app, client):
    world = letters_world()
    headers = token(client, world["finance"])
    reserve = read(issued_letter(client, headers, world["reserve"], "reserve"))
    assert "idoneo ma non finanziato" in reserve and "posizione 3" in reserve
    rejected = read(get_letter(client, headers, world["rejected"], "not_admissible"))
    assert "non ammissibile" in rejected
    assert "Statuto non conforme: manca lo scopo sociale." in rejected
    asked = read(get_letter(client, headers, world["asked"], "integration_request"))
    assert "Manca la firma sul piano economico." in asked
    assert day(world["asked"].integration_deadline) in asked
    # A request is not a decision: no appeal route in it.
    assert "Tribunale Amministrativo" not in asked
    # A letter the state does not call for is not issued.
    response = client.get(
        f"/api/v1/applications/{world['reserve'].id}/letters/award.pdf", headers=headers
    )
    assert response.status_code == 404
    response = client.get(
        f"/api/v1/applications/{world['reserve'].id}/letters/nonsense.pdf", headers=headers
    )
    assert response.status_code == 404


def test_a_letter_says_what_it_said_when_issued(app, client):
    """A protocolled letter is the record of what was sent: the rows it was read from go on
    changing (an exemption declared, an address moved, a name corrected), the letter not."""
    world = letters_world()
    headers = token(client, world["finance"])
    first, reserve = world["first"], world["reserve"]
    award_pdf = issued_letter(client, headers, first, "award")
    reserve_pdf = get_letter(client, headers, reserve, "reserve")
    first.organisation.withholding_exempt = True
    first.organisation.withholding_reason = "ONLUS (art. 16 D.Lgs. 460/1997)"
    first.organisation.address = "via dei Cipressi 9, 20100 Milano"
    reserve.organisation.name = "Nome Corretto APS"
    db.session.commit()
    assert get_letter(client, headers, first, "award") == award_pdf
    assert get_letter(client, headers, reserve, "reserve") == reserve_pdf
    assert "Nome Corretto" not in read(reserve_pdf)
    # A letter issued before what it says was kept is read from the rows as they are.
    letter = operations.letter_of(first, "award")
    letter.content = None
    db.session.commit()
    text = read(get_letter(client, headers, first, "award"))
    assert "via dei Cipressi 9" in text and "non è assoggettato" in text


def test_an_award_issued_after_its_acceptance_says_it_was_accepted(app, client):
    application, _, finance, _ = funded_world(10_000)  # accepted before any letter
    headers = token(client, finance)
    text = read(issued_letter(client, headers, application, "award"))
    accepted = day(application.award.accepted_at)
    assert "Il contributo è stato accettato dall'Ente" in text and accepted in text
    assert "deve essere accettato" not in text
    # A letter read from the rows (issued before its content was kept) knows of no
    # acceptance after it was issued.
    letter = operations.letter_of(application, "award")
    letter.content = None
    letter.issued_at = application.award.accepted_at - timedelta(hours=1)
    db.session.commit()
    text = read(get_letter(client, headers, application, "award"))
    assert "deve essere accettato" in text and "è stato accettato" not in text


def test_made_again_the_same_letters_with_the_same_protocols(app, client, runner, tmp_path):
    world = letters_world()
    edition = world["edition"]
    headers = token(client, world["finance"])
    zip_url = f"/api/v1/editions/{edition.code}/letters.zip"
    assert client.get(zip_url, headers=headers).status_code == 409  # nothing issued yet
    issued = client.post(f"/api/v1/editions/{edition.code}/letters", headers=headers)
    assert issued.status_code == 200
    first = client.get(zip_url, headers=headers)
    assert first.status_code == 200 and first.mimetype == "application/zip"
    letters = db.session.scalars(
        select(Letter).where(Letter.edition_id == edition.id).order_by(Letter.number)
    ).all()
    # One per proposal with a letter to get, numbered without gaps.
    assert [x.number for x in letters] == [1, 2, 3, 4, 5]
    assert {x.kind for x in letters} == {
        "award",
        "reserve",
        "not_admissible",
        "integration_request",
    }
    again = client.get(zip_url, headers=headers)
    assert again.data == first.data  # byte for byte, protocols included
    db.session.expire_all()
    assert [
        x.protocol
        for x in db.session.scalars(
            select(Letter).where(Letter.edition_id == edition.id).order_by(Letter.number)
        )
    ] == [x.protocol for x in letters]
    archive = zipfile.ZipFile(io.BytesIO(first.data))
    assert archive.testzip() is None
    names = archive.namelist()
    assert len(names) == 5 and all(n.endswith(".pdf") for n in names)
    for letter in letters:
        name = f"{letter.kind}-{letter.protocol.replace('/', '-')}.pdf"
        assert letter.protocol in read(archive.read(name))
    # The command gives the same archive.
    out = tmp_path / "lettere.zip"
    result = runner.invoke(args=["letters", edition.code, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "5 letters (0 newly issued)" in result.output
    assert out.read_bytes() == first.data


def test_the_command_issues_and_refuses_an_unknown_call(app, runner, tmp_path):
    world = letters_world()
    # A folder that does not exist: said before any letter is issued.
    missing = tmp_path / "manca" / "lettere.zip"
    result = runner.invoke(args=["letters", world["edition"].code, "--out", str(missing)])
    assert result.exit_code == 1 and "no such folder" in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert db.session.scalar(select(func.count(Letter.id))) == 0
    out = tmp_path / "lettere.zip"
    result = runner.invoke(args=["letters", world["edition"].code, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "5 letters (5 newly issued)" in result.output
    assert len(zipfile.ZipFile(out).namelist()) == 5
    result = runner.invoke(args=["letters", "nessuno", "--out", str(tmp_path / "x.zip")])
    assert result.exit_code != 0 and "no such call" in result.output
    assert not (tmp_path / "x.zip").exists()


def test_finance_lists_then_issues_the_letters_through_the_api(app, client):
    world = letters_world()
    edition = world["edition"]
    headers = token(client, world["finance"])
    url = f"/api/v1/editions/{edition.code}/letters"
    listed = client.get(url, headers=headers)
    assert listed.status_code == 200, listed.get_json()
    before = listed.get_json()
    assert before["missing"] == 5 and before["issued_now"] == 0
    assert {(row["application_id"], row["kind"]) for row in before["letters"]} == {
        (world["first"].id, "award"),
        (world["second"].id, "award"),
        (world["reserve"].id, "reserve"),
        (world["rejected"].id, "not_admissible"),
        (world["asked"].id, "integration_request"),
    }
    assert all(row["protocol"] is None for row in before["letters"])
    assert db.session.scalar(select(func.count(Letter.id))) == 0  # reading issued nothing

    issued = client.post(url, headers=headers)
    assert issued.status_code == 200, issued.get_json()
    body = issued.get_json()
    assert body["issued_now"] == 5 and body["missing"] == 0
    letters = db.session.scalars(select(Letter).order_by(Letter.number)).all()
    assert sorted(row["protocol"] for row in body["letters"]) == sorted(x.protocol for x in letters)
    assert all(row["issued_at"].endswith(("+01:00", "+02:00")) for row in body["letters"])
    again = client.post(url, headers=headers).get_json()
    assert again["issued_now"] == 0 and again["letters"] == body["letters"]
    assert client.get(url, headers=headers).get_json()["letters"] == body["letters"]

    for role in ("officer", "first_owner"):
        assert client.post(url, headers=token(client, world[role])).status_code == 403
    assert client.get(url).status_code == 401
    assert client.post("/api/v1/editions/nessuno/letters", headers=headers).status_code == 404
    assert db.session.scalar(select(func.count(Letter.id))) == 5


def test_reading_never_issues_a_letter(app, client):
    """A GET (a link followed, prefetched, or sent from another site) gives no protocol: the
    letter the state calls for is refused as not issued yet, the ZIP too, nothing written."""
    world = letters_world()
    edition, first = world["edition"], world["first"]
    headers = token(client, world["finance"])
    events = db.session.scalar(select(func.count(AuditEvent.id)))
    for url in (
        f"/api/v1/applications/{first.id}/letters/award.pdf",
        f"/api/v1/applications/{first.id}/letter.pdf",
    ):
        response = client.get(url, headers=headers)
        assert response.status_code == 409, url
        body = response.get_json()
        assert body["code"] == "letter_not_issued"
        assert f"POST /api/v1/editions/{edition.code}/letters" in body["error"]
    refused = client.get(f"/api/v1/editions/{edition.code}/letters.zip", headers=headers)
    assert refused.status_code == 409 and refused.get_json()["code"] == "no_letters_issued"
    assert db.session.scalar(select(func.count(Letter.id))) == 0
    assert db.session.scalar(select(func.count(AuditEvent.id))) == events
    # A kind the state does not call for stays "not found", before and after issuing.
    other = f"/api/v1/applications/{first.id}/letters/reserve.pdf"
    assert client.get(other, headers=headers).status_code == 404
    # Once issued, each read gives the same letter.
    client.post(f"/api/v1/editions/{edition.code}/letters", headers=headers)
    assert get_letter(client, headers, first, "award") == get_letter(
        client, headers, first, "award"
    )
    assert client.get(other, headers=headers).status_code == 404


def test_a_request_past_its_deadline_expires_before_its_letter_is_chosen(app, client, runner):
    """The request for documents went unanswered and no tick has run yet: finance sees, and
    issues, the letter of the state it is really in (not admissible), not a request's."""
    world = letters_world()
    asked, edition = world["asked"], world["edition"]
    asked.integration_deadline = utcnow() - timedelta(seconds=1)
    db.session.commit()
    headers = token(client, world["finance"])
    url = f"/api/v1/editions/{edition.code}/letters"
    rows = client.get(url, headers=headers).get_json()["letters"]
    assert [r["kind"] for r in rows if r["application_id"] == asked.id] == ["not_admissible"]
    assert client.post(url, headers=headers).get_json()["issued_now"] == 5
    kinds = db.session.scalars(select(Letter.kind).where(Letter.application_id == asked.id))
    assert list(kinds) == ["not_admissible"]
    text = read(get_letter(client, headers, asked, "not_admissible"))
    assert "integrazione non pervenuta entro il termine" in text
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_who_may_read_a_letter(app, client):
    world = letters_world()
    first, owner, other = world["first"], world["first_owner"], world["second_owner"]
    url = f"/api/v1/applications/{first.id}/letters/award.pdf"
    assert client.get(url).status_code == 401
    # Not issued yet: the organisation has nothing to read.
    assert client.get(url, headers=token(client, owner)).status_code == 404
    issued_letter(client, token(client, world["finance"]), first, "award")
    assert get_letter(client, token(client, owner), first, "award")
    assert client.get(url, headers=token(client, other)).status_code == 404
    assert client.get(url, headers=token(client, world["officer"])).status_code == 403
    current = client.get(
        f"/api/v1/applications/{first.id}/letter.pdf", headers=token(client, owner)
    )
    assert current.status_code == 200 and current.mimetype == "application/pdf"
    zip_url = f"/api/v1/editions/{world['edition'].code}/letters.zip"
    assert client.get(zip_url, headers=token(client, owner)).status_code == 403
    assert client.get(zip_url).status_code == 401
    missing = "/api/v1/editions/nessuno/letters.zip"
    assert client.get(missing, headers=token(client, world["finance"])).status_code == 404


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs pdftoppm (poppler-utils)")
def test_the_first_page_looks_like_a_letter(app, client, tmp_path):
    from PIL import Image

    world = letters_world()
    pdf = issued_letter(client, token(client, world["finance"]), world["first"], "award")
    (tmp_path / "letter.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile", "letter.pdf", "page"],
        cwd=tmp_path,
        check=True,
        timeout=60,
    )
    image = Image.open(tmp_path / "page.png").convert("RGB")
    width, height = image.size
    assert abs(height / width - 297 / 210) < 0.01  # A4, portrait

    def pixels(box):
        """The (r, g, b) of a box given in mm from the top left."""
        left, right = (round(v * width / 210) for v in box[::2])
        top, bottom = (round(v * height / 297) for v in box[1::2])
        raw = image.crop((left, top, right, bottom)).tobytes()
        return [tuple(raw[i : i + 3]) for i in range(0, len(raw), 3)]

    def ink(box) -> float:
        """The share of pixels that are not white."""
        inside = pixels(box)
        return sum(1 for p in inside if sum(p) < 600) / len(inside)

    def red(box) -> float:
        inside = pixels(box)
        return sum(1 for r, g, b in inside if r > 150 and g < 80 and b < 80) / len(inside)

    assert red((19, 13, 24, 31)) > 0.5  # the city's band beside the letterhead
    assert ink((25, 12, 120, 30)) > 0.03  # the letterhead's words
    assert ink((20, 60, 190, 250)) > 0.03  # the body of the letter
    assert ink((0, 0, 15, 297)) < 0.001  # the left margin stays white
    assert ink((0, 0, 210, 297)) < 0.5  # a page of text, not a black square


def _certificate(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "IT"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Comune di Milano (prova)"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Il Direttore di Progetto"),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = tmp_path / "key.pem", tmp_path / "cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def test_a_signed_letter_validates(app, client, tmp_path):
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    key_path, cert_path = _certificate(tmp_path)
    world = letters_world()
    headers = token(client, world["finance"])
    # Issued before the certificate was configured: the unsigned copy says so…
    unsigned = issued_letter(client, headers, world["first"], "award")
    assert "Firma autografa sostituita" in read(unsigned)
    # …and once it is, the signed copy says it is signed: the block follows the signature.
    app.config.update(LETTER_SIGN_KEY=str(key_path), LETTER_SIGN_CERT=str(cert_path))
    pdf = get_letter(client, headers, world["first"], "award")
    assert "Documento firmato digitalmente" in read(pdf)
    assert "Firma autografa sostituita" not in read(pdf)
    reader = PdfFileReader(io.BytesIO(pdf))
    (signature,) = reader.embedded_signatures
    # Trusting our own certificate only (not the system's list).
    trusted = ValidationContext(trust_roots=[load_cert_from_pemder(str(cert_path))])
    status = validate_pdf_signature(signature, trusted)
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    assert status.coverage.name == "ENTIRE_FILE"
    # Tampering breaks it.
    tampered = bytearray(pdf)
    at = pdf.index(b"Comune di Milano")
    tampered[at] = ord("X")
    tampered_sig = PdfFileReader(io.BytesIO(bytes(tampered))).embedded_signatures[0]
    assert not validate_pdf_signature(tampered_sig, trusted).intact


def test_the_font_has_every_character_the_letters_write(app, client):
    """The embedded font draws every character of every kind of letter (€, accents,
    guillemets, dashes): none falls back to an empty box."""
    from reportlab.pdfbase import pdfmetrics

    from bando.finance.letters import FONT, register_fonts

    register_fonts()
    glyphs = pdfmetrics.getFont(FONT).face.charToGlyph
    world = letters_world()
    headers = token(client, world["finance"])
    written = set()
    for application, kind in (
        (world["first"], "award"),
        (world["reserve"], "reserve"),
        (world["rejected"], "not_admissible"),
        (world["asked"], "integration_request"),
    ):
        written |= set(read(issued_letter(client, headers, application, kind)))
    assert {"€", "à", "è", "«", "»", "—"} <= written
    assert not {c for c in written if ord(c) not in glyphs and not c.isspace()}


def test_a_letter_is_the_same_bytes_whatever_was_made_before():
    """The parses, line breaks and font subsets remembered across letters change nothing:
    each letter made first, with nothing remembered, is byte for byte the one made after
    the others, in either order, including paragraphs cut at a page's end."""
    from bando.finance import letters

    base = dict(
        protocol="CDQ2019/U/0001",
        issued_at=datetime(2026, 3, 2, 10, 30, tzinfo=UTC),
        administration="Comune di Milano",
        office="Direzione Quartieri",
        office_address="Piazza della Scala 2 — 20121 Milano",
        office_pec="bandi@pec.comune.milano.it",
        signatory_name="Mario Bianchi",
        signatory_role="Il Direttore di Progetto",
        procedure_manager="Il Direttore di Progetto Mario Bianchi",
        edition_title="Bando alle periferie 2019",
        legal_basis="Delibera G.C. n. 1234/2019",
        application_protocol="CDQ2019/0001",
        submitted_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        project_title="Orti & laboratori <condivisi>",
        neighbourhood="Giambellino",
        organisation_name="Associazione Città Aperta",
        tax_code="97000000001",
        address="via dei Tigli 1, 20100 Milano",
        pec="ente1@pec.example.it",
        legal_representative="Maria Rossi",
        position=1,
        points="90.50",
        amount_cents=16_000_00,
        cofinancing_cents=2_000_00,
        total_cost_cents=20_000_00,
        advance_share_bp=5000,
        accept_by=datetime(2026, 3, 17, 22, 59, tzinfo=UTC),
        report_due_days=60,
        reason="Statuto non conforme:\nmanca lo scopo sociale.",
        deadline=datetime(2026, 3, 20, 11, 0, tzinfo=UTC),
    )
    made = [letters.LetterData(kind=kind, **base) for kind in letters.KIND_SUBJECTS]
    for n in (0, 12, 30):  # longer texts move other paragraphs across the page's end
        made.append(letters.LetterData(kind="award", **{**base, "project_title": "Orti " * n}))
        made.append(
            letters.LetterData(kind="not_admissible", **{**base, "reason": "No. " * 60 * n})
        )
    alone = []
    for data in made:
        for remembered in (letters._PARSED, letters._BROKEN, letters._WIDTHS, letters._FLATE.done):
            remembered.clear()
        alone.append(letters.render(data))
    pairs = list(zip(made, alone, strict=True))
    for data, pdf in [*pairs, *reversed(pairs)]:
        assert letters.render(data) == pdf, data.kind
