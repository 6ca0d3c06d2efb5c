"""A reporter on a phone: log in, record with the microphone or upload a file, send."""

import re
import time

import pytest
from wagtail.models import WorkflowState

from stories.models import StoryKind, StoryPage
from tests import factories

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    # The live server needs real transactions; keep the migrations' home page, groups and
    # workflow for the tests that run after these.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Keeps the highest value the upload progress bar reached, across the page change that
# follows a successful upload.
TRACK_PROGRESS = """
new MutationObserver(() => {
  const bar = document.querySelector('[data-upload-progress]');
  if (!bar) return;
  const best = Number(sessionStorage.getItem('maxProgress') || 0);
  sessionStorage.setItem('maxProgress', String(Math.max(best, Number(bar.value))));
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['value']});
"""


def no_horizontal_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth") <= 375


def log_in(page, username):
    page.goto("/")
    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name=re.compile("Sign in|Log in")).click()
    page.wait_for_url(re.compile(r"/$"))


def give_consent_and_details(page, *, title):
    page.get_by_label("Record my story").check()
    page.get_by_label("Turn the recording into text").check()
    page.get_by_label("Written (signed form)").check()
    page.get_by_label("Title of the story").fill(title)
    page.get_by_label("A made-up name for the storyteller").fill("Sam")


def test_a_reporter_records_a_story_on_a_phone(phone, project, screenshot):
    factories.user_with_role("reporter", project, username="rita")
    phone.add_init_script(TRACK_PROGRESS)

    log_in(phone, "rita")
    phone.get_by_role("link", name=re.compile("Record a story")).first.click()
    phone.wait_for_url(re.compile(rf"/capture/{project.slug}/$"))
    assert no_horizontal_scroll(phone)
    screenshot(phone, "form")

    phone.get_by_role("button", name="Start recording").click()
    levels = []
    started = time.monotonic()
    while time.monotonic() - started < 4:
        levels.append(phone.locator("[data-recorder-meter]").evaluate("m => m.value"))
        phone.wait_for_timeout(200)
    assert max(levels) > 0, "the level meter never moved"
    assert phone.locator("[data-recorder-time]").inner_text() in ("0:03", "0:04", "0:05")
    phone.get_by_role("button", name="Stop").click()
    phone.get_by_role("button", name="Record again").wait_for()
    assert phone.locator("[data-recorder-playback]").is_visible()
    screenshot(phone, "recorded")

    give_consent_and_details(phone, title="The waiting room")
    phone.get_by_role("button", name="Send the story").click()

    phone.wait_for_url(re.compile(r"/stories/\d+/status/$"))
    assert phone.evaluate("sessionStorage.getItem('maxProgress')") == "100"
    phone.get_by_text("Thank you").wait_for()
    assert phone.get_by_text("Waiting for the data steward").is_visible()
    assert no_horizontal_scroll(phone)
    screenshot(phone, "sent")

    story = StoryPage.objects.get()
    assert story.title == "The waiting room" and story.kind == StoryKind.AUDIO
    state = WorkflowState.objects.get(object_id=str(story.pk))
    assert state.status == WorkflowState.STATUS_IN_PROGRESS
    media = story.media.get()
    assert media.content_type == "audio/webm" and media.container == "matroska,webm"
    assert 3.0 <= media.duration_seconds <= 7.0  # about the four seconds recorded
    assert story.current_consent.scopes == {"record", "transcribe"}


def test_a_reporter_uploads_a_video_from_the_phone(
    phone, project, fixtures_dir, tmp_path, screenshot
):
    factories.user_with_role("reporter", project, username="rita")
    log_in(phone, "rita")
    phone.goto(f"/capture/{project.slug}/")

    phone.get_by_label("Upload a sound or video file").check()
    assert phone.locator("[data-story-section=record]").is_hidden()
    file_input = phone.get_by_label("Sound or video file", exact=True)
    fake = tmp_path / "story.mp4"
    fake.write_bytes(b"%PDF-1.7\n" + b"not a recording " * 200)
    file_input.set_input_files(fake)

    # Sending without consent or a title: the problems are announced and get the focus,
    # before anything is uploaded.
    phone.get_by_role("button", name="Send the story").click()
    summary = phone.locator("[data-client-errors]")
    summary.wait_for()
    assert summary.get_attribute("role") == "alert"
    assert phone.evaluate("document.activeElement.hasAttribute('data-client-errors')")
    assert "must agree to the recording" in summary.inner_text()
    assert "Please give the story a title." in summary.inner_text()
    screenshot(phone, "problems")

    # The server looks inside the file: the form comes back with its answers kept.
    give_consent_and_details(phone, title="On camera")
    phone.get_by_role("button", name="Send the story").click()
    server_summary = phone.locator("[data-error-summary]")
    server_summary.wait_for()
    assert "not a sound or video recording" in server_summary.inner_text()
    assert phone.evaluate("document.activeElement.hasAttribute('data-error-summary')")
    assert phone.get_by_label("Title of the story").input_value() == "On camera"
    assert phone.get_by_label("Record my story").is_checked()
    assert not StoryPage.objects.exists()

    phone.get_by_label("Sound or video file", exact=True).set_input_files(
        fixtures_dir / "audio" / "formats" / "jfk_video.mp4"
    )
    phone.get_by_role("button", name="Send the story").click()
    phone.wait_for_url(re.compile(r"/stories/\d+/status/$"))
    assert phone.locator("video").count() == 1
    assert no_horizontal_scroll(phone)
    screenshot(phone, "sent")

    story = StoryPage.objects.get()
    assert story.kind == StoryKind.VIDEO and story.title == "On camera"
    assert story.media.get().content_type == "video/mp4"
