"""Name look-ups for the agent's search: `GET /api/v2/contacts/autocomplete?term=` and
`GET /api/v2/companies/autocomplete?name=` (reference §4; DOCS `#contact_autocomplete`, `#autocomplete_companies`).

Both match name prefixes, case-insensitively, on any word of the name ("wil" finds "Wilson & Partners Pty" and
"Jack Wilson"); neither looks at phones or emails. Contacts come back as a bare array of `{"id", "name"}`, companies as
`{"companies": [{"id", "name"}]}`. Uncertain: whether the contact term may match inside a word rather than at a
word's start, how many results Freshdesk returns at most (25 here), and the exact error when the parameter is missing
(400 `missing_field` here, as for other missing parameters). Deleted and blocked contacts are left out.
"""

from __future__ import annotations

import re

from simulators.freshdesk import errors
from simulators.freshdesk.errors import FieldError
from simulators.freshdesk.messages import Request, Response
from simulators.freshdesk.params import ParamReader
from simulators.freshdesk.simulator import Simulator

__all__ = ["MAX_RESULTS", "companies_autocomplete", "contacts_autocomplete"]

MAX_RESULTS = 25


def _word_prefix(name: str, prefix: str) -> bool:
    return any(word.startswith(prefix) for word in re.split(r"[\s\-&.,]+", name.lower()) if word)


def _required_text(request: Request, parameter: str) -> str:
    params = ParamReader(request.query, (parameter,))
    params.raise_if_invalid()
    value = (params.text(parameter) or "").strip().lower()
    if not value:
        raise errors.validation_failed([FieldError(parameter, errors.MISSING_FIELD, "missing_field")])
    return value


def contacts_autocomplete(sim: Simulator, request: Request, _: dict[str, str]) -> Response:
    term = _required_text(request, "term")
    found = [
        {"id": contact.id, "name": contact.name}
        for contact in sorted(sim.store.contacts.values(), key=lambda contact: (contact.name.lower(), contact.id))
        if not contact.deleted and not contact.blocked and _word_prefix(contact.name, term)
    ]
    return Response(200, found[:MAX_RESULTS])


def companies_autocomplete(sim: Simulator, request: Request, _: dict[str, str]) -> Response:
    name = _required_text(request, "name")
    found = [
        company.to_api()
        for company in sorted(sim.store.companies.values(), key=lambda company: (company.name.lower(), company.id))
        if _word_prefix(company.name, name)
    ]
    return Response(200, {"companies": found[:MAX_RESULTS]})
