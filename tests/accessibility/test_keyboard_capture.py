"""A reporter who uses only the keyboard sends a story with the capture form: every control
is reached in reading order with a visible focus, the file is chosen from a keyboard-opened
file chooser, and when something is missing the error summary takes the focus, is a
role="alert" region, and each field with a problem says so (aria-invalid) and is described
by its message."""

import re

import pytest
from django.conf import settings
from django.test import Client

from stories.models import StoryPage
from tests.accessibility.axe import axe_source, describe, focused_element, run_axe
from tests.conftest import AUDIO

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.one_database,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Where focus is: the element's id, name, type and place in the document.
FOCUSED = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    return {
        id: el.id, name: el.getAttribute("name") || "", type: el.type || "",
        tag: el.tagName.toLowerCase(), text: (el.textContent || "").trim().slice(0, 40),
        order: Array.from(document.querySelectorAll("*")).indexOf(el),
        inSummary: Boolean(el.closest(".error-summary")),
    };
}"""

# Every control a keyboard user must be able to reach on the page as it is shown (a group of
# radio buttons is one stop: the arrow keys move within it).
CONTROLS = """() => {
    const selector = "a[href], button, input, select, textarea, summary, [tabindex]";
    const stops = [];
    for (const el of document.querySelectorAll(selector)) {
        if (el.disabled || el.type === "hidden" || el.tabIndex < 0) continue;
        if (!el.getClientRects().length || getComputedStyle(el).visibility === "hidden") continue;
        if (el.closest("details:not([open])") && el.tagName !== "SUMMARY") continue;
        const stop = el.type === "radio" ? "radio:" + el.name : el.id || el.tagName + ":"
            + el.textContent.trim().slice(0, 40);
        if (!stops.includes(stop)) stops.push(stop);
    }
    return stops;
}"""


def stop_of(now: dict) -> str:
    """The same name for a stop as CONTROLS gives (links and buttons by their words)."""
    if now["type"] == "radio":
        return "radio:" + now["name"]
    return now["id"] or f"{now['tag'].upper()}:{now['text']}"


def focused(page) -> dict | None:
    return page.evaluate(FOCUSED)


def tab_to(page, selector: str, *, limit: int = 120) -> None:
    """Press Tab until the element matching `selector` has the focus."""
    for _ in range(limit):
        if page.evaluate("s => Boolean(document.activeElement?.matches(s))", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def choose_file_with_keyboard(page, path) -> None:
    """Open the focused file input's chooser with Space (or, if that did not open it in
    time on a busy machine, Enter) and pick the file."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for key in ("Space", "Enter"):
        try:
            with page.expect_file_chooser(timeout=8_000) as chooser:
                page.keyboard.press(key)
        except PlaywrightTimeout:
            continue
        chooser.value.set_files(str(path))
        return
    raise AssertionError("the file input did not open a file chooser from the keyboard")


def field_state(page, field_id: str) -> dict:
    return page.evaluate(
        """id => {
            const field = document.getElementById(id);
            const ids = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
            return {
                invalid: field.getAttribute("aria-invalid"),
                description: ids.map(i => document.getElementById(i)?.textContent.trim() || "")
                    .join(" | "),
            };
        }""",
        field_id,
    )


def test_a_keyboard_user_sends_a_story_and_hears_each_problem(
    browser, live_server, project, reporter
):
    client = Client()
    client.force_login(reporter)
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, base_url=live_server.url, locale="en-GB"
    )
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    source = axe_source()
    page.goto(f"/capture/{project.slug}/")

    # 1. Tab from the top to "Send the story": every control, in reading order, focus visible.
    expected = page.evaluate(CONTROLS)
    reached, orders, hard_to_see = [], [], []
    for _ in range(150):
        page.keyboard.press("Tab")
        now = focused(page)
        assert now is not None, f"focus left the page after {reached[-1:]}"
        key = stop_of(now)
        if reached and key == reached[-1]:
            continue  # inside one control: the parts of a date
        reached.append(key)
        orders.append(now["order"])
        problem = focused_element(page)["problem"]
        if problem:
            hard_to_see.append(problem)
        if now["tag"] == "button" and now["text"] == "Send the story":
            break
    else:
        raise AssertionError(f"Tab never reached the send button: {reached}")
    assert orders == sorted(orders), f"focus jumps about: {reached}"
    assert reached == expected, f"reached by Tab: {reached}\nshown: {expected}"
    assert not hard_to_see, hard_to_see
    assert "radio:story_type" in reached and "id_consent_record" in reached

    # 2. Send it empty: the problems are listed, announced, and take the focus.
    page.keyboard.press("Enter")
    summary = page.locator("[data-client-errors]")
    summary.wait_for()
    assert page.evaluate("() => document.activeElement.matches('[data-client-errors]')")
    assert summary.get_attribute("role") == "alert"
    problems = summary.get_by_role("link").all_inner_texts()
    assert "Please give the story a title." in problems
    assert any("must agree to the recording" in p for p in problems)
    assert any("how consent was given" in p for p in problems)
    title = field_state(page, "id_title")
    assert title["invalid"] == "true" and "Please give the story a title." in title["description"]
    violations = run_axe(page, source=source)
    assert not violations, describe("capture form, problems found in the browser", violations)

    # The first problem's link takes the focus to its field: the consent to record.
    page.keyboard.press("Tab")
    assert focused(page)["inSummary"]
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "id_consent_record"

    # 3. Fill the form with the keyboard alone.
    page.keyboard.press("Space")  # record
    for _scope in ("transcribe", "analyse", "quote", "voice"):
        page.keyboard.press("Tab")
        page.keyboard.press("Space")
    tab_to(page, "input[name=consent_method]")
    page.keyboard.press("Space")  # the first choice: written
    tab_to(page, "input[name=story_type]:checked")
    page.keyboard.press("ArrowDown")  # record it now -> upload a sound or video file
    assert page.locator("#section-upload").is_visible()
    tab_to(page, "#id_media_file")
    choose_file_with_keyboard(page, AUDIO / "jfk.flac")
    tab_to(page, "#id_title")
    page.keyboard.type("The waiting room")
    # No storyteller yet: only the server can say so.
    tab_to(page, "button[data-submit]")
    page.keyboard.press("Enter")

    # 4. The server's answer: the form again, its summary focused, the field described.
    server_summary = page.locator("[data-error-summary]")
    server_summary.wait_for()
    assert page.evaluate("() => document.activeElement.matches('[data-error-summary]')")
    assert server_summary.get_attribute("role") == "alert"
    message = "Please choose a storyteller, or type a made-up name for someone new."
    assert message in server_summary.inner_text()
    storyteller = field_state(page, "id_storyteller_new")
    assert storyteller["invalid"] == "true" and message in storyteller["description"]
    assert page.evaluate("() => document.getElementById('id_media_file').files.length") == 1
    assert page.locator("#id_title").get_attribute("aria-invalid") is None  # put right
    violations = run_axe(page, source=source)
    assert not violations, describe("capture form, the server's answer", violations)

    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "id_storyteller_new"
    page.keyboard.type("Sam")
    tab_to(page, "button[data-submit]")
    page.keyboard.press("Enter")

    # 5. Sent: the story's page, and the story with what the storyteller agreed to.
    page.wait_for_url(re.compile(r"/stories/\d+/status/$"))
    story = StoryPage.objects.get(title="The waiting room")
    consent = story.current_consent
    assert story.reporter == reporter and story.storyteller.pseudonym == "Sam"
    agreed = {
        s
        for s in ("record", "transcribe", "analyse", "quote", "voice", "publish")
        if getattr(consent, s)
    }
    assert agreed == {"record", "transcribe", "analyse", "quote", "voice"}
    assert consent.method == "written"
    context.close()
