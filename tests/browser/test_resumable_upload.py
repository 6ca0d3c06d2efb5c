"""A reporter on a phone with a poor signal: the connection drops in the middle of sending a
recording, comes back, and the upload carries on from where it stopped (tus, with
tus-js-client in the page and drf-tus on the server). Once the story is saved, the phone's
storage holds nothing of it."""

import re

import pytest

from stories.models import ResumableUpload, StoryKind, StoryPage
from tests import factories
from tests.browser.test_capture_phone import give_consent_and_details, log_in, no_horizontal_scroll

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PIECE = 64 * 1024
CUT_AT_PIECE = 5  # the connection drops while this piece is on its way

WHAT_THE_PHONE_KEEPS = """async () => {
  const keys = Object.keys(localStorage);
  const databases = indexedDB.databases ? (await indexedDB.databases()).map(d => d.name) : [];
  return {keys, databases};
}"""


@pytest.fixture
def writes(monkeypatch):
    """Each piece the server writes, as (offset, length): what really arrived."""
    seen = []
    original = ResumableUpload.write_data

    def write_data(self, data, chunk_size):
        seen.append((self.upload_offset, len(data)))
        return original(self, data, chunk_size)

    monkeypatch.setattr(ResumableUpload, "write_data", write_data)
    return seen


def test_an_upload_cut_off_mid_way_carries_on_where_it_stopped(
    phone, project, microphone_wav, writes, screenshot
):
    factories.user_with_role("reporter", project, username="rita")
    size = microphone_wav.stat().st_size
    assert size > 10 * PIECE  # several pieces
    log_in(phone, "rita")
    phone.goto(f"/capture/{project.slug}/")
    # Small pieces, so that the upload is cut off with some sent and some not.
    phone.locator("#capture-form").evaluate(
        f"form => form.setAttribute('data-upload-chunk-bytes', '{PIECE}')"
    )

    context = phone.context
    patches = []

    def drop_the_connection_mid_way(route):
        request = route.request
        if request.method == "PATCH":
            patches.append(int(request.headers["upload-offset"]))
            if len(patches) == CUT_AT_PIECE:
                context.set_offline(True)
                route.abort("internetdisconnected")
                return
        route.continue_()

    phone.route(re.compile(r"/uploads/"), drop_the_connection_mid_way)

    phone.get_by_label("Upload a sound or video file").check()
    phone.get_by_label("Sound or video file", exact=True).set_input_files(microphone_wav)
    give_consent_and_details(phone, title="Bad signal")
    phone.get_by_role("button", name="Send the story").click()

    status = phone.locator("[data-upload-status]")
    phone.get_by_text("Connection lost. We will carry on when you are back online.").wait_for()
    assert no_horizontal_scroll(phone)
    screenshot(phone, "connection-lost")
    arrived = sum(length for _, length in writes)
    assert arrived == (CUT_AT_PIECE - 1) * PIECE  # the pieces before the cut, no more
    assert 0 < int(phone.locator("[data-upload-progress]").evaluate("p => p.value")) < 100
    assert not StoryPage.objects.exists()

    context.set_offline(False)
    phone.wait_for_url(re.compile(r"/stories/\d+/status/$"), timeout=60_000)
    phone.get_by_text("Thank you").wait_for()
    assert "Connection lost" not in status.all_inner_texts()

    # Carried on from where it stopped: each byte written once, in order, from the offset
    # the server had when the connection dropped.
    offsets = [offset for offset, _ in writes]
    assert offsets == sorted(set(offsets))
    assert sum(length for _, length in writes) == size
    assert offsets[CUT_AT_PIECE - 1] == arrived
    resent = [offset for offset in patches[CUT_AT_PIECE:] if offset < arrived]
    assert resent == [], "pieces that had arrived were sent again"

    story = StoryPage.objects.get()
    assert story.title == "Bad signal" and story.kind == StoryKind.AUDIO
    assert story.media.get().size == size
    assert not ResumableUpload.objects.exists()  # used, and gone from the server too

    kept = phone.evaluate(WHAT_THE_PHONE_KEEPS)
    assert not [key for key in kept["keys"] if key.startswith("tus::")], kept
    assert kept["databases"] == [], kept
