"""The check of an uploaded PDF: real bombs and real active content, built here with zlib
and pypdf, refused within the budget of a child process; ordinary PDFs accepted."""

import functools
import io
import resource
import struct
import time
import zlib

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DictionaryObject,
    NameObject,
    NullObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)
from sqlalchemy import select

from bando.applications.models import Attachment
from bando.core.extensions import db
from bando.core.pdf import PROBLEMS, check_pdf, pdf_problem
from tests.bando.applications.data import pdf_bytes, proposal, token_for
from tests.factories import create_edition, create_user

MB = 1024 * 1024
LIMIT = 5 * MB
BUDGET = {"seconds": 5, "memory_mb": 256}
TOO_MUCH = PROBLEMS["resources"]


# --- PDFs written by hand, so that nothing between us and the bytes defuses them ---------


def _deflate(*parts: bytes, repeat: bytes = b"", mb: int = 0) -> bytes:
    z = zlib.compressobj(9)
    data = b"".join(z.compress(part) for part in parts)
    data += b"".join(z.compress(repeat) for _ in range(mb))
    return data + z.flush()


def _stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<< %s /Length %d >>\nstream\n%s\nendstream" % (dictionary, len(data), data)


def _classic(objects: list[bytes]) -> bytes:
    """A PDF of the given objects (1 is the catalog) with a classic xref table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def _pages(contents: list[bytes]) -> bytes:
    """One page per content stream (each already deflated)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    kids = []
    for data in contents:
        kids.append(b"%d 0 R" % (len(objects) + 1))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R >>"
            % (len(objects) + 2)
        )
        objects.append(_stream(b"/Filter /FlateDecode", data))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    return _classic(objects)


@functools.cache
def content_bomb() -> bytes:
    """One page whose content stream is 400 MB of zeros, deflated to about 400 KB."""
    return _pages([_deflate(repeat=b"\0" * MB, mb=400)])


@functools.cache
def many_streams_bomb() -> bytes:
    """Eight pages of 60 MB each: every stream under pypdf's own limit, 480 MB in all."""
    data = _deflate(repeat=b"\0" * MB, mb=60)
    return _pages([data] * 8)


@functools.cache
def object_stream_bomb(pages: int = 3, mb: int = 60) -> bytes:
    """Each page object sits in its own object stream padded with `mb` MB of spaces, so
    merely counting the pages decompresses and parses them all (the check before this
    module spent 44 s of CPU and 700 MB on ten of them, then accepted the file)."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    page_ids = [3 + 2 * i for i in range(pages)]
    stream_ids = [4 + 2 * i for i in range(pages)]
    xref_id = 3 + 2 * pages
    offsets = {}

    def put(number, body):
        offsets[number] = out.tell()
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))

    put(1, b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = b" ".join(b"%d 0 R" % page for page in page_ids)
    put(2, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages))
    for page, stream in zip(page_ids, stream_ids, strict=True):
        header = b"%d 0 " % page
        body = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"
        data = _deflate(header, body, repeat=b" " * MB, mb=mb)
        put(
            stream,
            _stream(b"/Type /ObjStm /N 1 /First %d /Filter /FlateDecode" % len(header), data),
        )
    xref_offset = out.tell()
    rows = []
    for number in range(xref_id + 1):
        if number in offsets:
            rows.append(struct.pack(">BIH", 1, offsets[number], 0))
        elif number in page_ids:
            rows.append(struct.pack(">BIH", 2, stream_ids[page_ids.index(number)], 0))
        elif number == xref_id:
            rows.append(struct.pack(">BIH", 1, xref_offset, 0))
        else:
            rows.append(struct.pack(">BIH", 0, 0, 0))
    xref = _stream(b"/Type /XRef /Size %d /W [1 4 2] /Root 1 0 R" % (xref_id + 1), b"".join(rows))
    out.write(b"%d 0 obj\n%s\nendobj\n" % (xref_id, xref))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref_offset)
    return out.getvalue()


def page_tree_bomb(fanout: int = 100, depth: int = 3) -> bytes:
    """Two kilobytes whose page tree lists the same node `fanout` times at every level:
    a million pages."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    for level in range(depth):
        child = b"%d 0 R" % (len(objects) + 2)
        objects.append(
            b"<< /Type /Pages /Kids [%s] /Count %d >>"
            % (b" ".join([child] * fanout), fanout ** (depth - level))
        )
    objects.append(b"<< /Type /Page /MediaBox [0 0 595 842] >>")
    return _classic(objects)


NO_PAGES = _classic([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


def _edited(change) -> bytes:
    """An ordinary ReportLab PDF changed by pypdf."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes())))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _with_javascript(writer):
    if hasattr(writer, "add_open_action"):  # pypdf ≥ 7
        from pypdf.actions import JavaScript

        writer.add_open_action(JavaScript("app.alert('ciao');"))
    else:
        writer.add_js("app.alert('ciao');")


def _with_open_action(action):
    def change(writer):
        writer._root_object[NameObject("/OpenAction")] = action(writer)

    return change


# --- what is refused, what is accepted ---------------------------------------------------


def _refused_within_budget(data: bytes, **budget):
    budget = {**BUDGET, **budget}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    verdict = check_pdf(data, **budget)
    wall = time.monotonic() - started
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert verdict.code == "resources", verdict
    assert verdict.problem == TOO_MUCH
    # Bounds, not timings: the work happened in the child, within its budget.
    assert grown_mb < 64, f"the web process grew by {grown_mb:.0f} MB"
    assert wall < 2 * budget["seconds"] + 10
    if verdict.peak_mb is not None:  # the child told its own peak
        assert verdict.peak_mb <= budget["memory_mb"]
    if verdict.cpu_seconds is not None:
        assert verdict.cpu_seconds <= budget["seconds"] + 2
    return verdict


def test_an_ordinary_pdf_is_accepted():
    verdict = check_pdf(pdf_bytes(), **BUDGET)
    assert verdict.code == "ok" and verdict.problem is None
    assert pdf_problem(pdf_bytes(), LIMIT, **BUDGET) is None


def test_a_decompression_bomb_in_a_content_stream_is_refused():
    data = content_bomb()
    assert len(data) < MB  # 400 MB once inflated
    _refused_within_budget(data)
    assert pdf_problem(data, LIMIT, **BUDGET) == TOO_MUCH


def test_many_streams_each_under_the_limit_are_refused_together():
    data = many_streams_bomb()
    assert len(data) < MB
    _refused_within_budget(data)


def test_object_streams_that_take_seconds_to_read_are_stopped_by_the_cpu_limit():
    data = object_stream_bomb()
    assert len(data) < MB
    _refused_within_budget(data, seconds=1)


def test_a_page_tree_of_a_million_pages_is_refused():
    data = page_tree_bomb()
    assert len(data) < 4096
    _refused_within_budget(data)


@pytest.mark.parametrize(
    "change, code",
    [
        (_with_javascript, "javascript"),
        (lambda writer: writer.add_attachment("fattura.exe", b"MZ\x90\x00"), "embedded"),
        (
            _with_open_action(
                lambda writer: DictionaryObject(
                    {
                        NameObject("/S"): NameObject("/JavaScript"),
                        NameObject("/JS"): TextStringObject("app.alert(1)"),
                    }
                )
            ),
            "javascript",
        ),
        (
            _with_open_action(
                lambda writer: DictionaryObject(
                    {
                        NameObject("/S"): NameObject("/Launch"),
                        NameObject("/F"): TextStringObject("cmd.exe"),
                    }
                )
            ),
            "actions",
        ),
        (
            lambda writer: writer.pages[0].__setitem__(
                NameObject("/AA"),
                DictionaryObject(
                    {
                        NameObject("/O"): DictionaryObject(
                            {
                                NameObject("/S"): NameObject("/URI"),
                                NameObject("/URI"): TextStringObject("https://example.org"),
                            }
                        )
                    }
                ),
            ),
            "actions",
        ),
        (lambda writer: writer.encrypt("segreta"), "encrypted"),
    ],
    ids=["javascript", "embedded-file", "open-action-js", "launch", "page-aa", "encrypted"],
)
def test_active_content_is_refused_with_its_reason(change, code):
    data = _edited(change)
    verdict = check_pdf(data, **BUDGET)
    assert verdict.code == code
    assert pdf_problem(data, LIMIT, **BUDGET) == PROBLEMS[code]


def _annotation(writer, **entries):
    """An annotation on the first page, made of `entries` (names → pypdf objects)."""
    annotation = DictionaryObject(
        {NameObject("/Type"): NameObject("/Annot"), NameObject("/Rect"): _rect()}
    )
    annotation.update({NameObject("/" + key): value for key, value in entries.items()})
    reference = writer._add_object(annotation)
    writer.pages[0][NameObject("/Annots")] = ArrayObject([reference])


def _rect():
    return ArrayObject([NumberObject(n) for n in (10, 10, 100, 30)])


def _link(uri):
    def change(writer):
        action = DictionaryObject({NameObject("/S"): NameObject("/URI"), NameObject("/URI"): uri})
        _annotation(writer, Subtype=NameObject("/Link"), A=action)

    return change


def _action(kind):
    def change(writer):
        action = DictionaryObject(
            {NameObject("/S"): NameObject(kind), NameObject("/F"): TextStringObject("x")}
        )
        _annotation(writer, Subtype=NameObject("/Link"), A=action)

    return change


def _xfa(writer):
    script = StreamObject()
    script.set_data(
        b"<xdp:xdp><event activity='initialize'><script contentType='application/"
        b"x-javascript'>app.alert(1)</script></event></xdp:xdp>"
    )
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject(
        {NameObject("/Fields"): ArrayObject(), NameObject("/XFA"): writer._add_object(script)}
    )


def _three_d(writer):
    script = StreamObject()
    script.set_data(b"host.app.alert(1);")
    model = StreamObject()
    model.update(
        {
            NameObject("/Type"): NameObject("/3D"),
            NameObject("/Subtype"): NameObject("/U3D"),
            NameObject("/OnInstantiate"): writer._add_object(script),
        }
    )
    _annotation(writer, Subtype=NameObject("/3D"), **{"3DD": writer._add_object(model)})


@pytest.mark.parametrize(
    "change, code",
    [
        (_xfa, "javascript"),
        (_three_d, "javascript"),
        (_link(TextStringObject("javascript:app.alert(1)")), "javascript"),
        (_link(TextStringObject(" JavaScript :app.alert(1)")), "javascript"),
        (_link(ByteStringObject(b"javascript:app.alert(1)")), "javascript"),
        (_link(TextStringObject("file:///C:/Windows/System32/calc.exe")), "actions"),
        (_link(TextStringObject("\\\\server\\share\\x.exe")), "actions"),
        (_link(TextStringObject("search-ms:query=x")), "actions"),
        (_link(TextStringObject("vbscript:msgbox(1)")), "javascript"),
        (_link(ByteStringObject("javascript:x".encode("utf-16"))), "javascript"),
        (_action("/SubmitForm"), "actions"),
        (_action("/ImportData"), "actions"),
        (_action("/GoToR"), "actions"),
        (lambda writer: _annotation(writer, Subtype=NameObject("/RichMedia")), "multimedia"),
    ],
    ids=[
        "xfa-script",
        "3d-script",
        "javascript-link",
        "javascript-link-spaced",
        "javascript-link-bytes",
        "file-link",
        "unc-path",
        "program-scheme",
        "vbscript-link",
        "javascript-link-utf16",
        "submit-form",
        "import-data",
        "remote-file",
        "rich-media",
    ],
)
def test_scripts_and_actions_a_click_or_a_viewer_runs_are_refused(change, code):
    data = _edited(change)
    verdict = check_pdf(data, **BUDGET)
    assert verdict.code == code
    assert pdf_problem(data, LIMIT, **BUDGET) == PROBLEMS[code]


@pytest.mark.parametrize(
    "uri", ["https://www.comune.milano.it/bandi", "HTTP://example.org", "mailto:a@b.it"]
)
def test_a_link_to_a_web_page_or_an_address_is_accepted(uri):
    data = _edited(_link(TextStringObject(uri)))
    assert check_pdf(data, **BUDGET).code == "ok"


def test_an_opening_that_only_shows_the_first_page_is_accepted():
    # LibreOffice writes `/OpenAction [page /XYZ null null 0]` in every PDF it exports.
    data = _edited(
        _with_open_action(
            lambda writer: ArrayObject(
                [
                    writer.pages[0].indirect_reference,
                    NameObject("/XYZ"),
                    NullObject(),
                    NullObject(),
                    NumberObject(0),
                ]
            )
        )
    )
    assert check_pdf(data, **BUDGET).code == "ok"


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "il file è vuoto"),
        (b"GIF89a" + b"\0" * 100, "non è un PDF"),
        (b"%PDF-1.4\nnot really a pdf\n", "danneggiato"),
        (
            _classic([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] >>"]),
            "pagine",
        ),
        (b"%PDF-" + b"\0" * (LIMIT + 1), "dimensione massima"),
    ],
    ids=["empty", "not-pdf", "damaged", "no-pages", "too-big"],
)
def test_what_is_not_a_usable_pdf_is_refused(data, message):
    assert message in pdf_problem(data, LIMIT, **BUDGET)


def test_a_file_too_big_is_not_given_a_size_it_may_not_have():
    # Uploads are read up to the limit and one byte: a 6 MB file was said to be 5.0 MB.
    problem = pdf_problem(b"%PDF-" + b"\0" * (LIMIT + 1), LIMIT, **BUDGET)
    assert problem == "il file supera la dimensione massima di 5 MB"


def test_the_budget_comes_from_the_configuration(app):
    app.config.update(PDF_CHECK_SECONDS=1, PDF_CHECK_MEMORY_MB=64)
    # 60 MB in one stream: within the default budget's pypdf limit, not within 64 MB.
    data = _pages([_deflate(repeat=b"\0" * MB, mb=60)])
    assert check_pdf(data, **BUDGET).code == "ok"
    assert pdf_problem(data, LIMIT) == TOO_MUCH


def test_a_bomb_uploaded_through_the_api_is_refused_and_not_stored(app, client):
    edition = create_edition()
    user = create_user("applicant")
    db.session.commit()
    headers = token_for(client, user.email)
    created = client.post("/api/v1/applications", headers=headers, json=proposal(edition))
    assert created.status_code == 201, created.get_json()
    url = f"/api/v1/applications/{created.get_json()['id']}/attachments"
    kind = edition.required_attachments[0]

    for data in (content_bomb(), _edited(_with_javascript)):
        response = client.post(
            url,
            headers=headers,
            data={"kind": kind, "file": (io.BytesIO(data), "statuto.pdf")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 422, response.get_json()
        assert response.get_json()["errors"]["file"][0] in (TOO_MUCH, PROBLEMS["javascript"])
    assert db.session.scalar(select(Attachment.id)) is None

    response = client.post(
        url,
        headers=headers,
        data={"kind": kind, "file": (io.BytesIO(pdf_bytes()), "statuto.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code in (200, 201), response.get_json()
