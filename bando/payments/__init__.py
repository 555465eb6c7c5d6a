"""Payments: the advance on acceptance, the balance after the approved report, the
recovery of what was paid beyond the final contribution; the 4 % withholding; the
payment register (page, CSV, API); finance's pages (contabilità)."""


def init_app(app):
    from bando.payments import api, pages  # noqa: F401  (routes)

    app.register_blueprint(pages.bp)
