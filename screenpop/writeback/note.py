"""The call's note on the Freshdesk ticket: what it says, as HTML with every value escaped, and the marker that
finds it again.

The marker is visible text (`screenpop call <conversation> / agent <user>`) rather than an HTML comment or attribute,
which Freshdesk's sanitiser may drop: it survives in the note's `body_text`, where a later attempt looks for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

from screenpop.install.links import admin_ui_origin

# The admin UI's interaction details page, which also plays the recording when there is one. The path is the one
# Genesys Cloud's own "copy link" gives (help.mypurecloud.com "View interaction details"); its exact form is not in
# an API reference: (uncertain).
CONVERSATION_URL = "{apps}/directory/#/engage/admin/interactions/{conversation_id}"
RECORDING_URL = CONVERSATION_URL + "/recordings"


@dataclass(frozen=True)
class CallFacts:
    """What the note says about one agent's part of a call. Empty values are left out of the note."""

    conversation_id: str
    user_id: str
    direction: str = ""
    queue: str = ""
    agent: str = ""
    caller: str = ""
    started_at: datetime | None = None
    talk_ms: int | None = None
    hold_ms: int | None = None
    wrapup_code: str = ""
    wrapup_notes: str = ""
    agent_note: str = ""
    conversation_url: str = ""
    recording_url: str = ""


def note_marker(*, conversation_id: str, user_id: str) -> str:
    return f"screenpop call {conversation_id} / agent {user_id}"


def conversation_links(*, environment: str, conversation_id: str, recorded: bool) -> tuple[str, str]:
    """(conversation URL, recording URL or "") in the admin UI of the tenant's Genesys environment (a simulator's
    host in development)."""
    apps = admin_ui_origin(environment)
    conversation = CONVERSATION_URL.format(apps=apps, conversation_id=conversation_id)
    return conversation, (RECORDING_URL.format(apps=apps, conversation_id=conversation_id) if recorded else "")


def _duration(milliseconds: int | None) -> str:
    if milliseconds is None:
        return ""
    seconds = round(milliseconds / 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def _paragraphs(text: str) -> str:
    return "<br>".join(escape(line) for line in text.strip().splitlines())


def note_html(facts: CallFacts) -> str:
    """The note's body: one line per fact, the agents' notes, the links and the marker. All text is escaped."""
    rows = [
        ("Direction", facts.direction.capitalize()),
        ("Caller", facts.caller),
        ("Queue", facts.queue),
        ("Agent", facts.agent),
        ("Start", facts.started_at.strftime("%Y-%m-%d %H:%M:%S UTC") if facts.started_at else ""),
        ("Talk time", _duration(facts.talk_ms)),
        ("Hold time", _duration(facts.hold_ms)),
        ("Wrap-up code", facts.wrapup_code),
    ]
    parts = ["<div><b>Phone call</b></div>"]
    parts += [f"<div>{escape(label)}: {escape(value)}</div>" for label, value in rows if value]
    if facts.agent_note.strip():
        parts.append(f"<div><b>Agent's notes</b><br>{_paragraphs(facts.agent_note)}</div>")
    if facts.wrapup_notes.strip():
        parts.append(f"<div><b>Wrap-up notes</b><br>{_paragraphs(facts.wrapup_notes)}</div>")
    links = [
        f'<a href="{escape(url, quote=True)}">{label}</a>'
        for label, url in (
            ("Conversation in Genesys Cloud", facts.conversation_url),
            ("Recording", facts.recording_url),
        )
        if url
    ]
    if links:
        parts.append(f"<div>{' · '.join(links)}</div>")
    marker = note_marker(conversation_id=facts.conversation_id, user_id=facts.user_id)
    parts.append(f"<div><small>{escape(marker)}</small></div>")
    return "".join(parts)


def has_marker(conversation: dict, marker: str) -> bool:
    """Does this ticket conversation (a Freshdesk reply or note) carry `marker`?"""
    return any(marker in (conversation.get(key) or "") for key in ("body_text", "body"))
