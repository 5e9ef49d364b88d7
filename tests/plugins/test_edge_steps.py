"""The Edge remedy's steps over scripted cmdlet answers: what they move, publish and verify."""

from __future__ import annotations

from collections.abc import Mapping

import pluggy

from plugins.kit.model import Context, Decision, PoolInfo, StepCall, Topology
from plugins.kit.shell import CmdletError, ParameterValue
from plugins.manager import step_registry
from tests.plugins.scripted_shell import ScriptedShell
from tests.plugins.test_planning import FE1, HEALTHY_CMS, NEXT_HOP_ERROR, POOL1, POOL2, POOL3, context

EDGE1, EDGE2 = "edge1.contoso.com", "edge2.contoso.com"


class EdgeLab:
    """Each Edge pool's next hop, answered by Get-CsService -EdgeServer and changed by Set-CsEdgeServer."""

    def __init__(self, hops: dict[str, str]) -> None:
        self.hops = hops
        self.shell = ScriptedShell({"Get-CsService": self.edge_service, "Set-CsEdgeServer": self.set_edge})

    def edge_service(self, parameters: Mapping[str, ParameterValue]) -> list[dict[str, object]]:
        edge = str(parameters["PoolFqdn"])
        return [{"PoolFqdn": edge, "Registrar": f"Registrar:{self.hops[edge]}"}]

    def set_edge(self, parameters: Mapping[str, ParameterValue]) -> list[dict[str, object]]:
        edge = str(parameters["Identity"]).split(":", 1)[1]
        self.hops[edge] = str(parameters["Registrar"]).split(":", 1)[1]
        return []

    def run(self, pm: pluggy.PluginManager, ctx: Context, calls: list[StepCall]) -> list[str]:
        """Run each call as the runner does (check, then action unless skipped); what each concluded."""
        registry = step_registry(pm)
        outcomes = []
        for call in calls:
            spec = registry[call.step]
            skipped = spec.check(self.shell, ctx, call) if spec.check else None
            outcomes.append(f"{call.step}: " + (skipped or spec.action(self.shell, ctx, call).summary))
        return outcomes


def next_hop_refused(pm: pluggy.PluginManager, ctx: Context) -> Decision:
    error = CmdletError(FE1, "Invoke-CsPoolFailover", NEXT_HOP_ERROR, category="InvalidOperation")
    decision: Decision = pm.hook.lync_failover_classify_error(step="pool.fail_over", error=error, context=ctx)
    return decision


def two_edges() -> Context:
    """edge1 (Datacenter1) and edge2 (Datacenter2) in the inventory, pool3 in Datacenter1."""
    ctx = context(HEALTHY_CMS)
    edge2 = PoolInfo(fqdn=EDGE2, site="Datacenter2", role="Edge", servers=["edge01.edge2.contoso.com"])
    return ctx.model_copy(update={"topology": Topology(pools=[*ctx.topology.pools, edge2])})


def test_the_remedy_leaves_an_edge_that_never_used_the_failed_pool_alone(pm: pluggy.PluginManager) -> None:
    ctx = two_edges()
    lab = EdgeLab({EDGE1: POOL1, EDGE2: POOL3})  # edge2's own site would pick pool2, but it uses pool3

    outcomes = lab.run(pm, ctx, next_hop_refused(pm, ctx).remedy)

    assert lab.hops == {EDGE1: POOL3, EDGE2: POOL3}
    assert outcomes[3:] == [
        f"edge.move_next_hop: {EDGE2} uses {POOL3}, not the failed pool",
        f"edge.publish_topology: {EDGE2} was not moved to {POOL2}: nothing to publish",
        f"edge.verify_next_hop: {EDGE2} uses {POOL3} as next hop, not the failed pool",
    ]
    assert [line for line in lab.shell.sent if "Enable-CsTopology" in line] == [
        "fe01.pool3.contoso.com Enable-CsTopology"
    ]


def test_a_next_hop_error_without_edge_pools_in_the_inventory_fails_saying_so(
    pm: pluggy.PluginManager,
) -> None:
    ctx = context(HEALTHY_CMS)
    no_edges = Topology(pools=ctx.topology.front_end_pools())

    decision = next_hop_refused(pm, ctx.model_copy(update={"topology": no_edges}))

    assert decision.action == "fail" and not decision.remedy
    assert "no Edge pool in the inventory" in decision.reason
