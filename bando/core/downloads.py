"""A file answered for download: its type, and the name the browser saves it under."""

import re

from flask import Response

# What a saved file's name may hold: anything else (a quote, a line break, a slash, a
# letter beyond ASCII) could break the header or the reader's file system.
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str) -> str:
    return _UNSAFE.sub("-", name).strip("-.") or "file"


def download(content, mimetype: str, filename: str, *, inline: bool = False, headers=None):
    """`content` (bytes, or an iterable of chunks to stream) as a file named `filename`;
    `inline`: shown in the browser rather than saved."""
    disposition = "inline" if inline else "attachment"
    response = Response(content, mimetype=mimetype, headers=headers)
    response.headers["Content-Disposition"] = f'{disposition}; filename="{safe_filename(filename)}"'
    return response
