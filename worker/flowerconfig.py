"""Flower's configuration: readable task views with secrets redacted, authentication from the environment.

Load it with ``celery -A worker flower --conf=worker/flowerconfig.py`` (or ``FLOWER_CONF=<path>``). Flower
runs this file and takes every global whose name is one of its options (``format_task``, ``max_tasks``,
``persistent``); everything else here is private on purpose: a global named like a Flower option (``port``,
``auth``, ``logging``, ``db`` …) would silently become that option.

Environment: ``FLOWER_BASIC_AUTH=user:password[,user2:password2]`` (or ``FLOWER_AUTH`` with OAuth) is
required; ``FLOWER_MAX_TASKS`` (default 10000) and ``FLOWER_PERSISTENT`` (default off) are optional.
"""

from __future__ import annotations

import ast
import os
import re
import sys as _sys
from collections.abc import Mapping
from typing import TypeVar

from worker import redaction as _redaction

_Task = TypeVar("_Task")

#: Characters of one field (args, kwargs, result …) Flower shows before it is cut.
_MAX_FIELD_CHARS = 2000
#: The task fields Flower renders as text.
_TEXT_FIELDS = ("args", "kwargs", "result", "exception", "traceback")

_QUOTED = r"'(?:[^'\\]|\\.)*'" + "|" + r'"(?:[^"\\]|\\.)*"'
_SECRET_NAME = rf"[\w.-]*(?:{'|'.join(_redaction.SECRET_WORDS)})[\w.-]*"
#: ``password='x'``, ``api_token=x``, ``"secret": "x"``: a secret-looking key, then a scalar value.
#: An unquoted key needs ``=`` so that prose ("has no password: set …") stays readable.
_SECRET_PAIR = re.compile(
    rf"""(?P<key>(?:(?P<quote>['"]){_SECRET_NAME}(?P=quote)\s*[:=]|{_SECRET_NAME}\s*=)\s*)"""
    rf"""(?P<value>{_QUOTED}|[^\s,;(){{}}\[\]]+)""",
    re.IGNORECASE,
)
#: The password of a URL's user information: ``redis://:pw@host`` -> ``redis://:***@host``.
_URL_PASSWORD = re.compile(r"""(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s'"]*:)[^@/\s'"]+@""", re.IGNORECASE)


class FlowerConfigError(RuntimeError):
    """The environment does not configure Flower safely; the message says what to set."""


def format_task(task: _Task) -> _Task:
    """Flower's hook: the task's args, kwargs, result and errors with secrets redacted and long text cut."""
    for field in _TEXT_FIELDS:
        value = getattr(task, field, None)
        if isinstance(value, str):
            setattr(task, field, _summarize(value))
    return task


def _summarize(text: str) -> str:
    redacted = _redact(text)
    if len(redacted) <= _MAX_FIELD_CHARS:
        return redacted
    return f"{redacted[:_MAX_FIELD_CHARS]}… ({len(redacted) - _MAX_FIELD_CHARS} more characters)"


def _redact(text: str) -> str:
    """``text`` with secret values replaced: structurally if it is a Python literal, else by pattern."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _redact_text(text)
    redacted = _redaction.redacted(value, _redact_text)
    return text if redacted == value else repr(redacted)


def _redact_text(text: str) -> str:
    text = _URL_PASSWORD.sub(rf"\g<head>{_redaction.REDACTED}@", text)
    return _SECRET_PAIR.sub(_redacted_pair, text)


def _redacted_pair(match: re.Match[str]) -> str:
    value = match["value"]
    quote = value[0] if value[0] in "'\"" else ""
    return f"{match['key']}{quote}{_redaction.REDACTED}{quote}"


def _require_authentication(environ: Mapping[str, str]) -> None:
    """Refuse to serve Flower without authentication configured in the environment."""
    if environ.get("FLOWER_AUTH"):
        return
    basic_auth = environ.get("FLOWER_BASIC_AUTH", "")
    if not basic_auth:
        raise FlowerConfigError(
            "Flower has no authentication: set FLOWER_BASIC_AUTH=user:password in the environment "
            "(or FLOWER_AUTH for OAuth); never pass --basic-auth on the command line, where ps shows it"
        )
    for position, entry in enumerate(basic_auth.split(","), start=1):
        user, _, password = entry.partition(":")
        if not user.strip() or not password:
            raise FlowerConfigError(
                f"FLOWER_BASIC_AUTH entry {position} is not user:password "
                "(entries are separated by commas, so a password cannot contain one)"
            )


def _positive_int_env(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "")
    if not raw:
        return default
    if not raw.isdigit() or int(raw) == 0:
        raise FlowerConfigError(f"{name}={raw!r} must be a positive whole number")
    return int(raw)


def _flag_env(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise FlowerConfigError(f"{name}={raw!r} must be true or false")


def _settings(environ: Mapping[str, str]) -> tuple[int, bool]:
    """(max_tasks, persistent) from the environment; a bad environment is a message on stderr and exit 2,
    not a traceback (Flower would print this error's traceback before the message)."""
    try:
        _require_authentication(environ)
        return (
            _positive_int_env(environ, "FLOWER_MAX_TASKS", 10000),
            _flag_env(environ, "FLOWER_PERSISTENT", False),
        )
    except FlowerConfigError as error:
        print(f"flower: {error}", file=_sys.stderr)
        raise SystemExit(2) from None


_max_tasks, _persistent = _settings(os.environ)
#: Tasks Flower keeps in memory (an LRU); the run record in Redis is the durable history.
max_tasks: int = _max_tasks
#: Off: Flower's state lives in memory only. On: it is saved to FLOWER_DB (default ``flower``) on shutdown.
persistent: bool = _persistent
