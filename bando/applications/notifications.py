"""The e-mails an applicant's organisation receives when its application moves: queued
in the outbox in the same transaction as the move (sent after the commit)."""

from sqlalchemy import bindparam, select

from bando.accounts.models import Organisation, User
from bando.applications.models import Application
from bando.core.extensions import db
from bando.core.mail import queue_mail
from workflows.timezone import rome

NOTICES = {
    "submit": (
        "Domanda presentata — protocollo {protocol}",
        "La domanda «{title}» per il {edition} è stata presentata {when} "
        "con numero di protocollo {protocol}.",
    ),
    "request_integration": (
        "Richiesta di integrazione — domanda {protocol}",
        "Per la domanda «{title}» (protocollo {protocol}) l'ufficio chiede di integrare "
        "la documentazione:\n\n{reason}\n\nL'integrazione va inviata {deadline}; "
        "in mancanza la domanda non sarà ammissibile.",
    ),
    "integrate": (
        "Integrazione ricevuta — domanda {protocol}",
        "L'integrazione della domanda «{title}» (protocollo {protocol}) è stata ricevuta {when}.",
    ),
    "notify_rejection": (
        "Preavviso di rigetto — domanda {protocol}",
        "Per la domanda «{title}» (protocollo {protocol}) l'ufficio comunica, ai sensi "
        "dell'art. 10-bis della L. 241/1990, i motivi che ostano all'accoglimento:\n\n"
        "{reason}\n\nL'ente può presentare osservazioni scritte, eventualmente corredate "
        "da documenti, {notice_deadline}, dalla pagina della domanda. Decorso il termine "
        "l'ufficio decide.",
    ),
    "answer_notice": (
        "Osservazioni ricevute — domanda {protocol}",
        "Le osservazioni al preavviso di rigetto della domanda «{title}» (protocollo "
        "{protocol}) sono state ricevute {when}.",
    ),
    "declare_eligible": (
        "Domanda ammissibile — protocollo {protocol}",
        "La domanda «{title}» (protocollo {protocol}) è ammissibile e passa alla "
        "valutazione della commissione.",
    ),
    "declare_ineligible": (
        "Domanda non ammissibile — protocollo {protocol}",
        "La domanda «{title}» (protocollo {protocol}) non è ammissibile.\n\nMotivazione: {reason}",
    ),
    "expire_integration": (
        "Domanda non ammissibile — protocollo {protocol}",
        "L'integrazione richiesta per la domanda «{title}» (protocollo {protocol}) non è "
        "pervenuta entro il termine: la domanda non è ammissibile.",
    ),
    "allocate_funded": (
        "Domanda finanziata — protocollo {protocol}",
        "La domanda «{title}» (protocollo {protocol}) è stata ammessa al contributo.",
    ),
    "fund": (
        "Domanda finanziata per scorrimento — protocollo {protocol}",
        "Per scorrimento della graduatoria la domanda «{title}» (protocollo {protocol}) "
        "è stata ammessa al contributo.",
    ),
    "allocate_reserve": (
        "Domanda in riserva — protocollo {protocol}",
        "La domanda «{title}» (protocollo {protocol}) è idonea ma non finanziata per "
        "esaurimento dei fondi: resta in graduatoria di riserva.",
    ),
    "allocate_not_funded": (
        "Domanda non finanziata — protocollo {protocol}",
        "La domanda «{title}» (protocollo {protocol}) non è stata ammessa al contributo.",
    ),
    "revoke": (
        "Revoca del contributo — protocollo {protocol}",
        "Il contributo per la domanda «{title}» (protocollo {protocol}) è revocato.\n\n"
        "Motivazione: {reason}",
    ),
    "approve_report": (
        "Rendicontazione approvata — protocollo {protocol}",
        "La rendicontazione della domanda «{title}» (protocollo {protocol}) è approvata.",
    ),
}


# Who is told of a move: built once, every move that tells sends it.
CONFIRMED_ADDRESSES = (
    select(Organisation.pec, User.email)
    .join(User, User.organisation_id == Organisation.id)
    .where(
        Organisation.id == bindparam("organisation_id"),
        User.active.is_(True),
        User.email_confirmed_at.is_not(None),
    )
    .order_by(User.id)
)


def recipients(application: Application) -> list[str]:
    """The organisation's PEC and its active users' addresses, each once. Only confirmed
    addresses get mail; the PEC, typed at registration, once a user of the organisation
    has confirmed their own address (no mail goes where nobody asked for it)."""
    db.session.flush()  # the organisation as written, should it just have been set
    rows = db.session.execute(
        CONFIRMED_ADDRESSES, {"organisation_id": application.organisation_id}
    ).all()
    addresses = ([rows[0].pec] if rows else []) + [row.email for row in rows]
    seen, result = set(), []
    for address in addresses:
        if address and address.lower() not in seen:
            seen.add(address.lower())
            result.append(address)
    return result


def queue_notification(
    application: Application, trigger: str, reason: str, now, told: list[str]
) -> None:
    """The e-mail telling the organisation of the move just made, to each address of
    `told` (its recipients, read before the move)."""
    notice = NOTICES.get(trigger)
    if notice is None or not told:
        return
    deadline = application.integration_deadline
    values = {
        "protocol": application.protocol or "—",
        "title": application.title or "senza titolo",
        "edition": application.edition.title,
        "when": rome(now),
        "deadline": rome(deadline, "entro il") if deadline else "—",
        "notice_deadline": (
            rome(application.notice_deadline, "entro il") if application.notice_deadline else "—"
        ),
        "reason": reason,
    }
    subject, body = (part.format(**values) for part in notice)
    queue_mail(
        [
            {
                "to_address": address,
                "subject": subject,
                "body": body,
                "application_id": application.id,
            }
            for address in told
        ]
    )
