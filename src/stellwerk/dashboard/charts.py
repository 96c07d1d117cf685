"""Charts as inline SVG, drawn on the server: no JavaScript, no CDN, readable when printed.

Each function returns markup that Jinja2 inserts as-is, so every text that comes from data is
escaped here. Colours come from one palette that stays distinguishable on a projector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

PALETTE = (
    "#1f6feb",
    "#e36209",
    "#2da44e",
    "#a371f7",
    "#cf222e",
    "#0fa5a5",
    "#bf8700",
    "#8c959f",
    "#d12d9c",
    "#57606a",
)


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float
    text: str  # the value as shown (already formatted for the page's language)


def bars(items: Sequence[Bar], *, title: str, width: int = 520, fill: str | None = None) -> Markup:
    """Horizontal bars, one per item, in the order given; ``fill``: one colour for all."""
    row, label_w, text_w = 30, 150, 90
    height = max(1, len(items)) * row + 6
    top = max((i.value for i in items), default=0.0) or 1.0
    span = width - label_w - text_w
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for n, item in enumerate(items):
        y = n * row + 4
        length = max(2.0, span * item.value / top) if item.value > 0 else 0.0
        label = _clip(item.label, 20)
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end" class="lbl"{_fit(label)}>'
            f"{escape(label)}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="20" rx="3" '
            f'fill="{fill or colour(n)}">'
            f"<title>{escape(item.label)}: {escape(item.text)}</title></rect>"
            f'<text x="{label_w + length + 6:.1f}" y="{y + 17}" class="val">'
            f"{escape(item.text)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[float]  # one per column


def stacked_columns(
    columns: Sequence[str], series: Sequence[Series], *, title: str, width: int = 640
) -> Markup:
    """Columns (e.g. days) stacked by series (e.g. models), scaled to 100 % per column."""
    height, bottom, left = 200, 24, 34
    plot_h = height - bottom - 6
    n = max(1, len(columns))
    step = (width - left) / n
    bar_w = max(2.0, step * 0.8)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for pct in (0, 50, 100):
        y = 6 + plot_h * (1 - pct / 100)
        parts.append(
            f'<line x1="{left}" x2="{width}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" class="axis">{pct}%</text>'
        )
    for c, column in enumerate(columns):
        total = sum(s.values[c] for s in series) or 0.0
        x = left + c * step + (step - bar_w) / 2
        y = 6.0 + plot_h
        for k, s in enumerate(series):
            value = s.values[c]
            if total <= 0 or value <= 0:
                continue
            h = plot_h * value / total
            y -= h
            share = 100 * value / total
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{colour(k)}"><title>{escape(column)} {escape(s.name)}: '
                f"{share:.0f}%</title></rect>"
            )
        if n <= 16 or c % max(1, n // 8) == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - 6}" text-anchor="middle" '
                f'class="axis">{escape(column)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


NEUTRAL = PALETTE[0]
"""The colour of a quantity that is neither good nor bad (as the requests per day are drawn)."""


def meter(
    fraction: float | None, *, title: str, width: int = 320, fill: str | None = None
) -> Markup:
    """A horizontal gauge from 0 to 100 %. Without ``fill``, a limit's: green, amber from 80 %,
    red at 100 % and past (e.g. budget used); ``fill``: one colour whatever the fraction, for a
    share that has no limit (e.g. ``NEUTRAL``)."""
    if fraction is None:
        return Markup("")
    shown = min(max(fraction, 0.0), 1.0)
    if fill is None:
        fill = "#cf222e" if fraction >= 1 else ("#bf8700" if fraction >= 0.8 else "#2da44e")
    return Markup(
        f'<svg class="chart meter" viewBox="0 0 {width} 22" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<rect x="0" y="3" width="{width}" height="16" rx="8" class="track"/>'
        f'<rect x="0" y="3" width="{width * shown:.1f}" height="16" rx="8" fill="{fill}"/></svg>'
    )


def legend(names: Sequence[str]) -> Markup:
    """The names with their colours: each swatch a small SVG whose ``fill`` is an attribute,
    since the page's content security policy refuses ``style`` attributes."""
    items = "".join(
        f'<li><svg class="swatch" viewBox="0 0 10 10" aria-hidden="true">'
        f'<rect width="10" height="10" rx="2" fill="{colour(i)}"/></svg>{escape(name)}</li>'
        for i, name in enumerate(names)
    )
    return Markup(f'<ul class="legend">{items}</ul>')


LABEL_ROOM = 138
"""The width a bar's label may take left of its bar (of ``bars``' 150, less the gap to the bar
and a margin), in the chart's units."""


def _fit(label: str) -> str:
    """``textLength`` for a label that may be wider than ``LABEL_ROOM`` at the chart's 13 px:
    the browser then fits it to that width (a 20-character model id of wide letters,
    ``llama-3.1-nemotron-…``, ran out of the chart on the left and lost its first letter). A
    shorter label is left as the font draws it."""
    return (
        ""
        if len(label) * 7.0 <= LABEL_ROOM
        else (f' textLength="{LABEL_ROOM}" lengthAdjust="spacingAndGlyphs"')
    )


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"
