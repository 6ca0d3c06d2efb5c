"""The checks themselves: on a page made to fail, axe-core as run here reports what it should,
and the focus check a focus ring that cannot be seen."""

import pytest

from tests.accessibility.axe import axe_source, focus_problems, run_axe

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.no_database]


def test_the_checks_find_what_they_look_for(browser):
    page = browser.new_page()
    try:
        page.set_content(
            """<!doctype html><html lang="en"><head><title>Bad</title><style>
            a:focus { outline: none; }
            </style></head><body><main>
            <h1>A page</h1>
            <p style="color:#aaa;background:#fff">Pale words nobody can read well.</p>
            <input type="text">
            <p><a href="#one" style="font-size:10px;line-height:10px">1</a><a href="#two"
            style="font-size:10px;line-height:10px">2</a></p>
            </main></body></html>"""
        )
        found = {v["id"] for v in run_axe(page, source=axe_source())}
        assert {"label", "color-contrast", "target-size"} <= found
        assert any('"1"' in problem for problem in focus_problems(page))
    finally:
        page.close()
