"""A horizontal bar chart as inline SVG, rendered on the server: no script,
no style attributes (the CSP forbids them), a title and description for
screen readers. Pages always put the same numbers in a table next to it."""

from __future__ import annotations

from markupsafe import Markup, escape

ROW = 28
LABEL_W = 230
BAR_W = 360
VALUE_W = 60


def bar_chart(rows: list[tuple[str, int]], title: str, description: str, ident: str) -> Markup:
    """``rows`` are (label, count) pairs, labels already translated."""
    top = max((n for _, n in rows), default=0) or 1
    height = ROW * max(len(rows), 1) + 8
    width = LABEL_W + BAR_W + VALUE_W
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" aria-labelledby="{ident}-title {ident}-desc">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
    ]
    for i, (label, count) in enumerate(rows):
        y = 4 + i * ROW
        bar = max(round(BAR_W * count / top), 2)
        short = label if len(label) <= 30 else label[:29] + "…"
        parts.append(
            f'<g><text x="{LABEL_W - 8}" y="{y + 18}" text-anchor="end" fill="#1b1b1b" font-size="14">{escape(short)}</text>'
            f'<rect x="{LABEL_W}" y="{y + 4}" width="{bar}" height="{ROW - 10}" fill="#0b4f8a"></rect>'
            f'<text x="{LABEL_W + bar + 6}" y="{y + 18}" fill="#1b1b1b" font-size="14">{count}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
