"""Reading cmdlet output: the few ways steps look at :class:`plugins.shell.RemoteObject` properties."""

from __future__ import annotations

from plugins.kit.errors import PreconditionError
from plugins.kit.shell import CmdletResult, RemoteObject


def only_object(result: CmdletResult, what: str) -> RemoteObject:
    """The first object a cmdlet wrote; PreconditionError saying ``what`` was expected when there is none."""
    if not result.objects:
        raise PreconditionError(f"expected {what}, but the cmdlet wrote nothing")
    return result.objects[0]


def is_true(result: CmdletResult) -> bool:
    """Whether a cmdlet that writes one bool (``Test-Path``) wrote True."""
    return bool(result.objects) and result.objects[0].text.strip().lower() == "true"


def is_true_value(value: object) -> bool:
    """Whether a property holds True (a bool, or its text as PowerShell prints it)."""
    return value is True or str(value).strip().lower() == "true"


def text(obj: RemoteObject, name: str) -> str:
    """A property as text ("" when absent or null)."""
    value = obj.get(name)
    return "" if value is None else str(value)


def texts(obj: RemoteObject, name: str) -> list[str]:
    """A list property as a list of text (a scalar becomes a one-item list)."""
    value = obj.get(name)
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [str(item) for item in value]
    return [str(value)]


def strip_prefix(identity: str) -> str:
    """``Registrar:pool2.contoso.com`` -> ``pool2.contoso.com`` (lower case)."""
    return identity.split(":", 1)[-1].lower()
