"""The call's budget: the awards made and the payments on them, and the figures of the
budget invariants (cap, committed, available)."""


def init_app(app):
    from bando.budget import models  # noqa: F401  (tables)
