"""Microsoft's published cmdlet syntax as data: the one module that reads ``lab/reference/*.json``.

``lync-cmdlets.json`` is Microsoft's Lync/Skype for Business cmdlet reference (parameter sets, mandatory
flags, positions, types, accepted values, outputs, the pages' own constraining sentences), extracted from
the public ``MicrosoftDocs/office-docs-powershell`` pages; the file names its repository, commit and path.
``windows-cmdlets.json`` holds, in the same form, the few Windows PowerShell cmdlets the runner sends
(from ``MicrosoftDocs/PowerShell-Docs`` and ``MicrosoftDocs/windows-powershell-docs``, paths inside).
The lab binds every call against these declarations; nothing else in the lab lists parameters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from lab import lync_facts

DIRECTORY = Path(__file__).parent
FILES = ("lync-cmdlets.json", "windows-cmdlets.json")
#: Parameter types that are switches (compared without case).
SWITCH_TYPES = frozenset({"switchparameter", "system.management.automation.switchparameter"})


@dataclass(frozen=True)
class Parameter:
    """One parameter as one parameter set declares it."""

    name: str
    type: str
    mandatory: bool
    position: int | None
    aliases: tuple[str, ...]
    #: The Lync versions it exists on (``lync_facts.PRODUCTS``); empty: every version of its cmdlet.
    versions: frozenset[int]
    #: Accepted values by version (key 0: every version); empty when any value of its type goes.
    accepted: tuple[tuple[int, tuple[str, ...]], ...] = ()

    @property
    def switch(self) -> bool:
        """Whether it is a switch (present or not)."""
        return self.type.lower() in SWITCH_TYPES

    def accepted_values(self, version: int | None) -> tuple[str, ...]:
        """The values it accepts on a server of ``version``: the newest list not newer than it."""
        chosen: tuple[str, ...] = ()
        for since, values in self.accepted:
            if since == 0 or version is None or since <= version:
                chosen = values
        return chosen


@dataclass(frozen=True)
class ParameterSet:
    """A named parameter set (``__AllParameterSets`` when the page has one unnamed syntax block)."""

    name: str
    is_default: bool
    parameters: tuple[Parameter, ...]


@dataclass(frozen=True)
class CmdletSyntax:
    """A cmdlet as the reference declares it, with where the declaration comes from."""

    name: str
    source: str
    versions: frozenset[int]
    parameter_sets: tuple[ParameterSet, ...]
    common_parameters: bool
    outputs: tuple[str, ...]
    notes: tuple[str, ...]

    def exists_on(self, version: int | None) -> bool:
        """Whether the cmdlet exists on a Front End of ``version`` (None: a server without Lync version)."""
        return version is None or not self.versions or version in self.versions

    def sets_on(self, version: int | None) -> tuple[ParameterSet, ...]:
        """The parameter sets with only the parameters that exist on ``version``.

        A parameter whose ``Applicable`` line stops before a version that the page itself applies to is kept
        on that version when no parameter of the page names it [I: lync_facts.PARAMETER_VERSIONS_RULE].
        """
        newest = max((v for s in self.parameter_sets for p in s.parameters for v in p.versions), default=0)
        return tuple(
            ParameterSet(
                s.name,
                s.is_default,
                tuple(p for p in s.parameters if _applies(p, version, newest)),
            )
            for s in self.parameter_sets
        )


def syntax(name: str) -> CmdletSyntax | None:
    """The reference's declaration of the cmdlet (any case), or None when the reference has none."""
    return _cmdlets().get(name.lower())


def _applies(parameter: Parameter, version: int | None, newest: int) -> bool:
    if version is None or not parameter.versions or version in parameter.versions:
        return True
    return version > newest and min(parameter.versions) <= version


@cache
def _cmdlets() -> dict[str, CmdletSyntax]:
    cmdlets: dict[str, CmdletSyntax] = {}
    for file_name in FILES:
        document = json.loads((DIRECTORY / file_name).read_text(encoding="utf-8"))
        for entry in document["cmdlets"]:
            repository = entry.get("source_repo", document["source_repo"])
            commit = str(entry.get("snapshot", document["snapshot"]))
            cmdlet = _cmdlet(entry, f"{repository}@{commit[:12]}:")
            cmdlets[cmdlet.name.lower()] = cmdlet
    return cmdlets


def _cmdlet(entry: dict[str, Any], origin: str) -> CmdletSyntax:
    name = str(entry.get("requested_as") or entry["name"])
    return CmdletSyntax(
        name=name,
        source=origin + str(entry["source"]),
        versions=_versions(entry.get("applicable")),
        parameter_sets=tuple(_parameter_set(name, s) for s in entry["parameter_sets"]),
        common_parameters=bool(entry.get("common_parameters", True)),
        outputs=tuple(str(o) for o in _list(entry.get("outputs"))),
        notes=tuple(str(n) for n in _list(entry.get("notes"))),
    )


def _parameter_set(cmdlet: str, entry: dict[str, Any]) -> ParameterSet:
    name = str(entry["name"])
    default = bool(entry.get("is_default")) or lync_facts.DEFAULT_PARAMETER_SETS.get(cmdlet) == name
    parameters = [
        _parameter(cmdlet, p) for p in _list(entry["parameters"]) if not p.get("common_parameter_in_syntax")
    ]
    return ParameterSet(name, default, tuple(parameters))


def _parameter(cmdlet: str, entry: dict[str, Any]) -> Parameter:
    name = str(entry["name"])
    accepted: list[tuple[int, tuple[str, ...]]] = []
    by_version = entry.get("accepted_values_by_version")
    if isinstance(by_version, dict):
        for product, values in by_version.items():
            accepted.append((lync_facts.PRODUCTS[product], tuple(values)))
    elif entry.get("accepted_values"):
        accepted.append((0, tuple(_list(entry["accepted_values"]))))
    for version, extra in lync_facts.ACCEPTED_VALUE_ADDITIONS.get((cmdlet, name), ()):
        accepted = [(v, values + extra) if v == version else (v, values) for v, values in accepted]
    position = entry.get("position")
    return Parameter(
        name=name,
        type=str(entry["type"]),
        mandatory=bool(entry.get("mandatory")),
        position=int(str(position)) if position is not None else None,
        aliases=tuple(str(a) for a in _list(entry.get("aliases"))),
        versions=_versions(entry.get("applicable")),
        accepted=tuple(sorted(accepted)),
    )


def _versions(applicable: object) -> frozenset[int]:
    if not isinstance(applicable, str) or applicable == "None":
        return frozenset()
    return frozenset(lync_facts.PRODUCTS[p.strip()] for p in applicable.split(","))


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
