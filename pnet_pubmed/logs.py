"""Logging without secrets: every record of every logger is redacted when it is made.

A filter on a logger applies only to records logged to that very logger, not to its children
(requests_cache.session, urllib3.connectionpool, ...), so redaction happens in the log-record
factory instead: whichever logger makes a record and whichever handler writes it, the message,
the traceback text and the stack text have already lost the API key, the address and any
password of the E-utilities URL, in plain and in URL-encoded form.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import quote, quote_plus, urlsplit

import click

MASK = "***"

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False

# Whatever the value, these never appear in a log line or a message: query and form parameters
# that identify the user, and the password of a URL ("scheme://user:password@host").
_PATTERNS = (
    (re.compile(r"(?i)\b(api_key|email)=([^&\s'\"<>]+)"), r"\1=" + MASK),
    (re.compile(r"(?i)(['\"](?:api_key|email)['\"]\s*:\s*['\"])([^'\"]+)"), r"\1" + MASK),
    (re.compile(r"(?i)\b(authorization['\"]?\s*[:=]\s*['\"]?)(basic|bearer)\s+[^\s'\",}]+"),
     r"\1\2 " + MASK),
    (re.compile(r"(://[^/\s:@]*):([^/\s@]+)@"), r"\1:" + MASK + "@"),
)


def _forms(value: str) -> set[str]:
    """A secret as it may be written: plain, percent-encoded (both ways), lower-case escapes."""
    forms = {value, quote(value, safe=""), quote_plus(value), quote(value)}
    forms |= {re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), f) for f in list(forms)}
    return {f for f in forms if len(f) >= 3}


def register_secret(value: str | None) -> None:
    """Mask this value (and its URL-encoded forms) wherever it would be logged or printed."""
    if not value:
        return
    with _lock:
        _secrets.update(_forms(value))


def register_url(url: str | None) -> None:
    """The password of a URL with user information is a secret, whatever else is in it."""
    if not url:
        return
    try:
        password = urlsplit(url).password
    except ValueError:
        return
    register_secret(password)


def redact(text: str) -> str:
    """The text without any registered secret and without key/address/password patterns."""
    if not text:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _scrub(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a bad format string is the logging module's business, not ours
        message = str(record.msg)
    clean = redact(message)
    if clean != message or record.args:
        record.msg, record.args = clean, None
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def install() -> None:
    """Redact every log record of the process from now on (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args, **kwargs) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _scrub(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True


class RedactingFilter(logging.Filter):
    """For handlers: a second pass, for records made before install() or by another factory."""

    def filter(self, record: logging.LogRecord) -> bool:
        _scrub(record)
        return True


class _ClickHandler(logging.Handler):
    """Writes to the stderr of the moment (click's test runner swaps it), one line a record."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            click.echo(self.format(record), err=True)
        except Exception:
            self.handleError(record)


_handler: logging.Handler | None = None
_saved_levels: dict[str, int] = {}


def configure(verbosity: int) -> None:
    """What the command line prints on stderr besides its own output.

    0: warnings, among them a line for each retry; 1 (-v): also one line per E-utilities
    request (sent or from the cache); 2 (-vv): every library's debug log (urllib3, requests-cache,
    the rate limiter). Secrets are masked in all of them.
    """
    global _handler
    install()
    reset()
    handler = _ClickHandler()
    handler.addFilter(RedactingFilter())
    if verbosity >= 2:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    else:
        # Below -vv only pnet-pubmed's own lines: a library's warning (with its traceback)
        # would be noise next to the retry line that says what happened.
        handler.addFilter(lambda r: r.name == "pnet_pubmed" or r.name.startswith("pnet_pubmed."))
        handler.setFormatter(logging.Formatter("%(message)s"))
    root, ours = logging.getLogger(), logging.getLogger("pnet_pubmed")
    _saved_levels.update({"": root.level, "pnet_pubmed": ours.level})
    root.setLevel(logging.DEBUG if verbosity >= 2 else logging.WARNING)
    ours.setLevel(logging.DEBUG if verbosity >= 2 else
                  logging.INFO if verbosity == 1 else logging.WARNING)
    root.addHandler(handler)
    _handler = handler


def reset() -> None:
    """Undo configure() (the command line calls it when a command ends)."""
    global _handler
    if _handler is not None:
        logging.getLogger().removeHandler(_handler)
        _handler = None
    for name, level in _saved_levels.items():
        logging.getLogger(name or None).setLevel(level)
    _saved_levels.clear()

