"""Keep secrets out of everything written: config, events, exports, logs."""

from __future__ import annotations

import os
import re
from typing import Any

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(r"(api[_-]?key|authori[sz]ation|secret|password|passwd|token)$", re.IGNORECASE)
_SECRET_ENV = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD)$|^(OPENAI|ANTHROPIC|HF)_", re.IGNORECASE)
# Field names that hold token *counts*, not credentials.
_COUNT_FIELDS = re.compile(r"_tokens$|^tokens?$|^max_tokens$", re.IGNORECASE)


def secret_values() -> list[str]:
    """Values of environment variables that look like credentials (long enough to matter)."""
    return sorted(
        {v for k, v in os.environ.items() if _SECRET_ENV.search(k) and len(v) >= 8},
        key=len, reverse=True,
    )


def redact(value: Any, secrets: list[str] | None = None) -> Any:
    """Return `value` with secret-named fields and any secret environment value masked."""
    secrets = secret_values() if secrets is None else secrets
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            key = str(k)
            if _SECRET_KEY.search(key) and not _COUNT_FIELDS.search(key) and isinstance(v, str):
                out[k] = REDACTED
            else:
                out[k] = redact(v, secrets)
        return out
    if isinstance(value, (list, tuple)):
        return [redact(v, secrets) for v in value]
    if isinstance(value, str):
        for s in secrets:
            if s in value:
                value = value.replace(s, REDACTED)
        return value
    return value
