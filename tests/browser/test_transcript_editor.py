"""A reporter on a phone corrects a real recording's transcript in Chromium: plays it, clicks a
line to jump there, fixes a word, hides a name, and cuts a clip; a facilitator then sees the
name as a placeholder."""

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from stories.services import story_approve
from tests import factories
from tests.transcription.editor_helpers import JFK_SEGMENTS, make_transcript
from transcription.models import Clip, Redaction, RedactionStatus, Segment

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = {"width": 375, "height": 740}


def signed_in(browser, live_server, user):
    """A phone-sized browser page already logged in as the user (the login form itself is
    tested elsewhere)."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport=PHONE, base_url=live_server.url, locale="en-GB")
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
    return context, page


def current_time(page) -> float:
    return page.locator("[data-player]").evaluate("player => player.currentTime")


def select_words(page, line_id: int, words: str) -> None:
    """Select words in a line as a person would by dragging over them."""
    page.evaluate(
        """([lineId, words]) => {
            const text = document.querySelector(`#line-${lineId} [data-line-text]`);
            const node = Array.from(text.childNodes).find(n => n.textContent.includes(words));
            const at = node.textContent.indexOf(words);
            const range = document.createRange();
            range.setStart(node, at);
            range.setEnd(node, at + words.length);
            const selection = window.getSelection();
            selection.removeAllRanges();
            selection.addRange(range);
        }""",
        [line_id, words],
    )


def test_a_reporter_plays_fixes_redacts_and_clips_a_real_recording(
    browser, live_server, project, reporter, facilitator, steward, screenshot
):
    story = factories.story(project, reporter, title="Ask not")
    story_approve(story=story, user=steward)  # so the project's facilitator may read it
    _, (first, second) = make_transcript(story)
    editor = reverse("transcription:editor", kwargs={"story_id": story.pk})

    context, page = signed_in(browser, live_server, reporter)
    page.goto(editor)
    page.locator("[data-player]").evaluate(
        "player => player.readyState >= 1 || new Promise(ok => player.addEventListener("
        "'loadedmetadata', ok, {once: true}))"
    )
    assert 10 < page.locator("[data-player]").evaluate("player => player.duration") < 12
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "editor")

    # Play from the first line: the real recording plays, and its line is highlighted.
    page.get_by_role("button", name="Line 1: play from 0:00").click()
    page.wait_for_function(
        "document.querySelector('[data-player]').currentTime > 0.5", timeout=15_000
    )
    assert not page.locator("[data-player]").evaluate("player => player.paused")
    assert "line--playing" in page.locator(f"#line-{first.pk}").get_attribute("class")

    # Click the second line: the recording jumps there.
    page.get_by_role("button", name="Line 2: play from 0:08").click()
    assert current_time(page) >= 8.0
    page.wait_for_function(
        f"document.querySelector('#line-{second.pk}').classList.contains('line--playing')"
    )
    page.locator("[data-player]").evaluate("player => player.pause()")

    # Fix a word in the second line.
    line = page.locator(f"#line-{second.pk}")
    line.get_by_text("Change the words").click()
    line.get_by_label("The words of line 2").fill("ask what you can do for your community.")
    line.get_by_role("button", name="Save").click()
    page.locator("[data-editor-status]").filter(has_text="Line 2 saved.").wait_for()
    stored = Segment.objects.get(pk=second.pk)
    assert stored.text == "ask what you can do for your community." and stored.version == 2
    old_words = JFK_SEGMENTS[1]["words"]
    assert stored.words[:7] == old_words[:7]  # every unchanged word keeps its timing
    assert (stored.words[7]["start"], stored.words[7]["end"]) == (10.24, 10.5)
    assert "community." in page.locator(f"#line-{second.pk} [data-line-text]").inner_text()

    # Hide a name: select it, say what it is, hide it.
    select_words(page, first.pk, "Americans")
    bar = page.locator("[data-selection-form]")
    bar.wait_for(state="visible")
    assert "Americans" in bar.inner_text()
    bar.get_by_label("These words are").select_option("name")
    bar.get_by_role("button", name="Hide these words").click()
    page.locator("[data-editor-status]").filter(has_text="others will see [name]").wait_for()
    hidden = Redaction.objects.get(story=story, status=RedactionStatus.ACCEPTED)
    assert hidden.original == "Americans" and hidden.segment_id == first.pk
    assert page.locator(f"#line-{first.pk} mark.line__hidden").inner_text() == "Americans"
    screenshot(page, "redacted")

    # Cut a clip from both lines.
    page.locator(f"#line-{first.pk} [data-clip-pick]").check()
    page.locator(f"#line-{second.pk} [data-clip-pick]").check()
    assert page.locator("[data-clip-last]").input_value() == str(second.pk)
    page.get_by_label("Name of the clip (optional)").fill("Ask not")
    page.get_by_role("button", name="Make a clip").click()
    page.wait_for_url(re.compile(r"/clips/\d+/$"))
    clip = Clip.objects.get(story=story)
    assert clip.title == "Ask not" and (clip.start, clip.end) == (0.0, 10.5)
    assert "[name]" in clip.text and "Americans" not in clip.text
    context.close()

    # Anyone else sees a placeholder where the name was.
    context, page = signed_in(browser, live_server, facilitator)
    page.goto(editor)
    text = page.locator(f"#line-{first.pk} .line__text").inner_text()
    assert "my fellow [name] ask not" in text
    assert "Americans" not in page.content()
    screenshot(page, "facilitator")
    context.close()
