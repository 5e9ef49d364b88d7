"""The audit report as one self-contained HTML file: a drawn timeline (inline SVG), a legend, the tables."""

from __future__ import annotations

import math
from html import escape

from tasks.run import OUTCOMES
from worker.console.audit import Audit, Bar, duration_text
from worker.console.report_text import Section, sections

COLOURS = {
    "succeeded": "#2e7d32",
    "retried": "#ef8f00",
    "skipped": "#9e9e9e",
    "failed": "#c62828",
    "cancelled": "#6d4c41",
    "unfinished": "#64b5f6",
}
LEGEND = {
    "succeeded": "succeeded (a waiting step: after N checks)",
    "retried": "succeeded after retries",
    "skipped": "skipped (already in place)",
    "failed": "failed",
    "cancelled": "cancelled by an operator",
    "unfinished": "not finished",
}
WIDTH, LABEL_WIDTH, RIGHT_MARGIN = 1240, 360, 24
ROW, BAR_HEIGHT, AXIS = 30, 18, 34

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2933; margin: 24px 32px;
       background: #fafbfc; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.meta { color: #52606d; margin-bottom: 12px; }
.state { display: inline-block; padding: 2px 10px; border-radius: 12px; color: #fff; font-weight: 600; }
.error { background: #fdecea; border-left: 4px solid #c62828; padding: 8px 12px; margin: 12px 0; }
.legend { display: flex; gap: 22px; margin: 6px 0 10px; flex-wrap: wrap; }
.legend span.swatch { display: inline-block; width: 14px; height: 14px; border-radius: 3px;
                      vertical-align: -2px; margin-right: 6px; }
.timeline { background: #fff; border: 1px solid #d9e2ec; border-radius: 6px; }
svg text { font: 12px system-ui, -apple-system, "Segoe UI", sans-serif; fill: #1f2933; }
svg text.server { fill: #7b8794; font-size: 11px; }
svg text.tick { fill: #7b8794; font-size: 11px; }
table { border-collapse: collapse; background: #fff; width: 100%; font-size: 13px; }
th, td { border: 1px solid #d9e2ec; padding: 4px 8px; text-align: left; vertical-align: top;
         overflow-wrap: anywhere; }
th { background: #f0f4f8; } td code, pre { font: 12px ui-monospace, Consolas, monospace; }
pre { background: #f0f4f8; padding: 8px; white-space: pre-wrap; margin: 4px 0; }
"""


def render_html(audit: Audit) -> str:
    """The report page; it references no external file, script or font."""
    run = audit.run
    state = run.state
    colour = {"succeeded": COLOURS["succeeded"], "failed": COLOURS["failed"]}.get(state, "#52606d")
    error = f'<div class="error"><b>Error:</b> {escape(run.error)}</div>' if run.error else ""
    tables = "\n".join(_table(section) for section in sections(audit) if section.title != "Timeline")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>lync-failover run {escape(audit.run_id)}</title>
<style>{STYLE}</style></head>
<body>
<h1>{_heading(audit)}
<span class="state" style="background:{colour}">{escape(state)}</span></h1>
<div class="meta">run {escape(audit.run_id)} &middot; started {escape(run.started.isoformat())}</div>
{error}
<h2>Timeline</h2>
{_legend()}
<div class="timeline">{timeline_svg(audit.timeline(), [step.id for step in audit.not_run()])}</div>
{_outputs(audit)}
{tables}
</body></html>
"""


def _heading(audit: Audit) -> str:
    return escape(audit.title)


def timeline_svg(bars: list[Bar], waiting: list[str]) -> str:
    """Steps against time: one row and one bar per step that started, coloured by outcome, its commands as
    ticks; then a row per step that did not start."""
    span = max((bar.end_s for bar in bars), default=0.0) or 1.0
    plot = WIDTH - LABEL_WIDTH - RIGHT_MARGIN
    height = AXIS + ROW * max(1, len(bars) + len(waiting)) + 8

    def x(seconds: float) -> float:
        return LABEL_WIDTH + seconds / span * plot

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" style="width:100%;height:auto" role="img" '
        'aria-label="timeline of the run\'s steps">'
    ]
    for tick in _ticks(span):
        at = f"{x(tick):.1f}"
        parts.append(
            f'<line x1="{at}" y1="{AXIS - 6}" x2="{at}" y2="{height - 4}" stroke="#e4e7eb"/>'
            f'<text class="tick" x="{at}" y="{AXIS - 12}" text-anchor="middle">+{_tick_label(tick)}</text>'
        )
    for index, bar in enumerate(bars):
        top = AXIS + index * ROW
        if index % 2:
            parts.append(f'<rect x="0" y="{top}" width="{WIDTH}" height="{ROW}" fill="#f7f9fb"/>')
        parts.append(f'<text x="10" y="{top + 14}">{escape(_short(bar.step.id))}</text>')
        tries = _tries(bar)
        server = f"{bar.step.server} · {tries}" if tries else bar.step.server
        parts.append(f'<text class="server" x="10" y="{top + 26}">{escape(server)}</text>')
        left = x(bar.start_s)
        width = max(4.0, x(bar.end_s) - left)
        tooltip = (
            f"{bar.step.id} on {bar.step.server}: {bar.step.outcome}{', ' + tries if tries else ''}, "
            f"+{bar.start_s:.1f} s to +{bar.end_s:.1f} s ({duration_text(bar.end_s - bar.start_s)})"
        )
        parts.append(
            f'<rect class="bar" data-step="{escape(bar.step.id)}" data-outcome="{bar.step.outcome}" '
            f'x="{left:.1f}" y="{top + (ROW - BAR_HEIGHT) / 2:.1f}" width="{width:.1f}" '
            f'height="{BAR_HEIGHT}" rx="3" fill="{COLOURS[bar.step.outcome]}">'
            f"<title>{escape(tooltip)}</title></rect>"
        )
        for seconds, result in bar.commands:
            stroke = "#ffffff" if result == "ok" else "#3e0000"
            parts.append(
                f'<line class="command" x1="{x(seconds):.1f}" y1="{top + 9}" x2="{x(seconds):.1f}" '
                f'y2="{top + ROW - 9}" stroke="{stroke}" stroke-width="2" opacity="0.85"/>'
            )
    for index, step_id in enumerate(waiting, len(bars)):
        top = AXIS + index * ROW
        parts.append(
            f'<text class="not-run" x="10" y="{top + 19}" fill-opacity="0.55">'
            f"{escape(_short(step_id))}</text>"
            f'<text class="server" x="{LABEL_WIDTH + 4}" y="{top + 19}">not run</text>'
        )
    if not bars and not waiting:
        parts.append(f'<text x="10" y="{AXIS + 18}">no step has started</text>')
    parts.append("</svg>")
    return "".join(parts)


def _tries(bar: Bar) -> str:
    """``3 attempts``, or ``3 checks`` for a step that waited; "" for a step done at the first go."""
    if bar.step.attempts <= 1:
        return ""
    return f"{bar.step.attempts} checks" if bar.step.waiting else f"{bar.step.attempts} attempts"


def _legend() -> str:
    items = "".join(
        f'<span class="item" data-outcome="{name}"><span class="swatch" style="background:{COLOURS[name]}">'
        f"</span>{LEGEND[name]}</span>"
        for name in OUTCOMES
    )
    tick = (
        '<span class="item"><svg width="34" height="14" style="vertical-align:-2px;margin-right:6px">'
        '<rect width="34" height="14" rx="3" fill="#9e9e9e"/>'
        '<line x1="10" y1="3" x2="10" y2="11" stroke="#fff" stroke-width="2"/>'
        '<line x1="24" y1="3" x2="24" y2="11" stroke="#3e0000" stroke-width="2"/></svg>'
        "a remote command: white ok, dark failed</span>"
    )
    return f'<div class="legend">{items}{tick}</div>'


def _table(section: Section) -> str:
    headers = (
        "".join(f"<th>{escape(header)}</th>" for header in section.headers) if any(section.headers) else ""
    )
    head = f"<thead><tr>{headers}</tr></thead>" if headers else ""
    rows = "".join(
        "<tr>"
        + "".join(f"<td>{_cell(section, column, cell)}</td>" for column, cell in enumerate(row))
        + "</tr>"
        for row in section.rows
    )
    body = rows or f'<tr><td colspan="{len(section.headers)}">(none)</td></tr>'
    return f"<h2>{escape(section.title)}</h2><table>{head}<tbody>{body}</tbody></table>"


def _cell(section: Section, column: int, cell: str) -> str:
    if section.headers[column] in ("command", "commands"):
        return "<br>".join(f"<code>{escape(line)}</code>" for line in cell.splitlines())
    return escape(cell)


def _outputs(audit: Audit) -> str:
    failed = [c for c in audit.commands if c.outcome != "ok"]
    if not failed:
        return ""
    items = "".join(
        f"<p><b>{escape(c.server)}</b>: <code>{escape(c.line)}</code> &rarr; {escape(c.outcome)}</p>"
        f"<pre>{escape(c.output)}</pre>"
        for c in failed
    )
    return f"<h2>Commands that did not succeed</h2>{items}"


def _short(step_id: str) -> str:
    return step_id if len(step_id) <= 48 else step_id[:47] + "…"


def _ticks(span: float) -> list[float]:
    raw = span / 8
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return [index * step for index in range(int(span / step) + 1)]


def _tick_label(seconds: float) -> str:
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{seconds:g} s"
