"""Logging as text or JSON lines, with secrets redacted from every message."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

_PATTERNS = [
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1[redacted]"),
    (re.compile(r"ocma_[0-9a-f]{12}_[A-Za-z0-9_-]+"), "ocma_[redacted]"),
    (re.compile(r"gAAAAA[A-Za-z0-9_=-]{20,}"), "[encrypted]"),
    (
        re.compile(
            r"(?i)((?:access|refresh|id)_?token|client_secret|password|app_password|api_key|secret|code_verifier)"
            r"(['\"]?\s*[:=]\s*['\"]?)[^'\"&\s,}]+"
        ),
        r"\1\2[redacted]",
    ),
    # OAuth answers in URLs (access lines of /oauth/callback): the code and state are one-time secrets.
    (re.compile(r"(?i)([?&](?:code|state|oauth_token|oauth_verifier)=)[^&\s\"']+"), r"\1[redacted]"),
]
# Loggers that print whole AI requests (prompts, drafts, pasted customer text) at DEBUG: at most INFO, always.
PAYLOAD_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm", "openai", "anthropic")
# Loggers that log every request line at INFO (httpx: "HTTP Request: POST https://.../webhooks/<id>/<token>").
QUIET_LOGGERS = ("httpx", "httpcore")


_known: dict[str, None] = {}  # secret values seen (insertion-ordered, bounded): redacted wherever they appear
_KNOWN_MAX = 10_000
_MIN_SECRET_LENGTH = 8  # shorter values would redact ordinary words


def register_secret(*values: str | None) -> None:
    """Redact these exact values from every log line from now on (tokens, webhook secrets in URL paths)."""
    for value in values:
        if value and len(value) >= _MIN_SECRET_LENGTH and value not in _known:
            _known[value] = None
            if len(_known) > _KNOWN_MAX:
                del _known[next(iter(_known))]


def redact(text: str) -> str:
    """Replace every registered secret value and anything that looks like a token, key or password."""
    for value in list(_known):
        if value in text:
            text = text.replace(value, "[redacted]")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Formats the message once and redacts secrets from it (and from exception text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message in place."""
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        """Serialise the record."""
        payload = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "target_id"):
            if getattr(record, key, ""):
                payload[key] = getattr(record, key)
        if record.exc_text:
            payload["exc"] = record.exc_text
        return json.dumps(payload)


def configure_logging(fmt: str = "text", level: str = "INFO") -> None:
    """Install one redacting handler on the root logger."""
    handler = logging.StreamHandler(sys.stderr)
    from ocma_core.observe.requestid import ContextFilter

    handler.addFilter(RedactingFilter())
    handler.addFilter(ContextFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in PAYLOAD_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.INFO, logging.getLogger().getEffectiveLevel()))
    for name in QUIET_LOGGERS:  # one INFO line per HTTP request, with the URL: paths may carry secrets
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().getEffectiveLevel()))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
