"""Every word the panel shows an agent is translated into each of its languages (issue 24): the strings the panel's
JavaScript passes to gettext/ngettext each have a non-empty translation, with the same placeholders,
in the compiled catalogue the panel loads (`locale/*/LC_MESSAGES/djangojs.mo`)."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PANEL_SCRIPTS = sorted((ROOT / "static" / "screenpop").glob("panel*.js")) + sorted(
    (ROOT / "static" / "screenpop" / "panel").glob("*.js")
)
LANGUAGES = ("es", "fr", "de", "pt_BR", "ja")
_STRING = r'"((?:[^"\\]|\\.)*)"'
_GETTEXT = re.compile(r"\bgettext\(\s*" + _STRING + r"\s*\)")
_NGETTEXT = re.compile(r"\bngettext\(\s*" + _STRING + r",\s*" + _STRING)


def panel_messages() -> dict[str, str | None]:
    """msgid -> msgid_plural (None for a singular string) of every string the panel's scripts translate."""
    messages: dict[str, str | None] = {}
    for script in PANEL_SCRIPTS:
        text = script.read_text()
        for singular in _GETTEXT.findall(text):
            messages.setdefault(singular.replace('\\"', '"'), None)
        for singular, plural in _NGETTEXT.findall(text):
            messages[singular.replace('\\"', '"')] = plural.replace('\\"', '"')
    return messages


def test_the_panel_scripts_are_read() -> None:
    messages = panel_messages()
    assert "Freshdesk is not answering, retrying" in messages
    assert (
        messages["%(shown)s of %(count)s ticket, unresolved first"]
        == "%(shown)s of %(count)s tickets, unresolved first"
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_panel_string_is_translated(language: str) -> None:
    """Read from the compiled catalogue (msgfmt leaves out empty and fuzzy entries), so an entry added to the .po
    without compiling it fails too."""
    with (ROOT / "locale" / language / "LC_MESSAGES" / "djangojs.mo").open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)._catalog  # type: ignore[attr-defined]
    missing = []
    for msgid, plural in panel_messages().items():
        texts = (
            [catalogue.get((msgid, form)) for form in range(2 if language != "ja" else 1)]
            if plural
            else [catalogue.get(msgid)]
        )
        if not all(texts):
            missing.append(msgid)
            continue
        for placeholder in re.findall(r"%\(\w+\)s", msgid):
            assert all(placeholder in text for text in texts), (language, msgid, texts)
    assert not missing, f"{language}: not translated: {missing}"
