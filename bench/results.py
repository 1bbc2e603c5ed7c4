"""The figures of a `make bench` run, gathered into `bench/results/latest.md` and a chart.

A benchmark calls `record(...)` for each figure it prints that has a baseline measured in the
same run. When `python -m bench` runs it, `BENCH_RESULTS` names a JSON-lines file and every
record is appended there; run alone, `record` does nothing (the printed table is the output).
`python -m bench` then writes the report with `write_report`: a table per benchmark (figure,
value, baseline, ratio, target and whether it is met), `ratios.svg`, a bar per ratio with its
target marked, drawn by hand (no plotting library, no CDN), and `figures.jsonl`, from which a
run of some benchmarks only keeps the others' figures."""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

RESULTS_ENV = "BENCH_RESULTS"
RESULTS_DIR = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Figure:
    bench: str
    name: str  # what was measured, e.g. "pixel req/s at 16 connections"
    value: float
    baseline: float
    baseline_name: str  # what the baseline is, e.g. "bare FastAPI endpoint"
    unit: str
    ratio: float  # as the benchmark defines it (value / baseline unless it says otherwise)
    target: str | None = None  # ">= 0.5" or "<= 2": the ratio the issue asks for
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        op, _, number = self.target.partition(" ")
        goal = float(number)
        return self.ratio >= goal if op == ">=" else self.ratio <= goal


def record(
    bench: str,
    name: str,
    *,
    value: float,
    baseline: float,
    baseline_name: str,
    unit: str,
    ratio: float | None = None,
    target: str | None = None,
    note: str = "",
) -> Figure:
    """One figure and its baseline; appended to `$BENCH_RESULTS` when `python -m bench` runs."""
    if target is not None and target.partition(" ")[0] not in (">=", "<="):
        raise ValueError(f"target must be '>= x' or '<= x', not {target!r}")
    figure = Figure(
        bench=bench,
        name=name,
        value=value,
        baseline=baseline,
        baseline_name=baseline_name,
        unit=unit,
        ratio=value / baseline if ratio is None else ratio,
        target=target,
        note=note,
    )
    path = os.environ.get(RESULTS_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(figure)) + "\n")
    return figure


def load(path: Path) -> list[Figure]:
    if not path.exists():
        return []
    return [Figure(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def _number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def markdown(figures: Sequence[Figure], *, header: Sequence[str], failed: Sequence[str]) -> str:
    lines = ["# Benchmark results", "", *header, ""]
    if failed:
        lines += [f"**Failed:** {', '.join(failed)} (no figures from them).", ""]
    lines += ["![ratios](ratios.svg)", ""]
    benches = list(dict.fromkeys(f.bench for f in figures))
    for bench in benches:
        lines += [
            f"## bench.{bench}",
            "",
            "| figure | value | baseline | ratio | target | met |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for f in (f for f in figures if f.bench == bench):
            met = {None: "", True: "yes", False: "**no**"}[f.met]
            note = f" ({f.note})" if f.note else ""
            lines.append(
                f"| {f.name}{note} | {_number(f.value)} {f.unit} | {_number(f.baseline)} {f.unit}"
                f" ({f.baseline_name}) | {f.ratio:.2f} | {f.target or ''} | {met} |"
            )
        lines.append("")
    return "\n".join(lines)


def chart(figures: Sequence[Figure]) -> str:
    """Horizontal bars of each ratio on a log scale (0.01 to 100), the target as a tick; green
    where the target is met, red where it is not, grey where there is none."""
    import math

    row, left, width = 22, 360, 420
    height = row * len(figures) + 50
    lo, hi = math.log10(0.01), math.log10(100)

    def x(ratio: float) -> float:
        r = min(max(ratio, 0.01), 100)
        return left + (math.log10(r) - lo) / (hi - lo) * width

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 60}" height="{height}" '
        'font-family="sans-serif" font-size="11">',
        f'<text x="{left}" y="14">ratio to the baseline measured in the same run (log scale)'
        "</text>",
    ]
    for tick in (0.01, 0.1, 0.5, 1, 10, 100):
        tx = x(tick)
        parts.append(
            f'<line x1="{tx:.1f}" y1="22" x2="{tx:.1f}" y2="{height - 20}" stroke="#ddd"/>'
            f'<text x="{tx:.1f}" y="{height - 6}" text-anchor="middle">{tick:g}</text>'
        )
    for i, f in enumerate(figures):
        y = 26 + i * row
        colour = {None: "#999", True: "#2a8a3e", False: "#c0392b"}[f.met]
        label = html.escape(f"{f.bench}: {f.name}")[:70]
        parts.append(
            f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{label}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{max(x(f.ratio) - left, 1):.1f}" height="14" '
            f'fill="{colour}"/><text x="{x(f.ratio) + 4:.1f}" y="{y + 14}">{f.ratio:.2f}</text>'
        )
        if f.target:
            tx = x(float(f.target.partition(" ")[2]))
            parts.append(
                f'<line x1="{tx:.1f}" y1="{y + 1}" x2="{tx:.1f}" y2="{y + 19}" stroke="#000" '
                'stroke-width="2"/>'
            )
    parts.append("</svg>")
    return "\n".join(parts)


def write_report(
    figures: Sequence[Figure],
    *,
    header: Sequence[str],
    failed: Sequence[str],
    out: Path = RESULTS_DIR,
) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "figures.jsonl").write_text("".join(json.dumps(asdict(f)) + "\n" for f in figures))
    (out / "ratios.svg").write_text(chart(figures))
    report = out / "latest.md"
    report.write_text(markdown(figures, header=header, failed=failed))
    return report
