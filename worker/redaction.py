"""Which names hold secrets: the one list the journal and Flower's task views redact by."""

from __future__ import annotations

#: A parameter, key or field whose name contains one of these (any case) holds a secret.
SECRET_WORDS = ("password", "secret", "credential", "token", "key")
#: What a secret is shown as.
REDACTED = "***"


def is_secret_name(name: str) -> bool:
    """Whether a value under this name must never be shown."""
    return any(word in name.lower() for word in SECRET_WORDS)
