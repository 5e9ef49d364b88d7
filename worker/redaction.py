"""Which names hold secrets: the one list the journal and Flower's task views redact by."""

from __future__ import annotations

from collections.abc import Callable

#: A parameter, key or field whose name contains one of these (any case) holds a secret.
SECRET_WORDS = ("password", "secret", "credential", "token", "key")
#: What a secret is shown as.
REDACTED = "***"


def is_secret_name(name: str) -> bool:
    """Whether a value under this name must never be shown."""
    return any(word in name.lower() for word in SECRET_WORDS)


def redacted(value: object, text: Callable[[str], str] = str) -> object:
    """``value`` with whatever sits under a secret name replaced by REDACTED, at any depth of dicts, lists and
    tuples; every other string goes through ``text``."""
    if isinstance(value, dict):
        return {
            key: REDACTED if isinstance(key, str) and is_secret_name(key) else redacted(item, text)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(redacted(item, text) for item in value)
    if isinstance(value, str):
        return text(value)
    return value
