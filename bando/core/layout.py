"""What every page shares: navigation links, the language switch, the call's status."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from flask import current_app, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from bando.core.timeutil import utcnow

# The pages each role works in, by endpoint. An endpoint that is not registered (yet) is
# simply left out of the menu, so a blueprint appears in the navigation once it exists.
ROLE_LINKS = {
    "applicant": [("applicant.dashboard", _l("Le mie domande"))],
    "officer": [("officer.dashboard", _l("Istruttoria"))],
    "evaluator": [("evaluation.dashboard", _l("Valutazione"))],
    "finance": [
        ("payments.dashboard", _l("Contabilità")),
        ("letters.index", _l("Lettere agli enti")),
    ],
    "admin": [("admin.dashboard", _l("Amministrazione"))],
}

LANGUAGE_NAMES = {"it": "Italiano", "en": "English"}

# An edition's state as the public reads it (badge label, Bootstrap Italia colour).
EDITION_STATUS = {
    "upcoming": (_l("Di prossima apertura"), "secondary"),
    "open": (_l("Aperto"), "success"),
    "closed": (_l("Chiuso – in valutazione"), "warning"),
    "ranked": (_l("Graduatoria approvata"), "primary"),
    "allocated": (_l("Contributi assegnati"), "primary"),
    "archived": (_l("Concluso"), "dark"),
}


def edition_status(edition, now=None) -> str:
    """The key of EDITION_STATUS for an edition: its stored state, read against its dates.

    A call left "open" after its deadline is shown closed; one not yet open, upcoming.
    """
    now = now or utcnow()
    if edition.state in ("draft", "open"):
        if now < edition.opens_at:
            return "upcoming"
        if now >= edition.closes_at:
            return "closed"
        return "open" if edition.state == "open" else "upcoming"
    return edition.state


def icon(name: str, classes: str = "") -> Markup:
    """A Bootstrap Italia icon from the kit's sprite, hidden from screen readers."""
    sprites = url_for("static", filename="vendor/bootstrap-italia/svg/sprites.svg")
    return Markup(
        '<svg class="icon {classes}" aria-hidden="true" focusable="false">'
        '<use href="{sprites}#{name}"></use></svg>'
    ).format(classes=classes, sprites=sprites, name=name)


def has_endpoint(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def nav_link(endpoint: str, label, **values) -> Markup:
    """A Bootstrap Italia navbar item, or nothing when the endpoint is not registered."""
    if not has_endpoint(endpoint):
        return Markup("")
    current = request.endpoint == endpoint
    attributes = ' aria-current="page"' if current else ""
    return Markup(
        '<li class="nav-item{active}"><a class="nav-link{active}" href="{href}"{attrs}>'
        "<span>{label}</span></a></li>"
    ).format(
        active=" active" if current else "",
        href=url_for(endpoint, **values),
        attrs=Markup(attributes),
        label=label,
    )


def role_links(user) -> list[tuple[str, str]]:
    if not getattr(user, "is_authenticated", False):
        return []
    return [(e, label) for e, label in ROLE_LINKS.get(user.role, []) if has_endpoint(e)]


def language_url(code: str) -> str:
    """This same page in another language (the choice is kept in the session)."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    args.append(("lang", code))
    # The path as typed may be "//host" or "/\\host" (a 404 page shows it too): quoted and
    # with one leading slash, the link stays on this site whatever a browser makes of it.
    path = "/" + quote(request.path, safe="/:@!$&'()*+,;=-._~").lstrip("/")
    return f"{path}?{urlencode(args)}"


def current_language() -> str:
    try:
        return str(get_locale() or "it")
    except (RuntimeError, AttributeError):
        return "it"


def init_app(app):
    app.jinja_env.globals.update(
        nav_link=nav_link,
        icon=icon,
        has_endpoint=has_endpoint,
        role_links=role_links,
        language_url=language_url,
        edition_status=edition_status,
        EDITION_STATUS=EDITION_STATUS,
        LANGUAGE_NAMES=LANGUAGE_NAMES,
    )

    @app.context_processor
    def _layout_context():
        return {"current_language": current_language()}


# --- lists shown a page at a time -----------------------------------------------------------


@dataclass(frozen=True)
class Paging:
    page: int  # the page shown, from 1
    pages: int
    links: list  # the page numbers to link, None where some are left out
    offset: int  # the rows before this page


def page_links(current: int, pages: int) -> list[int | None]:
    """The page numbers to link: the first, the last, two either side of the current one;
    None where some are left out."""
    shown = sorted({1, pages, *range(current - 2, current + 3)} & set(range(1, pages + 1)))
    links: list[int | None] = []
    for number in shown:
        if links and number - links[-1] > 1:
            links.append(None)
        links.append(number)
    return links


def paging(total: int, per_page: int) -> Paging:
    """The page a list's `?pagina=` asks for, kept within the pages there are (a word or a
    page past the end shows the first or the last)."""
    try:
        asked = int(request.args.get("pagina", "1"))
    except ValueError:
        asked = 1
    pages = max(1, -(-total // per_page))
    current = max(1, min(asked, pages))
    return Paging(current, pages, page_links(current, pages), (current - 1) * per_page)
