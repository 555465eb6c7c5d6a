"""Every page, as every role and anonymously, answers bad form input without a 500."""

import io

from bando.applications.operations import create_draft
from bando.core.extensions import db
from tests.bando.applications.data import proposal, submitted_application
from tests.factories import PASSWORD, create_edition, create_user


def form_bodies():
    return [
        {},
        {"title": "x" * 100_000, "requested_amount": "1e30", "neighbourhood": "nessuno"},
        {"decision": "boh", "reason": "", "kind": "exe", "budget-0-amount": "-5"},
        {"start_date": "31/02/2019", "end_date": "ieri", "guidelines": ["ZZ9"], "lang": "xx"},
        {"file": (io.BytesIO(b"MZ\x90\x00 not a pdf"), "virus.pdf"), "kind": "statuto"},
    ]


def _urls(app, application_id, code):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/", "/static")):
            continue
        url = rule.rule
        for name, value in (
            ("application_id", application_id),
            ("id", application_id),
            ("code", code),
            ("kind", "statuto"),
            ("filename", "x.css"),
        ):
            url = url.replace(f"<int:{name}>", value).replace(f"<{name}>", value)
        if "<" in url:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, url


def test_no_page_answers_500(app, client):
    edition = create_edition("cdq-pagine-robuste")
    application = submitted_application(edition)
    users = [None] + [create_user(role) for role in ("officer", "evaluator", "finance", "admin")]
    drafter = create_user("applicant")
    draft = create_draft(drafter, proposal(edition))
    users += [application.created_by, drafter]
    db.session.commit()
    calls = 0
    for user in users:
        client.post("/esci")
        if user is not None:
            client.post("/accedi", data={"email": user.email, "password": PASSWORD})
        targets = [
            *_urls(app, str(application.id), edition.code),
            *_urls(app, str(draft.id), edition.code),
        ]
        for method, url in targets:
            for body in form_bodies() if method == "POST" else [{}]:
                kwargs = {"data": body, "content_type": "multipart/form-data"} if body else {}
                response = client.open(url, method=method, **kwargs)
                calls += 1
                who = user.role if user else "anonymous"
                assert response.status_code < 500, (method, url, who, body)
    assert calls > 300
