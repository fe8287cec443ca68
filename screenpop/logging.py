"""Log records carry the tenant and the conversation they concern, and no secret.

Code sets them with `log_context(tenant=..., conversation=...)`; a context variable carries them across awaits and
into the threads `asyncio.to_thread`/`sync_to_async` start, so every line logged while handling a pop names it.
`RedactingFilter`, on every handler, removes what looks like a token, a key or a secret from every record.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
from collections.abc import Iterator

_context: contextvars.ContextVar[tuple[str, str]] = contextvars.ContextVar("screenpop_log_context", default=("-", "-"))


@contextlib.contextmanager
def log_context(*, tenant: object = "-", conversation: object = "-") -> Iterator[None]:
    token = _context.set((str(tenant), str(conversation)))
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        tenant, conversation = _context.get()
        record.tenant = getattr(record, "tenant", tenant)
        record.conversation = getattr(record, "conversation", conversation)
        return True


REDACTED = "[redacted]"
_SECRET_NAMES = (
    r"(?:access_|refresh_|id_|panel_|genesys_|url_)?token|code|code_verifier|client_secret|(?:webhook_)?secret"
    r"|password|(?:freshdesk_)?api_key|apikey|signature"
)
_HEADERS = r"authorization|proxy-authorization|cookie|x-screenpop-secret|x-screenpop-signature|sec-websocket-protocol"
_PATTERNS = [
    # The panel socket's subprotocol, Bearer and Basic credentials.
    (re.compile(r"(screenpop\.token\.)[^\s,'\"\]]+"), rf"\1{REDACTED}"),
    (re.compile(r"(?i)\b(bearer|basic)(\s+)(?=[A-Za-z0-9\-._~+/]*\d)[A-Za-z0-9\-._~+/]+=*"), rf"\1\2{REDACTED}"),
    # Header values: `Authorization: ...`, `'authorization': '...'`, `(b'authorization', b'...')` (ASGI scopes).
    (re.compile(rf"(?i)((?:{_HEADERS})['\"]?\s*[:=,]\s*(?:b?['\"])?)[^'\"\r\n]+"), rf"\1{REDACTED}"),
    # Django's signed values (panel tokens; `.` or `:` between payload, timestamp and signature).
    (re.compile(r"[A-Za-z0-9_\-]{16,}[.:][A-Za-z0-9]{4,8}[.:][A-Za-z0-9_\-]{20,}"), REDACTED),
    # `name=value` (query strings, form bodies) and `"name": "value"` (JSON, dict reprs).
    (re.compile(rf"(?i)(?<![A-Za-z0-9_])({_SECRET_NAMES})=[^\s&'\",;)}}\[\]]+"), rf"\1={REDACTED}"),
    (re.compile(rf"(?i)(['\"](?:{_SECRET_NAMES})['\"]\s*:\s*['\"])[^'\"]+"), rf"\1{REDACTED}"),
]
_WORD = re.compile(r"(?<![A-Za-z0-9_\-])[A-Za-z0-9_\-]{20,}")
_HEX = re.compile(r"[0-9a-fA-F\-]+")


def _secret_shaped(word: str) -> bool:
    """Long random-looking words: OAuth tokens and client secrets, panel tokens' parts, Fernet texts, API keys.
    UUIDs and hex digests (conversation and org ids, checksums) and identifiers (CamelCase, snake_case) are kept."""
    if _HEX.fullmatch(word):
        return False
    has_digit = any(c.isdigit() for c in word)
    letters = [c for c in word if c.isalpha()]
    if has_digit and letters:
        return True
    upper = sum(c.isupper() for c in letters)
    # A random mixed-case string is about half capitals; an identifier has one per word.
    return len(letters) >= 20 and 0.2 <= upper / len(letters) <= 0.8


# Every pattern needs one of these: most log lines have none and are returned after this one search.
_TRIGGER = re.compile(
    r"(?i)bearer|basic|authoriz|token|code|secret|password|key|signature|cookie|sec-websocket"
    r"|[A-Za-z0-9_\-]{16,}"
)


def redact(text: str) -> str:
    """`text` with everything token-shaped replaced by `[redacted]` (see `RedactingFilter`)."""
    if _TRIGGER.search(text) is None:
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return _WORD.sub(lambda match: REDACTED if _secret_shaped(match.group()) else match.group(), text)


def _redacted_argument(value: object) -> object:
    return redact(value) if isinstance(value, str) else value


class RedactingFilter(logging.Filter):
    """A second guard behind "no secret is logged": the message, its arguments, the traceback and the stack of every
    record lose what looks like a credential. On every handler (settings' LOGGING; `install_everywhere` adds it to
    handlers configured elsewhere, such as a server's own).

    Plain arguments (text, numbers) are redacted one by one, so formatters that read `record.args` (uvicorn's access
    formatter unpacks them) keep working; any other argument could render a secret, so the message is rendered and
    redacted whole."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "screenpop_redacted", False):
            return True
        args = record.args
        if (
            isinstance(record.msg, str)
            and isinstance(args, tuple)
            and all(isinstance(arg, str | int | float | None) for arg in args)
        ):
            record.msg = redact(record.msg)
            record.args = tuple(_redacted_argument(arg) for arg in args)
        elif (
            isinstance(record.msg, str)
            and isinstance(args, dict)
            and all(isinstance(value, str | int | float | None) for value in args.values())
        ):
            record.msg = redact(record.msg)
            record.args = {key: _redacted_argument(value) for key, value in args.items()}
        else:
            record.msg = redact(record.getMessage())
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        record.screenpop_redacted = True
        return True


def install_everywhere() -> None:
    """Add a `RedactingFilter` to every handler of every logger that has none yet (handlers a server or a library
    configured outside settings' LOGGING)."""
    loggers = [logging.getLogger(), *logging.root.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):  # placeholders (names without a logger) have none
            if not any(isinstance(existing, RedactingFilter) for existing in handler.filters):
                handler.addFilter(RedactingFilter())
