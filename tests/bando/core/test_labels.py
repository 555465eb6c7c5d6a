"""Every event of an application's trail reads in words on the organisation's page, in
Italian and in English: no trigger's code name is shown."""

import html

import pytest

from bando.core.audit import events_of_application
from tests.bando.reports.test_api import approve, file, pay, review_all
from tests.factories import PASSWORD
from tests.finance_factories import funded_world


@pytest.mark.parametrize("language", ["it", "en"])
def test_a_paid_and_reported_award_reads_in_words(app, client, language):
    application, owner, finance, _ = funded_world(10_000)
    assert pay(client, application, finance, "advance").status_code == 201
    file(client, application, owner, 2_000, 1_000)
    review_all(client, application, finance, rejected=(1,))
    approve(client, application, finance)  # 2 000 of 12 000 planned: a recovery is due
    assert pay(client, application, finance, "recovery").status_code == 201
    triggers = {event.trigger for event in events_of_application(application.id)}
    assert {"pay_advance", "accept_expense", "reject_expense", "record_recovery"} <= triggers

    client.post("/accedi", data={"email": owner.email, "password": PASSWORD})
    page = html.unescape(client.get(f"/domande/{application.id}?lang={language}").text)
    for trigger in triggers:
        assert f"<strong>{trigger}</strong>" not in page, trigger
    assert ("Recupero di somme versate" if language == "it" else "Recovery of sums paid") in page
