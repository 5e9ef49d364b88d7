"""Ask the plugins for their steps: one discovery phase at a time, then the whole plan."""

from __future__ import annotations

import pluggy

from plugins.model import ACTION_PHASES, Context, Plan, StepCall


def plan_phase(pm: pluggy.PluginManager, phase: str, context: Context) -> list[StepCall]:
    """The steps every plugin wants in ``phase``, built-in plugins first (registration order)."""
    answers = pm.hook.lync_failover_plan(phase=phase, context=context)
    return [call for answer in reversed(answers) for call in answer]


def build_plan(pm: pluggy.PluginManager, context: Context) -> Plan:
    """The plan of a run for these facts: every action phase in order. A dry run returns this same plan."""
    calls = [call for phase in ACTION_PHASES for call in plan_phase(pm, phase, context)]
    seen: set[str] = set()
    for call in calls:
        if call.id in seen:
            raise ValueError(f'two planned steps share the id "{call.id}": a plugin must make its ids unique')
        seen.add(call.id)
    return Plan(steps=calls, facts=context.facts)
