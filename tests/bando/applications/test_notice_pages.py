"""The organisation's answer to the notice before rejection (art. 10-bis L. 241/1990), on
its pages without JavaScript: the reasons and the deadline, documents, the observations
sent once and in time, the dashboard telling where things stand."""

import io
from datetime import datetime, time, timedelta

from sqlalchemy import select

from bando.applications.lifecycle import fire
from bando.applications.models import Application
from bando.core.extensions import db
from bando.core.models import AuditEvent
from bando.core.timeutil import ROME, to_rome, utcnow
from tests.bando.applications.data import pdf_bytes
from tests.factories import PASSWORD, create_edition, create_organisation, create_user
from tests.lifecycle_factories import create_application, put_in_state
from workflows.timezone import on


def sign_in(client, user):
    client.post("/esci")
    response = client.post("/accedi", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302


def text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


def next_eighth() -> datetime:
    """Noon in Rome of a day whose notice (10 days) ends on an 8th still to come, so the
    page must elide the article: «entro l'08/…»."""
    day = to_rome(utcnow()).date() + timedelta(days=2)
    while day.day != 8:
        day += timedelta(days=1)
    return datetime.combine(day - timedelta(days=10), time(12), tzinfo=ROME)


def noticed(**put):
    """A submitted application of a call with a 10-day notice, its owner and an officer;
    the officer sends the notice through the lifecycle unless `put` sets the row."""
    edition = create_edition()
    edition.source = {"rules": {"rejection_notice_days": 10}}
    organisation = create_organisation()
    owner = create_user("applicant", organisation=organisation)
    application = create_application(edition, organisation, owner)
    officer = create_user("officer")
    if put:
        put_in_state(application, "rejection_notified", **put)
    else:
        put_in_state(application, "submitted")
        fire(
            application,
            "notify_rejection",
            officer,
            "Le attività non si svolgono nel quartiere.",
            now=next_eighth(),
        )
    db.session.commit()
    return application, owner


def test_the_observations_are_answered_in_time_and_recorded(app, client):
    application, owner = noticed()
    url = f"/domande/{application.id}/osservazioni"
    deadline = on("entro il", to_rome(application.notice_deadline))
    assert deadline.startswith("entro l'08/")
    sign_in(client, owner)

    # The dashboard's card: the reasons, and the way to answer with its deadline.
    dashboard = text(client.get("/domande"))
    assert "Le attività non si svolgono nel quartiere." in dashboard
    assert f"Preavviso di rigetto: inviare le eventuali osservazioni {deadline} ore 23:59" in (
        dashboard
    )
    assert f'href="{url}" data-notice-link>Rispondi al preavviso {deadline} ore 23:59' in dashboard

    page = client.get(url)
    assert page.status_code == 200
    assert "data-notice-reasons>Le attività non si svolgono nel quartiere." in text(page)
    assert f"{deadline} ore 23:59" in text(page)
    assert 'name="observations"' in text(page) and 'name="file"' in text(page)

    # A document first: the upload comes back to this page.
    uploaded = client.post(
        f"/domande/{application.id}/allegati",
        data={"kind": "altro", "file": (io.BytesIO(pdf_bytes("Planimetria")), "cortile.pdf")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302 and uploaded.headers["Location"].endswith(url)
    assert "cortile.pdf" in text(client.get(url))

    # Empty observations: the message next to the field, nothing sent.
    empty = client.post(url, data={"observations": "   ", "send": "1"})
    assert empty.status_code == 422
    assert 'data-error-for="observations">Scrivere le osservazioni' in text(empty)
    too_long = client.post(url, data={"observations": "x" * 20001, "send": "1"})
    assert too_long.status_code == 422
    control = client.post(url, data={"observations": "a\x00b", "send": "1"})
    assert control.status_code == 422 and "U+0000" in text(control)
    db.session.refresh(application)
    assert application.notice_answered_at is None

    sent = client.post(
        url,
        data={
            "observations": "Le attività si svolgono\r\nnel cortile di via Selinunte 4.",
            "send": "1",
        },
    )
    assert sent.status_code == 302 and sent.headers["Location"].endswith("/domande")
    db.session.refresh(application)
    assert application.state == "rejection_notified"
    assert application.notice_answer == "Le attività si svolgono\nnel cortile di via Selinunte 4."
    assert application.notice_answered_at is not None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.trigger == "answer_notice"))
    assert (event.actor_id, event.application_id) == (owner.id, application.id)

    dashboard = text(client.get("/domande"))
    assert "Osservazioni ricevute il" in dashboard or "Osservazioni ricevute l'" in dashboard
    assert "deciderà sull'ammissibilità" in dashboard
    assert "Rispondi al preavviso" not in dashboard

    # Sent once: the page shows them, without a form; another post is refused.
    shown = text(client.get(url))
    assert "via Selinunte 4." in shown and 'name="observations"' not in shown
    twice = client.post(url, data={"observations": "ancora", "send": "1"})
    assert twice.status_code == 409
    assert "le osservazioni sono già state inviate" in text(twice)
    db.session.refresh(application)
    assert application.notice_answer.startswith("Le attività si svolgono")


def test_a_late_answer_is_refused_with_its_message(app, client):
    application, owner = noticed(notice_deadline=utcnow() - timedelta(seconds=2))
    url = f"/domande/{application.id}/osservazioni"
    sign_in(client, owner)
    dashboard = text(client.get("/domande"))
    assert "Il termine per le osservazioni è scaduto" in dashboard
    assert "Rispondi al preavviso" not in dashboard
    assert 'name="observations"' not in text(client.get(url))
    late = client.post(url, data={"observations": "troppo tardi", "send": "1"})
    assert late.status_code == 409
    assert "il termine per le osservazioni è scaduto" in text(late)
    db.session.refresh(application)
    assert application.notice_answered_at is None and application.notice_answer == ""
    assert (
        db.session.scalar(select(AuditEvent).where(AuditEvent.trigger == "answer_notice")) is None
    )


def test_a_stranger_gets_404_and_the_staff_no_page(app, client):
    application, _ = noticed()
    url = f"/domande/{application.id}/osservazioni"
    stranger = create_user("applicant")
    officer = create_user("officer")
    db.session.commit()
    sign_in(client, stranger)
    assert client.get(url).status_code == 404
    assert client.post(url, data={"observations": "mie", "send": "1"}).status_code == 404
    sign_in(client, officer)
    assert client.get(url).status_code == 403
    db.session.refresh(application)
    assert application.notice_answered_at is None


def test_without_a_notice_the_page_sends_back_to_the_application(app, client):
    edition = create_edition()
    organisation = create_organisation()
    owner = create_user("applicant", organisation=organisation)
    application = put_in_state(create_application(edition, organisation, owner), "submitted")
    db.session.commit()
    sign_in(client, owner)
    response = client.post(
        f"/domande/{application.id}/osservazioni", data={"observations": "x", "send": "1"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/domande/{application.id}")
    assert db.session.get(Application, application.id).notice_answer == ""
