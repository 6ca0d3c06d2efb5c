"""The copy of tus-js-client that the capture page loads (static/stories/vendor/) is the
version package.json pins, byte for byte: served from here, never fetched at run time."""

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENDOR = REPO / "static" / "stories" / "vendor"
FILES = ["tus.min.js", "tus.min.js.map"]

pytestmark = pytest.mark.no_database


def test_the_vendored_tus_client_is_the_pinned_version_unchanged():
    pinned = json.loads((REPO / "package.json").read_text())["devDependencies"]["tus-js-client"]
    installed = REPO / "node_modules" / "tus-js-client"
    assert installed.is_dir(), "run `make node-tools` (npm ci) to install the pinned tools"
    assert json.loads((installed / "package.json").read_text())["version"] == pinned
    for name in FILES:
        assert (VENDOR / name).read_bytes() == (installed / "dist" / name).read_bytes(), (
            f"static/stories/vendor/{name} differs from tus-js-client {pinned}: copy it again "
            "from node_modules/tus-js-client/dist/"
        )
    assert f"tus-js-client {pinned}" in (VENDOR / "LICENSES.txt").read_text()
