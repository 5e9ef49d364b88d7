"""Ask the plugins for their steps: one discovery phase at a time, then the whole plan."""

from __future__ import annotations

import pluggy

from plugins.kit.errors import PreconditionError
from plugins.kit.model import Context, Plan, StepCall
from plugins.kit.versions import VERSIONS


def plan_phase(pm: pluggy.PluginManager, phase: str, context: Context) -> list[StepCall]:
    """The steps every plugin wants in ``phase``, built-in plugins first (registration order)."""
    answers = pm.hook.lync_failover_plan(phase=phase, context=context)
    return [call for answer in reversed(answers) for call in answer]


def build_plan(pm: pluggy.PluginManager, context: Context, phases: tuple[str, ...] | None = None) -> Plan:
    """The plan of a run for these facts: every action phase in order. A dry run returns this same plan.

    PreconditionError when the CMS must fail over and no plugin plans it (a CMS version none handles).
    """
    phases = phases if phases is not None else context.request.phases()[1]
    calls = [call for phase in phases for call in plan_phase(pm, phase, context)]
    cms_planned = "cms" not in phases or any(call.phase == "cms" for call in calls)
    if context.cms_must_fail_over() and not cms_planned:
        raise PreconditionError(_unhandled_cms(context))
    seen: set[str] = set()
    for call in calls:
        if call.id in seen:
            raise ValueError(f'two planned steps share the id "{call.id}": a plugin must make its ids unique')
        seen.add(call.id)
    return Plan(steps=calls, facts=context.facts)


def _unhandled_cms(context: Context) -> str:
    """Why no CMS step is planned: the version found, the versions handled, what to do."""
    version = context.facts.cms_version
    found = (
        f"version {version}"
        if version is not None
        else "an unknown version (Get-CsService -CentralManagement wrote no Version)"
    )
    handled = ", ".join(f"{number} = {version.name}" for number, version in VERSIONS.items())
    return (
        f"the CMS on {context.facts.cms_pool} must fail over, but no plugin fails over a CMS of {found}; "
        f"the built-in plugins handle {handled}. Fail the CMS over by hand (the seed's step 5 or 6) or "
        "install a site plugin that plans it, then run again: completed steps are skipped"
    )
