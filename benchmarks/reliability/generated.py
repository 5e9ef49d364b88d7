"""Generated bad input (hypothesis): requests every launcher must refuse, inventories the loader must refuse.

Each example carries one defect; a bad request also says which argument its refusal must name.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, TypeVar

import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from plugins.kit.requests import ACTION_PHASES, FAILBACK_ACTION_PHASES, POOL_ACTION_PHASES, SITE_ACTION_PHASES
from tasks.requests import FAILBACK_ARGUMENTS, FAILOVER_ARGUMENTS, READINESS_ARGUMENTS, SITE_ARGUMENTS
from worker.inventory import CredentialEntry, Inventory, PoolEntry, ServerEntry, SiteEntry

T = TypeVar("T")
#: What a launcher's argument takes.
Kind = Literal[
    "pool", "optional pool", "site", "optional site", "optional text", "flag", "false", "phases", "count"
]
#: The most users a failover's verification may sample (``Request.user_sample``).
USER_SAMPLE_MOST = 1000

TEXT = st.text(st.characters(codec="utf-8"), max_size=30)
NUMBERS = st.integers(-(10**9), 10**9) | st.floats(allow_nan=False, allow_infinity=False)
JSON = st.recursive(
    st.none() | st.booleans() | NUMBERS | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)
LISTS = st.lists(JSON, max_size=3)
OBJECTS = st.dictionaries(TEXT, JSON, max_size=3)
NOT_TEXT = st.booleans() | NUMBERS | LISTS | OBJECTS
NOT_FLAG = st.none() | NUMBERS | TEXT | LISTS | OBJECTS
NOT_LIST = st.none() | st.booleans() | NUMBERS | TEXT | OBJECTS
NOT_OBJECT = st.none() | st.booleans() | NUMBERS | TEXT | LISTS
NOT_COUNT = st.none() | st.booleans() | st.floats(allow_nan=False) | TEXT | LISTS | OBJECTS
#: A value of a wrong JSON type for each kind of argument.
WRONG: dict[Kind, st.SearchStrategy[object]] = {
    "pool": st.none() | NOT_TEXT,
    "site": st.none() | NOT_TEXT,
    "optional pool": NOT_TEXT,
    "optional site": NOT_TEXT,
    "optional text": NOT_TEXT,
    "flag": NOT_FLAG,
    "false": NOT_FLAG | st.just(True),
    "phases": NOT_LIST | st.lists(st.none() | NOT_TEXT, min_size=1),
    "count": NOT_COUNT | st.integers().filter(lambda number: not 0 <= number <= USER_SAMPLE_MOST),
}
#: Argument names an operator might try (and the request models' own field ``workflow``).
OTHER_NAMES = (
    "workflow",
    "dryrun",
    "Pool",
    "force",
    "confirm",
    *FAILOVER_ARGUMENTS,
    *FAILBACK_ARGUMENTS,
    "site",
)
NOT_FQDNS = (
    "pool1",
    "pool1.contoso",
    "pool 1.contoso.com",
    "pool1..contoso.com",
    "-pool1.contoso.com",
    "pool1.contoso.com:5986",
    "https://pool1.contoso.com",
    "10.0.0.1",
    "",
    "pool1_a.contoso.com",
)
FQDNS = st.from_regex(
    r"[a-z][a-z0-9-]{0,10}[a-z0-9](\.[a-z][a-z0-9]{0,10}){1,2}\.(com|net|local)", fullmatch=True
)
ALL_PHASES = (*ACTION_PHASES, *FAILBACK_ACTION_PHASES, "Pool", "CMS", "readiness.check", "locate")


def generate(strategy: st.SearchStrategy[T], count: int) -> list[T]:
    """``count`` examples of ``strategy``, the same ones every run (derandomized)."""
    examples: list[T] = []

    @settings(
        max_examples=count,
        database=None,
        derandomize=True,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(example: T) -> None:
        examples.append(example)

    collect()
    return examples


def uniform(strategies: Sequence[st.SearchStrategy[T]]) -> st.SearchStrategy[T]:
    """One of ``strategies``, each as likely (``st.one_of`` flattens nested choices, weighting them)."""
    return st.sampled_from(strategies).flatmap(lambda strategy: strategy)


# --- requests ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Launcher:
    """A launcher task, the arguments it takes, and a valid request (a dry run where there is one)."""

    task: str
    positional: tuple[str, ...]
    fields: Mapping[str, Kind]
    phases: tuple[str, ...]
    valid: Mapping[str, object]


@dataclass(frozen=True)
class BadRequest:
    """A launcher call with one defect, and the names one of which its refusal must mention."""

    kind: str
    task: str
    args: list[object]
    kwargs: dict[str, object]
    names: tuple[str, ...]


def launchers(inventory: Inventory) -> list[Launcher]:
    """Every launcher, with a valid request against ``inventory``."""
    pool = inventory.front_end_pools()[0]
    return [
        Launcher(
            "lync.failover",
            FAILOVER_ARGUMENTS,
            {
                "pool": "pool",
                "target": "optional pool",
                "dry_run": "flag",
                "parent": "optional text",
                "lost_site": "optional text",
                "pause_before": "phases",
                "user_sample": "count",
            },
            ACTION_PHASES,
            {"pool": pool.fqdn, "target": None, "dry_run": True},
        ),
        Launcher(
            "lync.failover_site",
            SITE_ARGUMENTS,
            {"site": "site", "dry_run": "flag", "pause_before": "phases"},
            SITE_ACTION_PHASES + POOL_ACTION_PHASES,
            {"site": pool.site, "dry_run": True},
        ),
        Launcher(
            "lync.failback",
            FAILBACK_ARGUMENTS,
            {"pool": "pool", "dry_run": "flag", "move_cms_back": "flag", "pause_before": "phases"},
            FAILBACK_ACTION_PHASES,
            {"pool": pool.fqdn, "dry_run": True, "move_cms_back": False},
        ),
        Launcher(
            "lync.readiness",
            READINESS_ARGUMENTS,
            {"site": "optional site", "dry_run": "false"},
            (),
            {"site": None},
        ),
    ]


def bad_requests(inventory: Inventory) -> st.SearchStrategy[BadRequest]:
    """A launcher call with one defect: a wrong JSON type, an unknown argument, a pool that is not an FQDN
    or not a Front End pool of the inventory, an unknown site, a phase it cannot pause before, positional
    junk."""
    return uniform([uniform(defects(launcher, inventory)) for launcher in launchers(inventory)])


def defects(launcher: Launcher, inventory: Inventory) -> list[st.SearchStrategy[BadRequest]]:
    """The defects this launcher's arguments allow."""
    count = len(launcher.positional)
    found = [
        uniform([wrong_type(launcher, name) for name in sorted(launcher.fields)]),
        st.tuples(unknown_names(launcher), JSON).map(
            lambda pair: broken("unknown argument", launcher, *pair)
        ),
        st.lists(JSON, min_size=count + 1, max_size=count + 3).map(partial(too_many, launcher)),
        st.integers(0, count - 1).map(partial(given_twice, launcher)),
        uniform([wrong_positional(launcher, index) for index in range(count)]),
    ]
    pools = [name for name, kind in launcher.fields.items() if kind in ("pool", "optional pool")]
    found += [
        not_a_front_end_pool(inventory).map(partial(broken, "bad pool", launcher, name)) for name in pools
    ]
    if "target" in launcher.fields:
        found.append(st.just(broken("target is the pool", launcher, "target", launcher.valid["pool"])))
    sites = {site.name.lower() for site in inventory.sites}
    unknown_site = TEXT.filter(lambda text: text.lower() not in sites).map(
        partial(broken, "unknown site", launcher, "site")
    )
    found += [unknown_site] if "site" in launcher.fields else []
    if launcher.phases:
        phases = st.lists(TEXT | st.sampled_from(ALL_PHASES), min_size=1, max_size=3)
        wrong = phases.filter(lambda chosen: any(phase not in launcher.phases for phase in chosen))
        found.append(wrong.map(partial(broken, "bad pause_before phase", launcher, "pause_before")))
    return found


def broken(kind: str, launcher: Launcher, name: str, value: object) -> BadRequest:
    """The launcher's valid request with argument ``name`` set to ``value``."""
    return BadRequest(kind, launcher.task, [], {**launcher.valid, name: value}, (name,))


def wrong_type(launcher: Launcher, name: str) -> st.SearchStrategy[BadRequest]:
    """Argument ``name`` of a wrong JSON type."""
    return WRONG[launcher.fields[name]].map(partial(broken, "wrong JSON type", launcher, name))


def unknown_names(launcher: Launcher) -> st.SearchStrategy[str]:
    """Names the launcher does not take."""
    names = st.sampled_from(OTHER_NAMES) | st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True)
    return names.filter(lambda name: name not in launcher.fields)


def too_many(launcher: Launcher, args: list[object]) -> BadRequest:
    """More positional arguments than the launcher takes."""
    return BadRequest("too many positional arguments", launcher.task, args, {}, ("positional",))


def given_twice(launcher: Launcher, index: int) -> BadRequest:
    """Positional argument ``index`` given by name too."""
    name = launcher.positional[index]
    args = [launcher.valid[field] for field in launcher.positional[: index + 1]]
    kwargs = {
        field: value for field, value in launcher.valid.items() if field not in launcher.positional[:index]
    }
    return BadRequest("given by position and by name", launcher.task, args, kwargs, (name,))


def wrong_positional(launcher: Launcher, index: int) -> st.SearchStrategy[BadRequest]:
    """Positional argument ``index`` of a wrong JSON type."""
    name = launcher.positional[index]
    before = [launcher.valid[field] for field in launcher.positional[:index]]
    rest = {
        field: value
        for field, value in launcher.valid.items()
        if field not in launcher.positional[: index + 1]
    }
    return WRONG[launcher.fields[name]].map(
        lambda value: BadRequest(
            "wrong JSON type by position", launcher.task, [*before, value], rest, (name,)
        )
    )


def not_a_front_end_pool(inventory: Inventory) -> st.SearchStrategy[object]:
    """Text that names no Front End pool of the inventory: not an FQDN, unknown, or an Edge pool."""
    front_ends = {pool.fqdn for pool in inventory.front_end_pools()}
    edges = sorted(pool.fqdn for pool in inventory.edge_pools())
    names = TEXT | st.sampled_from(NOT_FQDNS) | FQDNS | (st.sampled_from(edges) if edges else FQDNS)
    return names.filter(lambda name: name.lower().removesuffix(".") not in front_ends)


# --- inventories -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BadInventory:
    """An inventory file with one defect (``text`` None: no file at all)."""

    kind: str
    text: str | None
    suffix: str = ".json"


#: What each kind of inventory field takes, by section (None: the top level).
FieldKind = Literal[
    "text", "optional text", "list", "object", "format", "auth", "encryption", "version", "flag"
]
FIELDS: dict[str | None, dict[str, FieldKind]] = {
    None: {
        "format": "format",
        "control_queue": "text",
        "sites": "list",
        "pools": "list",
        "servers": "list",
        "credentials": "object",
    },
    "sites": {"name": "text", "queue": "text"},
    "pools": {"fqdn": "text", "site": "text", "role": "text", "version": "version"},
    "servers": {
        "fqdn": "text",
        "pool": "text",
        "endpoint": "text",
        "auth": "auth",
        "credential": "text",
        "ca_bundle": "optional text",
        "cert_validation": "flag",
        "encryption": "encryption",
    },
    "credentials": {"username": "text", "password_env": "optional text", "password_file": "optional text"},
}
MODELS: dict[str | None, type[BaseModel]] = {
    None: Inventory,
    "sites": SiteEntry,
    "pools": PoolEntry,
    "servers": ServerEntry,
    "credentials": CredentialEntry,
}
#: What pydantic reads as a boolean from text (not wrong, then).
BOOLEAN_TEXT = {"0", "1", "off", "on", "f", "t", "false", "true", "n", "y", "no", "yes"}
AUTHS = {"negotiate", "ntlm", "kerberos", "credssp", "basic"}
#: A value of a wrong type (or out of range) for each kind of field.
WRONG_FIELD: dict[FieldKind, st.SearchStrategy[object]] = {
    "text": st.none() | NOT_TEXT,
    "optional text": NOT_TEXT,
    "list": NOT_LIST,
    "object": NOT_OBJECT,
    "format": st.none() | NOT_TEXT | TEXT.filter(lambda text: text != "lync-failover-inventory/1"),
    "auth": st.none() | NOT_TEXT | TEXT.filter(lambda text: text not in AUTHS),
    "encryption": st.none() | NOT_TEXT | TEXT.filter(lambda text: text not in ("auto", "always", "never")),
    "version": st.booleans()
    | LISTS
    | OBJECTS
    | st.integers().filter(lambda number: number not in (5, 6, 7, 8)),
    "flag": LISTS | OBJECTS | TEXT.filter(lambda text: text.strip().lower() not in BOOLEAN_TEXT),
}
BROKEN_YAML = ("sites: [", "a: b: c", "sites: *nope", "pools:\n\t- x", "- [", "{", '"unclosed')
#: A place in the inventory document: keys and list indexes from the top.
Where = tuple[str | int, ...]


def bad_inventories(base: Mapping[str, Any]) -> st.SearchStrategy[BadInventory]:
    """An inventory file with one defect, made from the valid inventory ``base``: no file, not JSON or YAML,
    not an object, a key missing or unknown, a wrong type, a reference to nothing, an entry twice, an
    endpoint that is not a WinRM URL."""
    text = json.dumps(base, indent=2)
    entries = entry_paths(base)
    sites = {site["name"] for site in base["sites"]}
    pools = {pool["fqdn"].lower() for pool in base["pools"]}
    credentials = set(base["credentials"])
    endpoint = TEXT.filter(lambda text: "/" not in text and text.isprintable())
    return uniform(
        [
            st.just(BadInventory("no file", None)),
            st.integers(0, len(text) - 1).map(lambda end: BadInventory("not JSON", text[:end])),
            st.sampled_from(BROKEN_YAML).map(
                lambda tail: BadInventory("not YAML", yaml.safe_dump(dict(base)) + tail, ".yaml")
            ),
            NOT_OBJECT.map(lambda value: BadInventory("not an object", json.dumps(value))),
            st.sampled_from(required_paths(base)).map(
                lambda path: written("missing key", removed(base, path))
            ),
            uniform([unknown_key(base, at) for at in [(), *entries]]),
            uniform([wrong_field(base, path) for path in field_paths(base)]),
            referring(base, "pools", "site", TEXT.filter(lambda name: name not in sites)),
            referring(base, "servers", "pool", TEXT.filter(lambda name: name.lower() not in pools)),
            referring(base, "servers", "credential", TEXT.filter(lambda name: name not in credentials)),
            st.sampled_from([at for at in entries if at[0] != "credentials"]).map(
                lambda at: written("listed twice", twice(base, at))
            ),
            st.tuples(
                st.sampled_from(range(len(base["servers"]))), endpoint | st.sampled_from(BAD_ENDPOINTS)
            ).map(
                lambda pair: written("bad endpoint", changed(base, ("servers", pair[0], "endpoint"), pair[1]))
            ),
        ]
    )


BAD_ENDPOINTS = ("ftp://fe01/wsman", "http:///wsman", "http://fe01:99999/wsman", "http://fe01:port/wsman", "")


def entry_paths(base: Mapping[str, Any]) -> list[Where]:
    """Where each entry of the document is: ``("sites", 0)``, ..., ``("credentials", "lab")``."""
    listed: list[Where] = [
        (section, index) for section in ("sites", "pools", "servers") for index in range(len(base[section]))
    ]
    return listed + [("credentials", name) for name in base["credentials"]]


def required_paths(base: Mapping[str, Any]) -> list[Where]:
    """Every required key of the document."""
    paths: list[Where] = [(name,) for name, info in Inventory.model_fields.items() if info.is_required()]
    for at in entry_paths(base):
        model = MODELS[str(at[0])]
        paths += [(*at, name) for name, info in model.model_fields.items() if info.is_required()]
    return paths


def field_paths(base: Mapping[str, Any]) -> list[Where]:
    """Every field the document may hold (present or not)."""
    return [(name,) for name in FIELDS[None]] + [
        (*at, name) for at in entry_paths(base) for name in FIELDS[str(at[0])]
    ]


def unknown_key(base: Mapping[str, Any], at: Where) -> st.SearchStrategy[BadInventory]:
    """A key the entry at ``at`` does not take."""
    fields = MODELS[str(at[0]) if at else None].model_fields
    names = (st.sampled_from(("password", "Fqdn", "hostname", "port")) | TEXT).filter(
        lambda name: name not in fields
    )
    return st.tuples(names, JSON).map(
        lambda pair: written("unknown key", changed(base, (*at, pair[0]), pair[1]))
    )


def wrong_field(base: Mapping[str, Any], path: Where) -> st.SearchStrategy[BadInventory]:
    """The field at ``path`` of a wrong type or out of range."""
    kind = FIELDS[str(path[0]) if len(path) > 1 else None][str(path[-1])]
    return WRONG_FIELD[kind].map(lambda value: written("wrong type", changed(base, path, value)))


def referring(
    base: Mapping[str, Any], section: str, field: str, names: st.SearchStrategy[str]
) -> st.SearchStrategy[BadInventory]:
    """An entry of ``section`` whose ``field`` names nothing the inventory defines."""
    at = st.sampled_from(range(len(base[section])))
    return st.tuples(at, names).map(
        lambda pair: written("reference to nothing", changed(base, (section, pair[0], field), pair[1]))
    )


def written(kind: str, document: object) -> BadInventory:
    """The document as an inventory file."""
    return BadInventory(kind, json.dumps(document, indent=2))


def changed(base: Mapping[str, Any], path: Where, value: object) -> dict[str, Any]:
    """A copy of ``base`` with ``value`` at ``path``."""
    document = copy.deepcopy(dict(base))
    _parent(document, path)[path[-1]] = value
    return document


def removed(base: Mapping[str, Any], path: Where) -> dict[str, Any]:
    """A copy of ``base`` without the key at ``path``."""
    document = copy.deepcopy(dict(base))
    del _parent(document, path)[path[-1]]
    return document


def twice(base: Mapping[str, Any], at: Where) -> dict[str, Any]:
    """A copy of ``base`` listing the entry at ``at`` a second time."""
    document = copy.deepcopy(dict(base))
    section, index = at
    document[str(section)].append(copy.deepcopy(document[str(section)][int(index)]))
    return document


def _parent(document: dict[str, Any], path: Where) -> Any:
    """The list or object that holds the last key of ``path``."""
    parent: Any = document
    for key in path[:-1]:
        parent = parent[key]
    return parent
