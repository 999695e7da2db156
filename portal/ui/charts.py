"""Server-rendered charts: small inline SVG (no JavaScript, no build), accessible (role=img, title and
the numbers written next to every bar)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from portal.ui.helpers import number

BAR_HEIGHT, GAP, LABEL_WIDTH, BAR_WIDTH = 20, 6, 230, 300
PALETTE = ("c0", "c1", "c2", "c3", "c4", "c5")


def bars(items: Sequence[tuple[str, int]], classes: Sequence[str] | None = None) -> Markup:
    """Horizontal bars, one per (label, value)."""
    if not items:
        return Markup("")
    top = max(value for _, value in items) or 1
    height = len(items) * (BAR_HEIGHT + GAP)
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {LABEL_WIDTH + BAR_WIDTH + 60} {height}" '
             f'width="100%" xmlns="http://www.w3.org/2000/svg">']
    for index, (label, value) in enumerate(items):
        y = index * (BAR_HEIGHT + GAP)
        width = max(1, round(BAR_WIDTH * value / top)) if value else 0
        css = classes[index] if classes else "c0"
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect class="{css}" x="{LABEL_WIDTH}" y="{y}" width="{width}" height="{BAR_HEIGHT}">'
            f'<title>{escape(label)}: {value}</title></rect>'
            f'<text x="{LABEL_WIDTH + width + 6}" y="{y + 15}">{escape(number(value))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every label and value is escaped above)


def columns(items: Sequence[tuple[str, int]]) -> Markup:
    """Vertical columns over time (label under each)."""
    return stacked_columns([label for label, _ in items], [("", [value for _, value in items])])


def stacked_columns(labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]) -> Markup:
    """Columns per label, stacked by series (with a legend when there are several series)."""
    if not labels:
        return Markup("")
    totals = [sum(values[i] for _, values in series) for i in range(len(labels))]
    top = max(totals) or 1
    plot_height, column_width, step = 140, 28, 44
    width = max(len(labels) * step + 20, 200)
    legend_height = 22 if len(series) > 1 else 0
    top_margin = 16
    total_height = plot_height + 40 + legend_height + top_margin
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {total_height}" width="{width}" '
             f'height="{total_height}" xmlns="http://www.w3.org/2000/svg">']
    for i, label in enumerate(labels):
        x = 10 + i * step
        y = plot_height + 10 + top_margin
        for s, (name, values) in enumerate(series):
            value = values[i]
            if not value:
                continue
            h = round(plot_height * value / top)
            y -= h
            parts.append(f'<rect class="{PALETTE[s % len(PALETTE)]}" x="{x}" y="{y}" width="{column_width}" '
                         f'height="{h}"><title>{escape(name or label)}: {value}</title></rect>')
        parts.append(f'<text x="{x + column_width / 2}" y="{y - 3}" text-anchor="middle" class="small">'
                     f'{escape(number(totals[i]))}</text>' if totals[i] else "")
        parts.append(f'<text x="{x + column_width / 2}" y="{plot_height + 26 + top_margin}" '
                     f'text-anchor="middle" '
                     f'class="small">{escape(label)}</text>')
    if len(series) > 1:
        for s, (name, _values) in enumerate(series):
            x = 10 + s * 110
            legend_y = plot_height + 36 + top_margin
            colour = PALETTE[s % len(PALETTE)]
            parts.append(f'<rect class="{colour}" x="{x}" y="{legend_y}" width="12" height="12"/>'
                         f'<text x="{x + 16}" y="{legend_y + 11}" class="small">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every label and value is escaped above)
