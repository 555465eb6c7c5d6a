"""Checking an uploaded PDF without trusting it (attachments now, expense receipts later).

A few kilobytes of PDF can decompress to gigabytes or hold a page tree that expands to
millions of pages, so the file is read by pypdf in a child process with a budget: at most
PDF_CHECK_MEMORY_MB of address space (RLIMIT_AS) and PDF_CHECK_SECONDS of CPU
(RLIMIT_CPU), and a wall-clock timeout; pypdf's own decompression limits are lowered to
the same budget. What does not fit is refused, and the web worker never does the work.

The child walks every page, decodes every stream but images (so a bomb inside goes off
there, not later in whoever opens the file) and refuses active content: JavaScript,
automatic actions (/AA, /Launch, an /OpenAction that does more than show a page) and
embedded files.

This file is also the child's program: `python -I bando/core/pdf.py SECONDS BYTES`, the
PDF on stdin, the verdict code and the child's peak memory (kB) on stdout. Module level
imports only the standard library, so the child starts quickly and loads nothing of bando.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

DEFAULT_SECONDS = 5
DEFAULT_MEMORY_MB = 256

MB = 1024 * 1024

PROBLEMS = {
    "empty": "il file è vuoto",
    "not_pdf": (
        "il file non è un PDF (il contenuto non inizia come un PDF, qualunque sia il nome)"
    ),
    "encrypted": "il PDF è protetto da password: caricarne una copia non protetta",
    "no_pages": "il PDF non ha pagine",
    "damaged": "il PDF è danneggiato o illeggibile",
    "resources": (
        "il PDF richiede troppe risorse per essere verificato (contenuti compressi in modo "
        "anomalo o struttura troppo complessa): caricarne una versione più semplice, ad "
        "esempio stampandolo di nuovo in PDF"
    ),
    "javascript": (
        "il PDF contiene codice JavaScript, non ammesso: caricarne una versione senza "
        "script, ad esempio stampandolo di nuovo in PDF"
    ),
    "actions": (
        "il PDF contiene azioni automatiche (all'apertura, su eventi, che avviano programmi, "
        "aprono file o inviano dati), non ammesse: caricarne una versione semplice, ad "
        "esempio stampandolo di nuovo in PDF"
    ),
    "multimedia": (
        "il PDF contiene contenuti multimediali o 3D interattivi, non ammessi: caricarne una "
        "versione semplice, ad esempio stampandolo di nuovo in PDF"
    ),
    "embedded": (
        "il PDF contiene file allegati al suo interno, non ammessi: caricare ciascun "
        "documento come PDF a sé"
    ),
    "unavailable": "non è stato possibile verificare il PDF: riprovare più tardi",
}

# When several are found, the most telling is named.
_ORDER = ("javascript", "actions", "multimedia", "embedded", "resources")
# Actions that send the form's data away, read data in, or open another file.
_OUTWARD_ACTIONS = ("/SubmitForm", "/ImportData", "/GoToR", "/Movie", "/Sound")
# Annotations whose content a viewer plays or runs (3D models carry their own scripts).
_PLAYED = ("/3D", "/RichMedia", "/Movie", "/Sound", "/Screen")
# The only links a document of a proposal needs: a web page or an e-mail address. Any
# other (a script, the reader's own files, a network share, a program's own scheme) is
# refused.
_SAFE_SCHEMES = ("http:", "https:", "mailto:")
_SCRIPT_SCHEMES = ("javascript:", "vbscript:")

log = logging.getLogger(__name__)

# How the child ends when it overruns its CPU time: SIGXCPU at the soft limit, SIGKILL at
# the hard one.
_KILLED = {-getattr(signal, "SIGXCPU", signal.SIGTERM), -signal.SIGKILL}


@dataclass
class Verdict:
    code: str  # "ok" or a key of PROBLEMS
    wall_seconds: float = 0.0
    cpu_seconds: float | None = None  # of the child, when it could be measured
    peak_mb: float | None = None  # the child's peak resident memory, as it told it

    @property
    def problem(self) -> str | None:
        return None if self.code == "ok" else PROBLEMS[self.code]


def pdf_problem(
    data: bytes, max_bytes: int, *, seconds: float | None = None, memory_mb: int | None = None
) -> str | None:
    """Why these bytes are not an acceptable PDF, in Italian; None when they are. The
    budget defaults to the app's PDF_CHECK_SECONDS / PDF_CHECK_MEMORY_MB."""
    if not data:
        return PROBLEMS["empty"]
    if len(data) > max_bytes:
        # Uploads are read only up to the limit and one byte: the file's size is not known.
        return f"il file supera la dimensione massima di {max_bytes // MB} MB"
    if not data.startswith(b"%PDF-"):
        return PROBLEMS["not_pdf"]
    if seconds is None or memory_mb is None:
        from flask import current_app, has_app_context

        config = current_app.config if has_app_context() else {}
        seconds = seconds or config.get("PDF_CHECK_SECONDS") or DEFAULT_SECONDS
        memory_mb = memory_mb or config.get("PDF_CHECK_MEMORY_MB") or DEFAULT_MEMORY_MB
    # The same bytes within the same budget get the same answer: a file accepted once (sent
    # again after a refused save, or the demo's sample documents) is not read again.
    key = (hashlib.sha256(data).digest(), seconds, memory_mb)
    with _ACCEPTED_LOCK:
        if key in _ACCEPTED:
            _ACCEPTED.move_to_end(key)
            return None
    problem = check_pdf(data, seconds=seconds, memory_mb=memory_mb).problem
    if problem is None:
        with _ACCEPTED_LOCK:
            _ACCEPTED[key] = None
            while len(_ACCEPTED) > ACCEPTED_KEPT:
                _ACCEPTED.popitem(last=False)
    return problem


ACCEPTED_KEPT = 256
_ACCEPTED: OrderedDict = OrderedDict()
_ACCEPTED_LOCK = threading.Lock()


class _Child(subprocess.Popen):
    """A Popen that keeps the child's resource usage (wait4) when it reaps it, for its CPU
    time (its ru_maxrss would count the parent it was forked from: the child tells its own
    peak). Should a future Python reap elsewhere, only the figures for the log are lost."""

    rusage = None

    def _try_wait(self, wait_flags):
        try:
            pid, status, usage = os.wait4(self.pid, wait_flags)
        except ChildProcessError:
            return (self.pid, 0)
        if pid == self.pid:
            self.rusage = usage
        return (pid, status)


def check_pdf(data: bytes, *, seconds: float, memory_mb: int) -> Verdict:
    """The verdict of the child process on `data` (a file that starts as a PDF)."""
    cpu = max(1, int(seconds + 0.999))
    started = time.monotonic()
    command = [sys.executable, "-I", os.path.abspath(__file__), str(cpu), str(memory_mb * MB)]
    peak = ""
    try:
        child = _Child(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except OSError:
        log.exception("pdf check: cannot start %s", sys.executable)
        return Verdict("unavailable")
    with child:
        try:
            out, err = child.communicate(data, timeout=2 * cpu + 2)
        except subprocess.TimeoutExpired:
            child.kill()
            out, err = child.communicate()
            code = "resources"
        else:
            code, _, peak = out.decode("ascii", "replace").partition(" ")
            if child.returncode in _KILLED:
                code = "resources"  # the CPU limit: soft (SIGXCPU), then hard
            elif code not in PROBLEMS and code != "ok":
                log.error(
                    "pdf check: exit %s, %r: %s",
                    child.returncode,
                    out[:200],
                    err.decode("utf-8", "replace")[-2000:],
                )
                code = "unavailable"
    verdict = Verdict(code, wall_seconds=time.monotonic() - started)
    if peak.strip().isdigit():
        verdict.peak_mb = int(peak) / 1024
    if child.rusage is not None:
        verdict.cpu_seconds = child.rusage.ru_utime + child.rusage.ru_stime
    log.info(
        "pdf check of %d bytes: %s in %.2f s (cpu %s s, peak %s MB)",
        len(data),
        code,
        verdict.wall_seconds,
        None if verdict.cpu_seconds is None else round(verdict.cpu_seconds, 2),
        None if verdict.peak_mb is None else round(verdict.peak_mb),
    )
    return verdict


# --- the child ------------------------------------------------------------------------------


def _limit(memory: int, cpu: int) -> None:
    import resource

    for kind, soft, hard in (
        (resource.RLIMIT_AS, memory, memory),
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (resource.RLIMIT_CORE, 0, 0),  # SIGXCPU would dump core
    ):
        _, ceiling = resource.getrlimit(kind)
        if ceiling != resource.RLIM_INFINITY:  # never above what this process may have
            soft, hard = min(soft, ceiling), min(hard, ceiling)
        resource.setrlimit(kind, (soft, hard))


def _pypdf_limits(memory: int):
    """pypdf's own decompression limits, lowered to a quarter of the memory budget (a
    decoded stream is copied a few times on its way): Configuration in pypdf ≥ 6, the
    module constants before it."""
    import contextlib

    import pypdf

    output = memory // 4
    if hasattr(pypdf, "apply_configuration"):
        current = pypdf.get_configuration()
        names = [
            name
            for name in (
                "zlib_maximum_output_length",
                "lzw_maximum_output_length",
                "run_length_maximum_output_length",
                "brotli_maximum_output_length",
                "jbig2_maximum_output_length",
                "array_based_stream_maximum_output_length",
                "maximum_declared_stream_length",
                "image_maximum_buffer_size",
                "stream_decoding_work_maximum_length",
            )
            if hasattr(current, name)
        ]
        return pypdf.apply_configuration(
            **{name: min(getattr(current, name), output) for name in names}
        )
    from pypdf import filters

    for name in ("ZLIB_MAX_OUTPUT_LENGTH", "LZW_MAX_OUTPUT_LENGTH", "MAX_DECLARED_STREAM_LENGTH"):
        if hasattr(filters, name):
            setattr(filters, name, min(getattr(filters, name), output))
    return contextlib.nullcontext()


def _name(value) -> str:
    return str(value) if value is not None else ""


def _active_content(dictionary, found: set) -> None:
    """What a dictionary (or a stream's dictionary) asks a viewer to run or unpack."""
    keys = set(dictionary.keys())
    action = _name(dictionary.get("/S"))
    # XFA forms and 3D models (OnInstantiate) carry scripts of their own.
    if keys & {"/JS", "/JavaScript", "/XFA", "/OnInstantiate"} or action in (
        "/JavaScript",
        "/Rendition",
    ):
        found.add("javascript")
    if "/AA" in keys or action == "/Launch" or "/Launch" in keys or action in _OUTWARD_ACTIONS:
        found.add("actions")
    if action == "/URI":
        target = dictionary.get("/URI")
        target = target.get_object() if hasattr(target, "get_object") else target
        if isinstance(target, bytes):
            bom = target.startswith((b"\xfe\xff", b"\xff\xfe"))
            target = target.decode("utf-16" if bom else "latin-1", errors="replace")
        # Viewers ignore control characters and spaces inside a scheme: so does this check.
        link = "".join(ch for ch in str(target or "").lower() if ch > " ")
        if not link.startswith(_SAFE_SCHEMES):
            found.add("javascript" if link.startswith(_SCRIPT_SCHEMES) else "actions")
    if _name(dictionary.get("/Subtype")) in _PLAYED or "/3DD" in keys:
        found.add("multimedia")
    if "/OpenAction" in keys:
        opening = dictionary["/OpenAction"]
        opening = opening.get_object() if hasattr(opening, "get_object") else opening
        # A destination (an array: the page and the zoom) only shows a page: harmless, and
        # written by common tools (LibreOffice); an action dictionary other than GoTo is not.
        if hasattr(opening, "keys") and _name(opening.get("/S")) != "/GoTo":
            found.add("actions")
    if (
        keys & {"/EmbeddedFiles", "/EF"}
        or _name(dictionary.get("/Type")) == "/EmbeddedFile"
        or _name(dictionary.get("/Subtype")) == "/FileAttachment"
        or action == "/GoToE"
    ):
        found.add("embedded")


def _inspect(data: bytes, memory: int) -> str:
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError
    from pypdf.filters import decode_stream_data
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        return "encrypted"
    # Every page, so a page tree that expands beyond reason is hit here.
    pages = list(reader.pages)
    if not pages:
        return "no_pages"
    found: set[str] = set()
    decoded = 0
    seen: set[tuple[int, int]] = set()
    # Everything reachable from the trailer (the pages too), depth first, each object once.
    stack: list = [reader.trailer]
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            try:
                item = item.get_object()
            except LimitReachedError:
                raise
            except Exception:
                continue  # a dangling or broken reference: viewers skip it too
        if isinstance(item, DictionaryObject):
            _active_content(item, found)
            if isinstance(item, StreamObject) and _name(item.get("/Subtype")) != "/Image":
                # Contents, forms, fonts…: decoded here, counted, and let go (not cached).
                try:
                    decoded += len(decode_stream_data(item))
                except (LimitReachedError, MemoryError):
                    raise
                except Exception:
                    pass  # a filter pypdf cannot decode: the viewer's problem, not ours
                if decoded > memory:
                    found.add("resources")
                    break
            stack.extend(item.values())
        elif isinstance(item, ArrayObject):
            stack.extend(item)
    for code in _ORDER:
        if code in found:
            return code
    return "ok"


def _child_main(argv: list[str]) -> int:
    cpu, memory = int(argv[1]), int(argv[2])
    _limit(memory, cpu)
    data = sys.stdin.buffer.read()
    import warnings

    from pypdf.errors import LimitReachedError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logging.disable(logging.CRITICAL)  # pypdf logs every oddity of a broken file
            with _pypdf_limits(memory):
                code = _inspect(data, memory)
    except (MemoryError, RecursionError, LimitReachedError):
        code = "resources"
    except Exception:
        code = "damaged"
    os.write(1, f"{code} {_peak_kb()}".encode("ascii"))
    return 0


def _peak_kb() -> str:
    """The child's own peak resident memory since it started this program (VmHWM)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return line.split()[1]
    except OSError:
        pass
    return ""


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv))
