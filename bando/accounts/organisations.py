"""Registering a non-profit organisation together with its first applicant user."""

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bando.accounts.models import Organisation, User
from bando.accounts.operations import UserError, check_new_user, create_user, normalise_email
from bando.core.extensions import db
from bando.core.models import Notification
from workflows.organisation import clean_organisation, organisation_problems

DUPLICATE_TAX_CODE = (
    "un ente con questo codice fiscale è già registrato: chiedere l'accesso a chi lo ha registrato"
)


class RegistrationError(ValueError):
    """The registration is refused; `errors` holds Italian messages by field."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(m for messages in errors.values() for m in messages))
        self.errors = errors


def register_organisation(email, password, organisation: dict, *, full_name="") -> User:
    """Adds (does not commit) the organisation and its first user; refuses with every
    problem found, prefixed `organisation.` for the organisation's fields."""
    errors = {f"organisation.{k}": v for k, v in organisation_problems(organisation).items()}
    fields = None if errors else clean_organisation(organisation)
    if fields and db.session.scalar(
        select(Organisation.id).where(Organisation.tax_code == fields["tax_code"])
    ):
        errors["organisation.tax_code"] = [DUPLICATE_TAX_CODE]
    if not isinstance(email, str) or not email.strip():
        errors["email"] = ["manca l'indirizzo email"]
    elif len(email) > 254 or "\x00" in email:
        errors["email"] = ["indirizzo email non valido"]
    if not isinstance(password, str) or not password:
        errors["password"] = ["manca la password"]
    elif "\x00" in password:
        errors["password"] = ["la password contiene un carattere non ammesso"]
    if not isinstance(full_name, str):
        errors["full_name"] = ["deve essere un testo"]
    elif len(full_name) > 200 or "\x00" in full_name:
        errors["full_name"] = ["al massimo 200 caratteri, senza caratteri di controllo"]
    if errors:
        # Check the account too, so every problem is reported in one go.
        if "email" not in errors and "password" not in errors:
            try:
                check_new_user(normalise_email(email), password, "applicant")
            except UserError as error:
                errors[error.field] = [error.message]
        raise RegistrationError(errors)
    org = Organisation(**fields)
    db.session.add(org)
    try:
        # Flushed now: a registration of the same tax code racing this one fails here, on
        # the unique constraint, with the same message as the check above.
        db.session.flush()
        user = create_user(email, password, "applicant", organisation=org, full_name=full_name)
        db.session.flush()
    except UserError as error:
        db.session.rollback()
        raise RegistrationError({error.field: [error.message]}) from None
    except IntegrityError as error:
        db.session.rollback()
        if "email" in str(error.orig):
            raise RegistrationError(
                {"email": ["esiste già un utente con questo indirizzo email"]}
            ) from None
        raise RegistrationError({"organisation.tax_code": [DUPLICATE_TAX_CODE]}) from None
    db.session.add(
        Notification(
            to_address=user.email,
            subject=f"Registrazione a bando: {org.name}",
            body=(
                f"Gentile {full_name or user.email},\n\n"
                f"l'ente «{org.name}» (codice fiscale {org.tax_code}) è registrato. "
                "Può ora accedere e compilare le domande di contributo.\n"
            ),
        )
    )
    db.session.flush()
    return user
