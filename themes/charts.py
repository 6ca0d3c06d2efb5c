"""Pictures of the themes for the admin and for workshop packs: PNG and SVG bytes.

matplotlib (Agg, no display) is imported inside each function, so importing this module
costs nothing; only the chart view and pack export pay for it."""

import io
import textwrap

FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
ROLE_COLOURS = ["#1f6f8b", "#e07a1f", "#5a8f29", "#8e44ad", "#c0392b"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 12, "svg.fonttype": "none", "svg.hashsalt": "storyloom"})
    return plt


def _save(figure, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"Unknown picture format: {fmt}")
    plt = _pyplot()
    buffer = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {}
    figure.savefig(buffer, format=fmt, bbox_inches="tight", dpi=120, metadata=metadata)
    plt.close(figure)
    return buffer.getvalue()


def _short(label: str, width: int = 28) -> str:
    return textwrap.shorten(label, width=width, placeholder="…")


def _empty(plt, message: str):
    figure, axes = plt.subplots(figsize=(6, 2))
    axes.axis("off")
    axes.text(0.5, 0.5, message, ha="center", va="center")
    return figure


def theme_map(themes, *, fmt: str = "png") -> bytes:
    """Themes as circles on a 2-D map (close themes are alike), sized by how many segments
    they hold."""
    plt = _pyplot()
    placed = [t for t in themes if t.map_x is not None and t.map_y is not None]
    if not placed:
        return _save(_empty(plt, "No themes to show yet."), fmt)
    figure, axes = plt.subplots(figsize=(8, 6))
    biggest = max(t.size for t in placed) or 1
    sizes = [300 + 2700 * t.size / biggest for t in placed]
    axes.scatter(
        [t.map_x for t in placed],
        [t.map_y for t in placed],
        s=sizes,
        alpha=0.55,
        color=ROLE_COLOURS[0],
        edgecolors="black",
    )
    for theme in placed:
        axes.annotate(
            f"{_short(theme.display_label)}\n({theme.size})",
            (theme.map_x, theme.map_y),
            ha="center",
            va="center",
            fontsize=11,
        )
    axes.set_title("Theme map: close themes are alike; bigger circles hold more")
    axes.set_xticks([])
    axes.set_yticks([])
    axes.margins(0.2)
    return _save(figure, fmt)


def role_bars(table: dict, *, fmt: str = "png") -> bytes:
    """Who is heard: for each theme, how many storytellers of each role speak to it.
    `table` is selectors.who_is_heard's result."""
    plt = _pyplot()
    rows, roles = table["rows"], table["roles"]
    if not rows or not roles:
        return _save(_empty(plt, "No themes to show yet."), fmt)
    figure, axes = plt.subplots(figsize=(9, 1.2 + 0.7 * len(rows)))
    labels = [_short(row["theme"].display_label, 36) for row in rows]
    left = [0] * len(rows)
    for index, (_, role_label) in enumerate(roles):
        values = [row["counts"][index] for row in rows]
        axes.barh(
            labels,
            values,
            left=left,
            label=role_label,
            color=ROLE_COLOURS[index % len(ROLE_COLOURS)],
        )
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.invert_yaxis()
    axes.set_xlabel("Different storytellers")
    axes.set_title("Who is heard in each theme")
    axes.legend(loc="lower right")
    axes.xaxis.get_major_locator().set_params(integer=True)
    return _save(figure, fmt)


def themes_over_time(data: dict, *, fmt: str = "png") -> bytes:
    """Segments per theme by the month the stories were recorded
    (`data` is selectors.themes_over_time's result)."""
    plt = _pyplot()
    months, series = data["months"], data["series"]
    if not months or not series:
        return _save(_empty(plt, "No dated stories to show yet."), fmt)
    figure, axes = plt.subplots(figsize=(9, 5))
    for index, line in enumerate(series):
        axes.plot(
            months,
            line["counts"],
            marker="o",
            label=_short(line["theme"].display_label),
            color=ROLE_COLOURS[index % len(ROLE_COLOURS)],
            linestyle=["-", "--", ":", "-."][index // len(ROLE_COLOURS) % 4],
        )
    axes.set_xlabel("Month recorded")
    axes.set_ylabel("Segments")
    axes.set_title("Themes over time")
    axes.legend(loc="upper left", fontsize=10)
    axes.yaxis.get_major_locator().set_params(integer=True)
    return _save(figure, fmt)
