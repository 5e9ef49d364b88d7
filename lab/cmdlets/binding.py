"""Parameter binding as Windows PowerShell 5.1 does it, from the reference's declarations (lab.reference).

The order and the rules follow ``CmdletParameterBinderController`` (research: binder/FINDINGS.md): named
arguments first (exact name or alias, else an unambiguous prefix, the cmdlet's own parameters winning over
the common ones), then positional ones, then the parameter set (a set no argument fits, a default set, or
the one set whose mandatory parameters are all given), then the mandatory parameters of the chosen set.
Non-interactive: a missing mandatory parameter is an error, never a prompt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from lab import lync_facts
from lab.api import CommandCall, PowerShellError
from lab.reference import CmdletSyntax, Parameter, ParameterSet

#: The common parameters of every cmdlet with ``[<CommonParameters>]``: name, aliases, type.
COMMON = (
    ("Verbose", ("vb",), "SwitchParameter"),
    ("Debug", ("db",), "SwitchParameter"),
    ("ErrorAction", ("ea",), "ActionPreference"),
    ("WarningAction", ("wa",), "ActionPreference"),
    ("InformationAction", ("infa",), "ActionPreference"),
    ("ErrorVariable", ("ev",), "String"),
    ("WarningVariable", ("wv",), "String"),
    ("InformationVariable", ("iv",), "String"),
    ("OutVariable", ("ov",), "String"),
    ("OutBuffer", ("ob",), "Int32"),
    ("PipelineVariable", ("pv",), "String"),
)
ACTION_PREFERENCES = ("SilentlyContinue", "Stop", "Continue", "Inquire", "Ignore", "Suspend")
#: ShouldProcess parameters: in every set of a cmdlet that declares them, and "common" for prefixes.
SHOULD_PROCESS = ("WhatIf", "Confirm")
ALL_SETS = "__AllParameterSets"
_INTEGERS = {
    "int32": "System.Int32",
    "uint16": "System.UInt16",
    "uint64": "System.UInt64",
    "int64": "System.Int64",
}
_TIMESPAN = re.compile(r"^\s*(-)?(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?\s*$")


@dataclass(frozen=True)
class Bound:
    """A bound call: arguments by canonical parameter name, and the parameter set chosen."""

    arguments: dict[str, object]
    parameter_set: str


@dataclass
class _Declared:
    """A parameter of the cmdlet merged over its sets: where it is, mandatory and positional per set."""

    parameter: Parameter
    common: bool
    #: set name -> (mandatory, position); empty for common parameters (every set).
    sets: dict[str, tuple[bool, int | None]] = field(default_factory=dict)


def bind(syntax: CmdletSyntax, version: int | None, call: CommandCall) -> Bound:
    """Bind ``call`` to ``syntax`` on a server of ``version``; terminating errors in PowerShell's words."""
    return _Binder(syntax, version).bind(call)


class _Binder:
    def __init__(self, syntax: CmdletSyntax, version: int | None) -> None:
        self.syntax = syntax
        self.version = version
        self.sets = [s for s in syntax.sets_on(version)]
        self.named_sets = [s.name for s in self.sets if s.name != ALL_SETS]
        self.declared: dict[str, _Declared] = {}
        for parameter_set in self.sets:
            for parameter in parameter_set.parameters:
                if parameter.name in SHOULD_PROCESS:
                    self.declared.setdefault(parameter.name, _Declared(parameter, common=True))
                    continue
                entry = self.declared.setdefault(parameter.name, _Declared(parameter, common=False))
                entry.sets[parameter_set.name] = (parameter.mandatory, parameter.position)
        if syntax.common_parameters:
            for name, aliases, kind in COMMON:
                accepted = ((0, ACTION_PREFERENCES),) if kind == "ActionPreference" else ()
                common = Parameter(name, kind, False, None, aliases, frozenset(), accepted)
                self.declared.setdefault(name, _Declared(common, common=True))

    def bind(self, call: CommandCall) -> Bound:
        bound: dict[str, object] = {}
        remaining = set(self.named_sets)
        unknown: list[str] = []
        positional: list[object] = []
        for typed, value in call.parameters:
            if typed is None:
                positional.append(value)
                continue
            name = typed.lstrip("-")
            entry = self._match(name)
            if entry is None:
                unknown.append(name)
                continue
            canonical = entry.parameter.name
            if canonical in bound:
                raise self._error(lync_facts.ALREADY_BOUND.format(name=name), "ParameterAlreadyBound")
            bound[canonical] = self._convert(entry, value, with_dash=typed.startswith("-"))
            remaining = self._narrow(remaining, entry)
        leftover = self._bind_positional(positional, bound, remaining)
        remaining = self._narrowed_by(bound)
        if self.named_sets and not remaining:
            raise self._error(lync_facts.AMBIGUOUS_PARAMETER_SET, "AmbiguousParameterSet")
        if unknown:
            raise self._error(
                lync_facts.PARAMETER_NOT_FOUND.format(name=unknown[0]), "NamedParameterNotFound"
            )
        if leftover:
            raise self._error(
                lync_facts.POSITIONAL_NOT_FOUND.format(value=_text(leftover[0])),
                "PositionalParameterNotFound",
            )
        chosen = self._choose(remaining, bound)
        missing = [
            name
            for name, entry in self.declared.items()
            if entry.sets.get(chosen, (False, None))[0] and name not in bound
        ]
        if missing:
            names = "".join(f" {name}" for name in missing)
            raise self._error(lync_facts.MISSING_MANDATORY.format(names=names), "MissingMandatoryParameter")
        return Bound(bound, chosen)

    # --- names -----------------------------------------------------------------------------------------

    def _match(self, name: str) -> _Declared | None:
        wanted = name.lower()
        for entry in self.declared.values():
            if wanted in (n.lower() for n in (entry.parameter.name, *entry.parameter.aliases)):
                return entry
        matches = [
            entry
            for entry in self.declared.values()
            if wanted
            and any(n.lower().startswith(wanted) for n in (entry.parameter.name, *entry.parameter.aliases))
        ]
        own = [entry for entry in matches if not entry.common]
        if len(matches) == 1:
            return matches[0]
        if len(own) == 1:
            return own[0]
        if matches:
            names = "".join(f" -{entry.parameter.name}" for entry in matches)
            raise self._error(
                lync_facts.AMBIGUOUS_PARAMETER.format(name=name, matches=names), "AmbiguousParameter"
            )
        return None

    # --- sets ------------------------------------------------------------------------------------------

    def _narrow(self, remaining: set[str], entry: _Declared) -> set[str]:
        return remaining & set(entry.sets) if entry.sets and self.named_sets else remaining

    def _narrowed_by(self, bound: dict[str, object]) -> set[str]:
        remaining = set(self.named_sets)
        for name in bound:
            remaining = self._narrow(remaining, self.declared[name])
        return remaining

    def _bind_positional(
        self, values: list[object], bound: dict[str, object], remaining: set[str]
    ) -> list[object]:
        """Bind positional values to the unbound positional parameters of the remaining sets, in order."""
        sets = remaining if self.named_sets else {ALL_SETS}
        candidates = sorted(
            {
                (position, name)
                for name, entry in self.declared.items()
                for set_name, (_mandatory, position) in entry.sets.items()
                if position is not None and set_name in sets and name not in bound
            },
            key=lambda item: (self._in_default(item[1]) is False, item[0]),
        )
        order = list(dict.fromkeys(name for _position, name in candidates))
        leftover = []
        for value in values:
            if not order:
                leftover.append(value)
                continue
            name = order.pop(0)
            bound[name] = self._convert(self.declared[name], value, with_dash=False)
        return leftover

    def _in_default(self, name: str) -> bool:
        defaults = {s.name for s in self.sets if s.is_default}
        return bool(defaults & set(self.declared[name].sets))

    def _choose(self, remaining: set[str], bound: dict[str, object]) -> str:
        if not self.named_sets:
            return ALL_SETS
        if len(remaining) == 1:
            return next(iter(remaining))
        ordered = [s for s in self.sets if s.name in remaining]
        default = next((s.name for s in ordered if s.is_default), None)
        if default is not None:
            return default
        complete = [s.name for s in ordered if not self._unbound_mandatory(s, bound)]
        if len(complete) == 1:
            return complete[0]
        raise self._error(lync_facts.AMBIGUOUS_PARAMETER_SET, "AmbiguousParameterSet")

    @staticmethod
    def _unbound_mandatory(parameter_set: ParameterSet, bound: dict[str, object]) -> bool:
        return any(p.mandatory and p.name not in bound for p in parameter_set.parameters)

    # --- values ----------------------------------------------------------------------------------------

    def _convert(self, entry: _Declared, value: object, *, with_dash: bool) -> object:
        parameter = entry.parameter
        kind = parameter.type.lower()
        if value is None:
            if parameter.switch:
                return True
            if with_dash:
                raise self._error(
                    lync_facts.MISSING_ARGUMENT.format(name=parameter.name, type=_full_type(parameter.type)),
                    "MissingArgument",
                )
            if any(mandatory for mandatory, _ in entry.sets.values()) or kind == "boolean":
                raise self._error(
                    lync_facts.NULL_NOT_ALLOWED.format(name=parameter.name),
                    "ParameterArgumentValidationErrorNullNotAllowed",
                    category="InvalidData",
                )
            return None
        if parameter.switch or kind == "boolean":
            if isinstance(value, bool | int | float):
                return bool(value)
            raise self._error(
                lync_facts.CANNOT_CONVERT_SWITCH.format(
                    value_type=_net_type(value), type=_full_type(parameter.type), name=parameter.name
                ),
                "CannotConvertArgument",
            )
        accepted = parameter.accepted_values(self.version)
        if kind in _INTEGERS:
            return self._integer(parameter, value)
        if kind == "timespan":
            return self._timespan(parameter, value)
        if accepted and kind not in ("string", "string[]", "system.string", "system.string[]"):
            return self._enum(parameter, value, accepted)
        if accepted:
            self._validate_set(parameter, value, accepted)
        if kind.endswith("[]"):
            return [_text(v) for v in value] if isinstance(value, list) else [_text(value)]
        return value if isinstance(value, list | timedelta) else _text(value)

    def _integer(self, parameter: Parameter, value: object) -> int:
        if isinstance(value, bool | int):
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise self._cannot_convert(
            parameter, value, _INTEGERS[parameter.type.lower()], lync_facts.NOT_A_NUMBER
        )

    def _timespan(self, parameter: Parameter, value: object) -> timedelta:
        if isinstance(value, timedelta):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return timedelta(microseconds=value / 10)
        text = _text(value)
        if text.strip().isdigit():
            return timedelta(days=int(text))
        match = _TIMESPAN.match(text)
        if match is None:
            raise self._cannot_convert(parameter, value, "System.TimeSpan", lync_facts.NOT_A_TIMESPAN)
        sign, days, hours, minutes, seconds, fraction = match.groups()
        span = timedelta(
            days=int(days or 0),
            hours=int(hours),
            minutes=int(minutes),
            seconds=int(seconds or 0),
            microseconds=int((fraction or "0").ljust(7, "0")) / 10,
        )
        return -span if sign else span

    def _enum(self, parameter: Parameter, value: object, names: tuple[str, ...]) -> str:
        text = _text(value)
        type_name = lync_facts.ENUM_TYPES.get(parameter.type, parameter.type)
        exact = [name for name in names if name.lower() == text.lower()]
        if exact:
            return exact[0]
        prefixed = [name for name in names if text and name.lower().startswith(text.lower())]
        if len(prefixed) == 1:
            return prefixed[0]
        if prefixed:
            inner = lync_facts.SEVERAL_ENUM_NAMES.format(value=text, names=", ".join(prefixed))
        else:
            inner = lync_facts.NO_ENUM_NAME.format(value=text, names=", ".join(names))
        raise self._cannot_convert(parameter, value, type_name, inner)

    def _validate_set(self, parameter: Parameter, value: object, accepted: tuple[str, ...]) -> None:
        for item in value if isinstance(value, list) else [value]:
            if _text(item).lower() not in (a.lower() for a in accepted):
                raise self._error(
                    lync_facts.VALIDATE_SET.format(
                        name=parameter.name, value=_text(item), values=",".join(accepted)
                    ),
                    "ParameterArgumentValidationError",
                    category="InvalidData",
                )

    def _cannot_convert(
        self, parameter: Parameter, value: object, type_name: str, error: str
    ) -> PowerShellError:
        message = lync_facts.CANNOT_CONVERT.format(
            name=parameter.name, value=_text(value), type=type_name, error=error
        )
        return self._error(message, "CannotConvertArgumentNoMessage")

    def _error(self, message: str, reason: str, *, category: str = "InvalidArgument") -> PowerShellError:
        name = self.syntax.name
        return PowerShellError(message, error_id=f"{reason},{name}", category=category, command=name)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _net_type(value: object) -> str:
    if isinstance(value, str):
        return "System.String"
    if isinstance(value, list):
        return "System.Object[]"
    return "System.Collections.Hashtable" if isinstance(value, dict) else "System.Object"


def _full_type(kind: str) -> str:
    lowered = kind.lower()
    if lowered in ("switchparameter", "system.management.automation.switchparameter"):
        return "System.Management.Automation.SwitchParameter"
    if "." in kind:
        return kind
    return lync_facts.ENUM_TYPES.get(kind, f"System.{kind}")
