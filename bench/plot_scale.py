"""Draws docs/operator-scale.svg from the scale benchmark's results: time to Synced, the operator's
peak memory and the apiserver requests against N ManagedSecrets.

Reads bench/results/operator_scale.jsonl (one JSON object per run, as ``bench.operator_scale``
appends them); for each N the latest run wins, and a quantity a run did not measure is left out of
that panel. Plain SVG written here: no plotting library to install, and the file diffs as text.

Run:  .venv/bin/python -m bench.plot_scale [--results FILE] [--out docs/operator-scale.svg]
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path
from typing import Any

from bench.operator_scale import RESULTS

OUT = Path(__file__).resolve().parents[1] / "docs" / "operator-scale.svg"
PANELS = (
    ("all_synced_seconds", "Time to all Synced", "s"),
    ("operator_peak_rss_mib", "Operator peak memory (VmHWM)", "MiB"),
    ("apiserver_requests_to_synced", "apiserver requests until Synced", "requests"),
)
WIDTH, HEIGHT = 300, 240
LEFT, RIGHT, TOP, BOTTOM = 58, 26, 40, 40


def latest_by_size(runs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One run per N: the last one in the file."""
    by_size: dict[int, dict[str, Any]] = {}
    for run in runs:
        by_size[int(run["secrets"])] = run
    return [by_size[n] for n in sorted(by_size)]


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    return next(step * magnitude for step in (1, 2, 2.5, 5, 10) if step * magnitude >= value)


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def panel(x0: float, points: Sequence[tuple[int, float]], title: str, unit: str, sizes: Sequence[int]) -> str:
    """One chart: N on a log axis, the quantity on a linear axis from 0."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    low, high = math.log10(min(sizes)), math.log10(max(sizes))
    span = (high - low) or 1.0
    top = _nice_max(max((v for _, v in points), default=1.0))

    def x(n: int) -> float:
        return x0 + LEFT + (0.08 + 0.84 * (math.log10(n) - low) / span) * plot_w

    def y(v: float) -> float:
        return TOP + plot_h - v / top * plot_h

    left, bottom = x0 + LEFT, TOP + plot_h
    parts = [
        f'<text x="{x0 + WIDTH / 2}" y="18" text-anchor="middle" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{left}" y1="{bottom}" x2="{left + plot_w}" y2="{bottom}" stroke="#333"/>',
        f'<line x1="{left}" y1="{TOP}" x2="{left}" y2="{bottom}" stroke="#333"/>',
        f'<text x="{left + plot_w / 2}" y="{HEIGHT - 6}" text-anchor="middle">'
        "ManagedSecrets (N, log scale)</text>",
    ]
    for i in range(5):
        value = top * i / 4
        parts.append(
            f'<line x1="{x0 + LEFT}" y1="{y(value):.1f}" x2="{x0 + LEFT + plot_w}" y2="{y(value):.1f}" '
            'stroke="#ddd"/>'
            f'<text x="{x0 + LEFT - 4}" y="{y(value) + 4:.1f}" text-anchor="end">{_number(value)}</text>'
        )
    for n in sizes:
        parts.append(f'<text x="{x(n):.1f}" y="{TOP + plot_h + 14}" text-anchor="middle">{n:,}</text>')
    parts.append(f'<text x="{left}" y="{TOP - 10}" text-anchor="middle" fill="#555">{escape(unit)}</text>')
    if not points:
        parts.append(
            f'<text x="{x0 + LEFT + plot_w / 2}" y="{TOP + plot_h / 2}" text-anchor="middle" fill="#999">'
            "not measured yet</text>"
        )
        return "\n".join(parts)
    path = " ".join(f"{x(n):.1f},{y(v):.1f}" for n, v in points)
    parts.append(f'<polyline points="{path}" fill="none" stroke="#1f6feb" stroke-width="2"/>')
    for n, v in points:
        parts.append(
            f'<circle cx="{x(n):.1f}" cy="{y(v):.1f}" r="3.5" fill="#1f6feb"/>'
            f'<text x="{x(n) + 6:.1f}" y="{y(v) - 6:.1f}" fill="#1f6feb">{_number(v)}</text>'
        )
    return "\n".join(parts)


def render(runs: Sequence[dict[str, Any]]) -> str:
    sizes = [int(run["secrets"]) for run in runs]
    if not sizes:
        raise ValueError("no benchmark results to plot")
    charts = []
    for i, (key, title, unit) in enumerate(PANELS):
        points = [(int(run["secrets"]), float(run[key])) for run in runs if run.get(key) is not None]
        charts.append(panel(i * WIDTH, points, title, unit, sizes))
    total_w = WIDTH * len(PANELS)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{HEIGHT}" '
        f'viewBox="0 0 {total_w} {HEIGHT}" font-family="sans-serif" font-size="11">\n'
        f'<rect width="{total_w}" height="{HEIGHT}" fill="white"/>\n' + "\n".join(charts) + "\n</svg>\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    lines = args.results.read_text().splitlines()
    runs = latest_by_size(json.loads(line) for line in lines if line.strip())
    args.out.write_text(render(runs))
    print(f"wrote {args.out} ({len(runs)} sizes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
