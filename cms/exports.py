"""The `export` command's kinds. Each app registers its own exporter in its AppConfig.ready()
(stories, segments, themes, later actions), so that cms, upstream of everything, needs to
know none of them."""

from typing import Any, Protocol


class Exporter(Protocol):
    def as_json(self, *, project) -> Any:
        """What `--format json` writes (a list or a dict)."""

    def as_rows(self, *, project) -> tuple[list[str], list[dict]]:
        """What `--format csv` writes: the column names and one dict per row."""


_exporters: dict[str, Exporter] = {}


def register_exporter(kind: str, exporter: Exporter) -> None:
    _exporters[kind] = exporter


def exporter_for(kind: str) -> Exporter | None:
    return _exporters.get(kind)


def export_kinds() -> list[str]:
    return sorted(_exporters)


# A spreadsheet runs a cell that starts with one of these as a formula ("CSV injection"):
# a storyteller's words or a theme label must never become one.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """The cell as text a spreadsheet shows as written: a leading apostrophe before anything
    it would otherwise run as a formula. Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def csv_safe_row(row: dict) -> dict:
    return {key: csv_safe(value) for key, value in row.items()}
