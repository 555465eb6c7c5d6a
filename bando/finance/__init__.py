"""Finance: the letters of a call (award, reserve, not funded, not admissible, notice
before rejection, request for documents) as PDFs with their protocols, signed where a
certificate is configured and downloadable all at once; the payments and their register."""


def init_app(app):
    from bando.finance import models  # noqa: F401  (tables)
