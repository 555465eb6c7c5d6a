"""Calls described by TOML files (see DESIGN.md, "Call configuration")."""

import os

SHIPPED_DIR = os.path.join(os.path.dirname(__file__), "calls")


class CallFileError(ValueError):
    """A call file that cannot be loaded; the message names the key."""


def load_call_file(path):
    raise CallFileError("not yet available")


def load_shipped_calls():
    return []
