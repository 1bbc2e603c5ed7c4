"""The analytics page's charts as inline SVG drawn on the server: no script, no CDN, no
inline style (the console's Content-Security-Policy allows neither); colours come from
classes in console.css. Each chart has a title and an accessible name, and every bar or
point a <title> with its figure, so the numbers are there for screen readers too."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from dealpilot.analytics.emails import EmailFigures
from dealpilot.analytics.engagement import PipelineTiers
from dealpilot.analytics.funnel import PipelineFunnel

WIDTH = 640


def _svg(height: int, label: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>'
        + "".join(body)
        + "</svg>"
    )


def funnel_chart(p: PipelineFunnel) -> Markup:
    """One bar per stage, as long as the deals that reached it (the widest stage is full)."""
    row, label_w = 26, 170
    top = max((s.reached for s in p.stages), default=0) or 1
    body = []
    for i, s in enumerate(p.stages):
        y = i * row + 4
        width = round((WIDTH - label_w - 60) * s.reached / top)
        tip = f"{s.name}: {s.reached} deals reached it"
        if s.next_stage_id is not None:
            tip += f", {s.conversion_rate:.0%} went on"
        body.append(
            f'<text x="0" y="{y + 15}" class="chart-label">{escape(s.name[:24])}</text>'
            f'<rect x="{label_w}" y="{y}" width="{max(width, 1)}" height="{row - 8}" '
            f'class="bar bar-{escape(s.kind)}"><title>{escape(tip)}</title></rect>'
            f'<text x="{label_w + width + 6}" y="{y + 15}" class="chart-value">{s.reached}</text>'
        )
    return _svg(len(p.stages) * row + 8, f"Funnel of {p.pipeline_name}", body)


SERIES = (("open_rate", "opens"), ("click_rate", "clicks"), ("reply_rate", "replies"))


def rates_chart(days: Sequence[EmailFigures]) -> Markup:
    """Human open, click and reply rates per day (fractions of the day's sends)."""
    height, left, bottom, top_pad = 236, 40, 24, 26
    plot_w, plot_h = WIDTH - left - 10, height - bottom - top_pad
    peak = max((getattr(d, k) for d in days for k, _ in SERIES), default=0.0) or 1.0
    step = plot_w / max(len(days) - 1, 1)
    body = [
        f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{WIDTH - 10}" y2="{top_pad + plot_h}" '
        'class="axis"/>',
        f'<text x="0" y="{top_pad + 8}" class="chart-value">{peak:.0%}</text>',
        f'<text x="0" y="{top_pad + plot_h}" class="chart-value">0%</text>',
    ]
    if days:
        body.append(
            f'<text x="{left}" y="{height - 6}" class="chart-value">{escape(days[0].key)}</text>'
            f'<text x="{WIDTH - 90}" y="{height - 6}" class="chart-value">'
            f"{escape(days[-1].key)}</text>"
        )
    for key, name in SERIES:
        points = []
        for i, d in enumerate(days):
            x = round(left + i * step, 1)
            y = round(top_pad + plot_h - plot_h * getattr(d, key) / peak, 1)
            points.append((x, y, d))
        line = " ".join(f"{x},{y}" for x, y, _ in points)
        body.append(f'<polyline points="{line}" class="line line-{name}"/>')
        for x, y, d in points:
            if d.sent:
                tip = f"{d.key}: {name} {getattr(d, key):.1%} of {d.sent} sent"
                body.append(
                    f'<circle cx="{x}" cy="{y}" r="3" class="dot line-{name}">'
                    f"<title>{escape(tip)}</title></circle>"
                )
    legend_x = left
    for _key, name in SERIES:
        body.append(
            f'<rect x="{legend_x}" y="5" width="10" height="4" class="key line-{name}"/>'
            f'<text x="{legend_x + 14}" y="12" class="chart-value">{name}</text>'
        )
        legend_x += 80
    return _svg(height, "Open, click and reply rates per day", body)


def tiers_chart(pipelines: Sequence[PipelineTiers]) -> Markup:
    """One stacked bar per pipeline: its deals by engagement tier."""
    row, label_w = 28, 170
    plot_w = WIDTH - label_w - 10
    body = []
    for i, p in enumerate(pipelines):
        y = i * row + 22
        body.append(
            f'<text x="0" y="{y + 14}" class="chart-label">{escape(p.pipeline_name[:24])}</text>'
        )
        x = float(label_w)
        for t in p.tiers:
            if not t.deals:
                continue
            width = plot_w * t.deals / (p.deals or 1)
            tip = f"{p.pipeline_name}: {t.tier} {t.deals} ({t.share:.0%})"
            body.append(
                f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{row - 8}" '
                f'class="tier-bar tier-{escape(t.tier)}"><title>{escape(tip)}</title></rect>'
            )
            x += width
    legend_x = 0
    tiers = pipelines[0].tiers if pipelines else []
    for t in tiers:
        body.append(
            f'<rect x="{legend_x}" y="2" width="10" height="10" '
            f'class="tier-bar tier-{escape(t.tier)}"/>'
            f'<text x="{legend_x + 14}" y="11" class="chart-value">{escape(t.tier)}</text>'
        )
        legend_x += 80
    return _svg(len(pipelines) * row + 26, "Deals by engagement tier per pipeline", body)
