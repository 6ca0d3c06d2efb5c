"""The "who is heard" bar of a theme in a workshop pack, drawn as a small SVG by hand.

A pack shows one bar per theme; drawing it with matplotlib made every pack page import
matplotlib into the web process (about 40 MB) and spend most of its time drawing. This is a
few lines of text instead, the same for the page and the printed pack (WeasyPrint draws
SVG). The colours are the theme charts' (themes.charts). The picture has its text
alternative in <title> and <desc>, and the page gives the same words in the img's alt."""

from xml.sax.saxutils import escape

from themes.charts import ROLE_COLOURS

WIDTH = 640
LEFT, RIGHT = 16, 16
BAR_TOP, BAR_HEIGHT = 44, 36
LEGEND_ROW = 24
FONT = "DejaVu Sans, Arial, Helvetica, sans-serif"


def _ticks(total: int) -> list[int]:
    """Whole numbers from 0 to total, at most about six of them."""
    step = 1
    for candidate in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        step = candidate
        if total / candidate <= 6:
            break
    else:
        step = max(1, total // 5)
    return list(range(0, total + 1, step))


def who_is_heard_bar(counts: list[tuple[str, int]], *, description: str = "") -> bytes:
    """One stacked bar: how many different storytellers of each kind (label, count) speak
    to a theme, with a legend giving each kind and its number in words."""
    counts = [(label, n) for label, n in counts if n]
    total = sum(n for _, n in counts) or 1
    inner = WIDTH - LEFT - RIGHT
    axis_y = BAR_TOP + BAR_HEIGHT
    legend_top = axis_y + 44
    height = legend_top + LEGEND_ROW * len(counts) + 8
    title = "Who is heard in this theme"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="t d" '
        f'font-family="{FONT}" font-size="14">',
        f'<title id="t">{escape(title)}</title>',
        f'<desc id="d">{escape(description)}</desc>',
        f'<text x="{WIDTH / 2:g}" y="24" text-anchor="middle" font-size="16">{title}</text>',
    ]
    x = float(LEFT)
    for index, (label, n) in enumerate(counts):
        width = inner * n / total
        colour = ROLE_COLOURS[index % len(ROLE_COLOURS)]
        parts.append(
            f'<rect x="{x:.1f}" y="{BAR_TOP}" width="{width:.1f}" height="{BAR_HEIGHT}" '
            f'fill="{colour}"><title>{escape(label)}: {n}</title></rect>'
        )
        if width >= 24:
            parts.append(
                f'<text x="{x + width / 2:.1f}" y="{BAR_TOP + BAR_HEIGHT / 2 + 5:g}" '
                f'text-anchor="middle" fill="#ffffff" font-weight="bold">{n}</text>'
            )
        x += width
    parts.append(
        f'<line x1="{LEFT}" y1="{axis_y}" x2="{WIDTH - RIGHT}" y2="{axis_y}" stroke="#333333"/>'
    )
    for tick in _ticks(total):
        tx = LEFT + inner * tick / total
        parts.append(
            f'<line x1="{tx:.1f}" y1="{axis_y}" x2="{tx:.1f}" y2="{axis_y + 5}" '
            f'stroke="#333333"/><text x="{tx:.1f}" y="{axis_y + 19}" text-anchor="middle" '
            f'font-size="12">{tick}</text>'
        )
    parts.append(
        f'<text x="{WIDTH / 2:g}" y="{axis_y + 36}" text-anchor="middle" font-size="12">'
        "Different storytellers</text>"
    )
    for index, (label, n) in enumerate(counts):
        y = legend_top + LEGEND_ROW * index
        colour = ROLE_COLOURS[index % len(ROLE_COLOURS)]
        parts.append(
            f'<rect x="{LEFT}" y="{y}" width="16" height="16" fill="{colour}"/>'
            f'<text x="{LEFT + 24}" y="{y + 13}">{escape(label)}: {n}</text>'
        )
    parts.append("</svg>")
    return "".join(parts).encode("utf-8")
