"""docs/plugins.md documents every hook with its exact signature, datasette-style, and nothing else."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from plugins.decisions import TRANSIENT_CATEGORIES
from plugins.kit import hookspecs

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def hook_signatures() -> dict[str, str]:
    """Each hookspec as ``name(params) -> return``, from the code."""
    return {
        name: f"{name}{inspect.signature(function)}".replace("'", "")
        for name, function in vars(hookspecs).items()
        if name.startswith("lync_failover_") and callable(function)
    }


def documented_signatures() -> dict[str, str]:
    """Each ``### lync_failover_...`` heading of the plugin guide."""
    headings = re.findall(r"^### (lync_failover_\w+.*)$", DOCS.read_text(), flags=re.MULTILINE)
    return {heading.split("(", 1)[0]: heading.strip() for heading in headings}


def test_every_hook_has_a_heading_with_its_exact_signature() -> None:
    assert documented_signatures() == hook_signatures()


def test_the_retried_error_categories_are_listed_in_the_hookspec_and_the_guide() -> None:
    hookspec = " ".join((hookspecs.lync_failover_classify_error.__doc__ or "").split())
    guide = " ".join(DOCS.read_text().split("### lync_failover_classify_error", 1)[1].split("###")[0].split())

    assert [category for category in sorted(TRANSIENT_CATEGORIES) if category not in hookspec] == []
    assert [category for category in sorted(TRANSIENT_CATEGORIES) if category not in guide] == []


def test_the_guide_s_complete_example_is_the_example_plugin_word_for_word() -> None:
    example = DOCS.parent.parent / "tests" / "example_site_plugin"
    guide = DOCS.read_text()

    assert f"```python\n{(example / 'lync_failover_example_site.py').read_text()}```" in guide
    assert f"```toml\n{(example / 'pyproject.toml').read_text()}```" in guide
