"""axe-core (the npm package, pinned in package.json and installed by `make test`) injected
into a Playwright page: the WCAG 2.0/2.1/2.2 A and AA rules, serious and critical only."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
AXE_JS = REPO / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SERIOUS = {"serious", "critical"}


def axe_source() -> str:
    if not AXE_JS.exists():
        raise RuntimeError(
            f"axe-core is missing ({AXE_JS}). Install it with `npm ci` in {REPO} "
            "(`make test` does this), with Node.js and npm from Debian."
        )
    return AXE_JS.read_text(encoding="utf-8")


def run_axe(page, *, include: str | None = None, source: str) -> list[dict]:
    """The serious and critical violations on the page (or inside `include`, a CSS
    selector), each as {"id", "impact", "help", "nodes": [{"target", "summary"}]}."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(content=source)
    results = page.evaluate(
        """async ([include, tags]) => {
            const context = include ? { include: [include] } : document;
            const found = await axe.run(context, {
                runOnly: { type: "tag", values: tags },
                resultTypes: ["violations"],
                preload: false,
            });
            return found.violations.map(v => ({
                id: v.id,
                impact: v.impact,
                help: v.help,
                nodes: v.nodes.map(n => ({
                    target: n.target.join(" "),
                    impact: n.impact,
                    summary: n.failureSummary,
                    html: n.html.slice(0, 300),
                })),
            }));
        }""",
        [include, TAGS],
    )
    return [v for v in results if v["impact"] in SERIOUS]


def describe(url: str, violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{url}: {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {node['target']}: {node['html']}")
            summary = (node["summary"] or "").replace("\n", " ")
            lines.append(f"      {summary[:400]}")
    return "\n".join(lines)


# What the focused element shows: an outline of 2 px or more whose colour stands out 3:1
# from what is behind it (WCAG 2.2, 1.4.11 and 2.4.7), or a focus shadow.
_FOCUS_JS = """() => {
    const el = document.activeElement;
    if (!el || el === document.body || el === document.documentElement) return null;
    const rgb = (value) => (value.match(/[\\d.]+/g) || []).map(Number);
    const luminance = ([r, g, b]) => {
        const c = [r, g, b].map((v) => {
            v /= 255;
            return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
        });
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    };
    let behind = [255, 255, 255];
    for (let node = el.parentElement; node; node = node.parentElement) {
        const colour = rgb(getComputedStyle(node).backgroundColor);
        if (colour.length >= 3 && (colour.length < 4 || colour[3] > 0.5)) {
            behind = colour.slice(0, 3);
            break;
        }
    }
    const style = getComputedStyle(el);
    const outline = rgb(style.outlineColor).slice(0, 3);
    const a = luminance(outline), b = luminance(behind);
    const contrast = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const hasOutline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
    const hasShadow = style.boxShadow && style.boxShadow !== "none";
    const label = (el.getAttribute("aria-label") || el.textContent || el.name || el.id || "")
        .trim().replace(/\\s+/g, " ").slice(0, 60);
    const key = el.tagName + "#" + el.id + ":" + el.name + ":" + label
        + ":" + Array.from(document.querySelectorAll(el.tagName)).indexOf(el);
    const visible = hasShadow || (hasOutline && contrast >= 3);
    return {
        key: key,
        problem: visible ? "" : `<${el.tagName.toLowerCase()}> "${label}": outline `
            + `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}, `
            + `contrast ${contrast.toFixed(2)}:1`,
    };
}"""


def focused_element(page) -> dict | None:
    """The focused element: {"key", "problem"} ("" when its focus indicator is visible)."""
    return page.evaluate(_FOCUS_JS)


def focus_problems(page, *, presses: int = 30) -> list[str]:
    """Tab through the page from the top (at most `presses` times, or until focus comes
    round again) and list each focused element whose focus indicator is hard to see."""
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); }")
    seen, problems, previous = set(), [], None
    for _ in range(presses):
        page.keyboard.press("Tab")
        info = focused_element(page)
        if info is None:
            break
        if info["key"] == previous:  # inside one control (a date's parts, a player's buttons)
            continue
        if info["key"] in seen:
            break
        seen.add(info["key"])
        previous = info["key"]
        if info["problem"]:
            problems.append(info["problem"])
    return problems
