"""Values across PSRP: engine output to psrpcore objects, client arguments to plain Python, error records.

A :class:`lab.api.PSValue` becomes a PSObject whose type names are the value's (``obj.types`` in pypsrp) and
whose properties are note properties, serialized as ``<MS>``: pypsrp exposes them in
``obj.extended_properties`` (``adapted_properties`` stays empty).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from psrpcore.types import (
    ErrorCategory,
    ErrorCategoryInfo,
    ErrorRecord,
    NETException,
    PSObject,
    add_note_property,
)

from lab.api import PowerShellError, PSValue

#: The PSVersionTable a Windows Server 2012 R2 host with WMF 5.1 advertises.
PS_VERSION_TABLE: dict[str, object] = {
    "PSVersion": "5.1.14409.1005",
    "PSEdition": "Desktop",
    "CLRVersion": "4.0.30319.42000",
    "BuildVersion": "10.0.14409.1005",
    "WSManStackVersion": "3.0",
    "PSRemotingProtocolVersion": "2.3",
    "SerializationVersion": "1.1.0.1",
}

_PLAIN = (bool, int, float, str, datetime, timedelta)


def to_psrp(value: object) -> Any:
    """Convert an engine value (scalars, lists, dicts, :class:`PSValue`) into what psrpcore serializes."""
    if value is None or isinstance(value, _PLAIN):
        return value
    if isinstance(value, PSValue):
        ps_object = PSObject()
        ps_object.PSObject.type_names = list(value.type_names)
        for name, item in value.properties.items():
            add_note_property(ps_object, name, to_psrp(item))
        if value.to_string is not None:
            ps_object.PSObject.to_string = value.to_string
        return ps_object
    if isinstance(value, Mapping):
        return {to_psrp(key): to_psrp(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_psrp(item) for item in value]
    raise TypeError(
        f"the lab engine wrote a {type(value).__name__}, which the remoting layer cannot serialize"
    )


def from_psrp(value: Any) -> object:
    """Convert a deserialized client argument into plain Python (str, int, bool, list, dict, PSValue...)."""
    if value is None or isinstance(value, bool | datetime | timedelta):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, dict):
        return {from_psrp(key): from_psrp(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_psrp(item) for item in value]
    if isinstance(value, PSObject):
        meta = value.PSObject
        properties = {
            prop.name: from_psrp(prop.get_value(value))
            for prop in [*meta.adapted_properties, *meta.extended_properties]
        }
        return PSValue(tuple(meta.type_names), properties, meta.to_string)
    return value


def error_record(error: BaseException) -> ErrorRecord:
    """An ErrorRecord for ``error``; a PowerShellError gives its message, error id and category."""
    if isinstance(error, PowerShellError):
        message, error_id, category = error.message, error.error_id, error.category
        target, activity = error.target, error.command
    else:
        message, error_id, category = f"{type(error).__name__}: {error}", "LabEngineFailure", "NotSpecified"
        target, activity = None, None
    exception = NETException(Message=message, HResult=-2146233087)
    exception.PSObject.type_names = [
        "System.Management.Automation.RuntimeException",
        "System.SystemException",
        *exception.PSTypeNames,
    ]
    try:
        error_category = ErrorCategory[category]
    except KeyError:
        error_category = ErrorCategory.NotSpecified
    return ErrorRecord(
        Exception=exception,
        TargetObject=to_psrp(target),
        FullyQualifiedErrorId=error_id,
        CategoryInfo=ErrorCategoryInfo(Category=error_category, Activity=activity, Reason="RuntimeException"),
    )
