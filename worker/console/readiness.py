"""A readiness check's findings as verdicts: a pool is ready when every check about it (and about every
pool) passed."""

from __future__ import annotations

from plugins.kit.model import Finding

#: The row of the checks about every pool (the CMS, workers, servers).
EVERY_POOL = "(every pool)"


def verdicts(findings: list[Finding]) -> list[tuple[str, bool, list[str]]]:
    """(pool, ready, what to fix) for each pool the findings name, the checks about every pool first."""
    shared = [f for f in findings if f.pool is None]
    pools = sorted({f.pool for f in findings if f.pool is not None})
    rows = [(EVERY_POOL, shared)] if shared else []
    rows += [(pool, [f for f in findings if f.pool == pool]) for pool in pools]
    return [
        (
            name,
            all(f.ok for f in about),
            [f"{f.check}: {f.detail}. {f.fix}".strip() for f in about if not f.ok],
        )
        for name, about in rows
    ]
