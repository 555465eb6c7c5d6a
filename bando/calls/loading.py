"""Calls described by TOML files (see DESIGN.md, "Call configuration"): loading into the DB.

The file is checked whole by bando.calls.callfile.parse_call before anything is written; the
writing is one transaction, rolled back on any error, so a bad file changes nothing.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bando.calls.callfile import CallFileError, parse_call, state_for_dates
from bando.calls.lifecycle import fire_edition, open_if_due
from bando.calls.models import Criterion, Edition, Guideline, Neighbourhood
from bando.core import audit
from bando.core.extensions import db
from bando.core.timeutil import utcnow
from bando.core.transitions import TransitionRefused
from scoring.money import cents_to_str

SHIPPED_DIR = os.path.dirname(os.path.abspath(__file__))  # the *.toml files beside this module

__all__ = ["CallFileError", "SHIPPED_DIR", "load_call_file", "load_shipped_calls", "parse_call"]


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise CallFileError(
            [("", f"impossibile leggere il file: {error.strerror}")], path
        ) from None


def load_call_file(path: str, *, now=None, actor=None) -> tuple[Edition, bool]:
    """Load a call file: create its edition, or update it while it has no applications.

    Returns (edition, created). Raises CallFileError, with the database unchanged.
    """
    content = _read(path)
    return load_call(content, os.path.basename(path), now=now, actor=actor)


def load_call(source, name: str, *, now=None, actor=None) -> tuple[Edition, bool]:
    """Load a call given as TOML text, bytes or an already parsed dict (see load_call_file).

    A new edition takes the state its dates give (`load_call` event); loading it again is
    the edition machine's `reload` (refused once anyone has applied, and never taking an
    open or closed call back), then its `open` or `close` if the new dates make them due.
    """
    call = parse_call(source, name)
    if isinstance(source, str):
        source = source.encode()
    if isinstance(source, bytes):
        digest = hashlib.sha256(source).hexdigest()
    else:
        digest = hashlib.sha256(
            json.dumps(call["source"], sort_keys=True, default=str).encode()
        ).hexdigest()
    now = now or utcnow()
    reason = f"bando caricato dal file {name}"
    payload = {"file": name, "sha256": digest}
    columns = call["edition"]
    try:
        # The row lock keeps a concurrent submission out while the call is rewritten (FOR
        # NO KEY UPDATE, as lock_edition's and for the same reason).
        edition = db.session.scalar(
            select(Edition).where(Edition.code == columns["code"]).with_for_update(key_share=True)
        )
        created = edition is None
        if created:
            edition = Edition(state=state_for_dates(columns["opens_at"], columns["closes_at"], now))
            db.session.add(edition)
            _store(edition, call)
            audit.append(
                subject="edition",
                trigger="load_call",
                actor=actor,
                edition_id=edition.id,
                to_state=edition.state,
                reason=reason,
                payload=payload,
                at=now,
            )
        else:
            _reload(edition, call, actor, reason, payload, now)
        db.session.commit()
    except CallFileError:
        db.session.rollback()
        raise
    except IntegrityError as error:
        # Another process loaded the same code meanwhile, or a constraint we do not
        # check in Python refused a value: either way nothing was written.
        db.session.rollback()
        detail = str(error.orig).splitlines()[0] if error.orig else str(error)
        raise CallFileError([("", f"rifiutato dal database: {detail}")], name) from None
    except BaseException:
        db.session.rollback()
        raise
    return edition, created


def _reload(edition: Edition, call: dict, actor, reason: str, payload: dict, now) -> None:
    columns = call["edition"]
    new_dates = {"opens_at": columns["opens_at"], "closes_at": columns["closes_at"]}
    try:
        fire_edition(edition, "reload", actor, reason, payload, now=now, facts=new_dates)
    except TransitionRefused as refusal:
        raise CallFileError(
            [("edition.code", f"il bando «{columns['code']}»: {refusal.reason}")],
            columns["code"],
        ) from None
    # Rows are replaced, not merged: flush the deletions before inserting rows that reuse
    # the same unique slugs and codes.
    edition.guidelines.clear()
    edition.criteria.clear()
    edition.neighbourhoods.clear()
    db.session.flush()
    _store(edition, call)
    # The new dates may make the call due to open, or to close.
    if edition.state == "draft":
        open_if_due(edition, now=now)
    if edition.state == "open" and now >= edition.closes_at:
        fire_edition(edition, "close", None, "termine per le domande scaduto", now=now)


def load_shipped_calls(*, now=None) -> list[tuple[str, bool]]:
    """Load every call shipped in bando/calls/; an edition already present is left alone.

    Every file is checked before any is loaded, so one bad file loads none.
    """
    paths = sorted(glob.glob(os.path.join(SHIPPED_DIR, "*.toml")))
    codes = [parse_call(_read(path), os.path.basename(path))["edition"]["code"] for path in paths]
    loaded = []
    for path, code in zip(paths, codes, strict=True):
        if db.session.scalar(select(Edition.id).where(Edition.code == code)) is not None:
            loaded.append((code, False))
            continue
        try:
            load_call_file(path, now=now)
        except CallFileError:
            # Another process running `bando init` at the same moment got there first.
            if db.session.scalar(select(Edition.id).where(Edition.code == code)) is None:
                raise
            loaded.append((code, False))
            continue
        loaded.append((code, True))
    return loaded


def _store(edition: Edition, call: dict) -> None:
    columns = call["edition"]
    for column, value in columns.items():
        setattr(edition, column, value)
    edition.source = call["source"]
    for position, criterion in enumerate(call["criteria"]):
        edition.criteria.append(Criterion(position=position, **criterion))
    guideline_position = 0
    for position, hood in enumerate(call["neighbourhoods"]):
        figures = {key: value for key, value in hood.items() if key != "guidelines"}
        neighbourhood = Neighbourhood(position=position, **figures)
        edition.neighbourhoods.append(neighbourhood)
        for guideline in hood["guidelines"]:
            edition.guidelines.append(
                Guideline(neighbourhood=neighbourhood, position=guideline_position, **guideline)
            )
            guideline_position += 1
    for guideline in call["general_guidelines"]:
        edition.guidelines.append(Guideline(position=guideline_position, **guideline))
        guideline_position += 1
    db.session.flush()


def describe(edition: Edition) -> str:
    """One line for the console: what was loaded."""
    hoods = edition.neighbourhoods
    local = sum(len(hood.guidelines) for hood in hoods)
    return (
        f"{edition.code} «{edition.title}», tetto {cents_to_str(edition.budget_cap_cents)}, "
        f"{len(hoods)} quartieri, {local} linee di indirizzo di quartiere e "
        f"{len(edition.general_guidelines)} generali, {len(edition.criteria)} criteri, "
        f"stato {edition.state}"
    )
