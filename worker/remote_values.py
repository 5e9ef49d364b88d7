"""Turn what pypsrp deserialises (GenericComplexObject, records) into the plain values plugins see."""

from __future__ import annotations

import base64
from datetime import date, datetime, timedelta
from typing import Any

from pypsrp.complex_objects import GenericComplexObject

from plugins.kit.shell import RemoteObject

#: System.Management.Automation.ErrorCategory, by value.
ERROR_CATEGORIES = (
    "NotSpecified", "OpenError", "CloseError", "DeviceError", "DeadlockDetected", "InvalidArgument",
    "InvalidData", "InvalidOperation", "InvalidResult", "InvalidType", "MetadataError", "NotImplemented",
    "NotInstalled", "ObjectNotFound", "OperationStopped", "OperationTimeout", "SyntaxError", "ParserError",
    "PermissionDenied", "ResourceBusy", "ResourceExists", "ResourceUnavailable", "ReadError", "WriteError",
    "FromStdErr", "SecurityError", "ProtocolError", "ConnectionError", "AuthenticationError",
    "LimitsExceeded", "QuotaExceeded", "NotEnabled",
)  # fmt: skip


def to_remote_object(value: object) -> RemoteObject:
    """One output object: its type names, properties (adapted and extended) and its ToString text."""
    if isinstance(value, GenericComplexObject):
        return RemoteObject(
            type_names=tuple(value.types),
            properties=_properties(value),
            text=value.to_string if isinstance(value.to_string, str) else "",
        )
    plain_value = to_plain(value)
    return RemoteObject(
        type_names=(), properties={}, text=plain_value if isinstance(plain_value, str) else str(value)
    )


def to_plain(value: object) -> object:
    """A JSON-plain copy: objects become dicts, enums their names, dates ISO text, lists stay lists."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, GenericComplexObject):
        properties = _properties(value)
        if properties:
            return properties
        if isinstance(value.to_string, str):
            return value.to_string
        return to_plain(value.property_sets[0]) if value.property_sets else None
    if isinstance(value, list | tuple):
        return [to_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def record_message(record: Any) -> str:
    """The text of an error, warning, verbose or information record."""
    exception = getattr(record, "exception", None)
    if isinstance(exception, GenericComplexObject):
        message = _properties(exception).get("Message")
        if isinstance(message, str) and message:
            return message
    for attribute in ("message", "details_message", "message_data"):
        text = getattr(record, attribute, None)
        if isinstance(text, GenericComplexObject):
            text = _properties(text).get("Message") or text.to_string
        if isinstance(text, str) and text:
            return text
    return str(record)


def error_category(record: Any) -> str:
    """The ErrorCategory name of an error record."""
    category = getattr(record, "category", None)
    if isinstance(category, int) and 0 <= category < len(ERROR_CATEGORIES):
        return ERROR_CATEGORIES[category]
    return "NotSpecified"


def _properties(value: GenericComplexObject) -> dict[str, object]:
    merged = {**value.adapted_properties, **value.extended_properties}
    return {str(name): to_plain(item) for name, item in merged.items()}
