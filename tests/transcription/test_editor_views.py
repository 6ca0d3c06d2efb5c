"""The transcript editor's pages, as the people who use them see them: the reporter corrects
and redacts with or without JavaScript, a refused save gives the words back, facilitators read
the redacted text only, and anyone else gets a 404."""

import pytest
from django.urls import reverse

from stories.models import StoryMedia
from stories.services import story_approve
from tests import factories
from tests.transcription.editor_helpers import JFK_SEGMENTS, make_transcript
from transcription import editor_views, redaction_services, review_services
from transcription.models import (
    JobStatus,
    Redaction,
    RedactionStatus,
    Segment,
    SegmentRevision,
    TranscriptionJob,
)

ORIGINAL = JFK_SEGMENTS[0]["text"]
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def story(project, reporter):
    # Most pages do not need the recording itself: a written story (no media to check) is
    # quicker, and its segments carry the real recording's timings all the same.
    return factories.story(project, reporter, text="Ask not what your country can do for you.")


@pytest.fixture
def recorded_story(project, reporter):
    return factories.story(project, reporter)


@pytest.fixture
def lines(story):
    return make_transcript(story)[1]


def editor_url(story, query=""):
    return reverse("transcription:editor", kwargs={"story_id": story.pk}) + query


def line_url(story, line):
    return reverse(
        "transcription:editor_segment", kwargs={"story_id": story.pk, "segment_id": line.pk}
    )


def redact_url(story):
    return reverse("transcription:editor_redact", kwargs={"story_id": story.pk})


def test_the_reporter_sees_the_lines_beside_the_recording(client, recorded_story, reporter):
    story = recorded_story
    make_transcript(story)
    client.force_login(reporter)
    page = client.get(editor_url(story))
    assert page.status_code == 200
    html = page.content.decode()
    recording = story.media.get(role=StoryMedia.Role.RECORDING)
    assert f'src="/private/media/{recording.pk}/"' in html
    assert ORIGINAL in html
    assert 'data-seek="8.060"' in html  # the second line's time, to click
    assert 'name="text"' in html and "Who is speaking?" in html
    assert "Review these first (1)" in html  # the low-confidence line


def test_review_these_first_shows_only_the_doubtful_lines_not_yet_checked(
    client, story, lines, reporter
):
    client.force_login(reporter)
    html = client.get(editor_url(story, "?show=flagged")).content.decode()
    assert f'id="line-{lines[1].pk}"' in html
    assert f'id="line-{lines[0].pk}"' not in html
    review_services.segment_verify(segment=lines[1], user=reporter)
    html = client.get(editor_url(story, "?show=flagged")).content.decode()
    assert f'id="line-{lines[1].pk}"' not in html
    assert "Every doubtful line has been checked" in html


def test_other_people_get_a_404_and_strangers_are_sent_to_log_in(
    client, story, lines, other_reporter, manager, facilitator, other_project
):
    outsider = factories.user_with_role("reporter", other_project, username="otto")
    for person in (other_reporter, manager, outsider, facilitator):  # not approved yet
        client.force_login(person)
        assert client.get(editor_url(story)).status_code == 404
        assert (
            client.post(line_url(story, lines[0]), {"action": "edit", "text": "x", "version": 1})
        ).status_code == 404
    client.logout()
    response = client.get(editor_url(story))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert Segment.objects.get(pk=lines[0].pk).text == ORIGINAL


def test_a_facilitator_reads_the_redacted_text_only(client, story, reporter, facilitator, steward):
    story_approve(story=story, user=steward)
    _, lines = make_transcript(story)
    start = ORIGINAL.index("Americans")
    redaction_services.redaction_add(
        segment=lines[0], start_char=start, end_char=start + 9, kind="name", user=reporter
    )
    review_services.segment_edit(
        segment=lines[1], text="ask what you can do", user=reporter, version=1
    )

    client.force_login(facilitator)
    page = client.get(editor_url(story))
    assert page.status_code == 200
    html = page.content.decode()
    assert "my fellow [name] ask not" in html
    assert "Americans" not in html
    assert 'name="text"' not in html and "/private/media/" not in html
    for action in ("edit", "verify", "speaker"):
        data = {"action": action, "text": "x", "version": 2, "speaker": "other"}
        assert client.post(line_url(story, lines[1]), data).status_code == 404
    history = reverse(
        "transcription:editor_history", kwargs={"story_id": story.pk, "segment_id": lines[1].pk}
    )
    assert client.get(history).status_code == 404
    assert client.post(redact_url(story), {"action": "suggest"}).status_code == 404
    status_page = client.get(reverse("stories:story_status", args=[story.pk])).content.decode()
    assert "my fellow [name] ask not" in status_page and "Americans" not in status_page
    assert "Open the transcript" in status_page

    client.force_login(reporter)  # the reporter sees the hidden words, highlighted
    html = client.get(editor_url(story)).content.decode()
    assert 'data-placeholder="[name]">Americans</mark>' in html


# --- Editing without JavaScript -----------------------------------------------------------------


def test_an_edit_without_javascript_saves_and_returns_to_the_line(client, story, lines, reporter):
    client.force_login(reporter)
    new = ORIGINAL.replace("Americans", "citizens")
    response = client.post(
        line_url(story, lines[0]),
        {"action": "edit", "text": new, "version": 1, "next": editor_url(story, "?show=flagged")},
    )
    assert response.status_code == 302
    assert response["Location"] == editor_url(story, f"?show=flagged#line-{lines[0].pk}")
    stored = Segment.objects.get(pk=lines[0].pk)
    assert stored.text == new and stored.version == 2
    html = client.get(editor_url(story)).content.decode()
    assert "Line 1 saved." in html and new in html
    assert "Changes to line 1" in html


def test_a_stale_save_without_javascript_shows_the_words_back(
    client, story, lines, reporter, steward
):
    review_services.segment_edit(
        segment=lines[0], text=ORIGINAL.replace("so,", "so"), user=steward, version=1
    )
    client.force_login(reporter)
    mine = ORIGINAL.replace("Americans", "citizens")
    response = client.post(
        line_url(story, lines[0]), {"action": "edit", "text": mine, "version": 1}
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "Someone else changed this line" in html
    assert f">{mine}</textarea>" in html  # the person's own words, kept
    assert "The line now reads: “And so my fellow Americans" in html
    assert 'name="version" value="2"' in html  # saving again is now their decision
    assert Segment.objects.get(pk=lines[0].pk).text == ORIGINAL.replace("so,", "so")


def test_a_save_during_a_new_transcription_is_refused_with_the_words_kept(
    client, story, lines, reporter
):
    TranscriptionJob.objects.create(story=story, model="base", status=JobStatus.QUEUED)
    client.force_login(reporter)
    page = client.get(editor_url(story)).content.decode()
    assert "being turned into text again" in page
    mine = "ask what you can do for your country, please."
    response = client.post(
        line_url(story, lines[1]), {"action": "edit", "text": mine, "version": 1}
    )
    assert response.status_code == 409
    assert f">{mine}</textarea>" in response.content.decode()
    json_response = client.post(
        line_url(story, lines[1]), {"action": "edit", "text": mine, "version": 1}, **JSON
    )
    assert json_response.status_code == 409
    assert "being turned into text again" in json_response.json()["message"]
    assert Segment.objects.get(pk=lines[1].pk).text == JFK_SEGMENTS[1]["text"]


# --- With JavaScript (the same forms, asking for JSON) -----------------------------------------


def test_an_edit_with_javascript_answers_with_the_new_line(client, story, lines, reporter):
    client.force_login(reporter)
    new = ORIGINAL.replace("Americans", "citizens")
    body = client.post(
        line_url(story, lines[0]), {"action": "edit", "text": new, "version": 1}, **JSON
    ).json()
    assert body["ok"] and body["version"] == 2 and body["message"] == "Line 1 saved."
    assert new in body["html"] and 'data-version="2"' in body["html"]

    stale = client.post(
        line_url(story, lines[0]), {"action": "edit", "text": "mine", "version": 1}, **JSON
    )
    assert stale.status_code == 409
    assert stale.json()["current_text"] == new and stale.json()["version"] == 2


def test_speaker_verify_and_the_whole_transcript(client, story, lines, reporter):
    client.force_login(reporter)
    body = client.post(
        line_url(story, lines[0]), {"action": "speaker", "speaker": "storyteller"}, **JSON
    ).json()
    assert body["ok"] and "Storyteller" in body["html"]
    body = client.post(line_url(story, lines[0]), {"action": "verify"}, **JSON).json()
    assert "Checked by rita" in body["html"]
    bad = client.post(line_url(story, lines[0]), {"action": "speaker", "speaker": "judge"}, **JSON)
    assert bad.status_code == 400 and "choose who is speaking" in bad.json()["message"]

    verify = reverse("transcription:editor_verify", kwargs={"story_id": story.pk})
    assert client.post(verify, {"action": "verify"}).status_code == 302
    html = client.get(editor_url(story)).content.decode()
    assert "Whole transcript checked</strong> by rita" in html


def test_the_history_page_shows_a_diff_and_goes_back(client, story, lines, reporter):
    review_services.segment_edit(
        segment=lines[0], text=ORIGINAL.replace("Americans", "citizens"), user=reporter, version=1
    )
    client.force_login(reporter)
    history = reverse(
        "transcription:editor_history", kwargs={"story_id": story.pk, "segment_id": lines[0].pk}
    )
    html = client.get(history).content.decode()
    assert "removed: </span>Americans</del>" in html
    assert "added: </span>citizens</ins>" in html
    revision = SegmentRevision.objects.get(segment=lines[0])
    response = client.post(
        line_url(story, lines[0]), {"action": "revert", "revision": revision.pk, "version": 2}
    )
    assert response.status_code == 302
    assert Segment.objects.get(pk=lines[0].pk).text == ORIGINAL


# --- Redaction from the editor ----------------------------------------------------------------


def test_hiding_selected_words_in_one_line_and_across_two(client, story, lines, reporter):
    client.force_login(reporter)
    start = ORIGINAL.index("Americans")
    body = client.post(
        redact_url(story),
        {
            "action": "add",
            "segment": lines[0].pk,
            "start_char": start,
            "end_char": start + 9,
            "kind": "name",
        },
        **JSON,
    ).json()
    assert body["ok"] and "[name]" in body["message"]
    assert Redaction.objects.get(original="Americans").status == RedactionStatus.ACCEPTED

    across = client.post(
        redact_url(story),
        {
            "action": "add",
            "segment": lines[0].pk,
            "start_char": ORIGINAL.index("for you"),
            "end_segment": lines[1].pk,
            "end_char_in_end_segment": 3,
            "kind": "other",
        },
        **JSON,
    )
    assert across.json()["ok"]
    parts = Redaction.objects.filter(kind="other").order_by("segment__index")
    assert [p.original for p in parts] == ["for you", "ask"]
    assert parts[0].group == parts[1].group is not None


def test_hiding_typed_words_without_javascript(client, story, lines, reporter):
    client.force_login(reporter)
    response = client.post(
        redact_url(story),
        {"action": "add", "segment": lines[1].pk, "words": "your country", "kind": "place"},
    )
    assert response.status_code == 302
    assert Redaction.objects.get(segment=lines[1]).original == "your country"
    missing = client.post(
        redact_url(story),
        {"action": "add", "segment": lines[1].pk, "words": "Birmingham", "kind": "place"},
        follow=True,
    )
    assert "We could not find “Birmingham” in line 2" in missing.content.decode()


def test_suggestions_are_listed_and_can_be_hidden_or_kept(client, story, lines, reporter):
    client.force_login(reporter)
    client.post(redact_url(story), {"action": "name", "term": "fellow", "kind": "name"})
    html = client.get(editor_url(story)).content.decode()
    suggestion = Redaction.objects.get(original="fellow", status=RedactionStatus.SUGGESTED)
    assert "Hide “fellow” in line 1" in html
    body = client.post(
        redact_url(story), {"action": "accept", "redaction": suggestion.pk}, **JSON
    ).json()
    assert body["ok"]
    suggestion.refresh_from_db()
    assert suggestion.status == RedactionStatus.ACCEPTED
    client.post(redact_url(story), {"action": "keep", "redaction": suggestion.pk})
    suggestion.refresh_from_db()
    assert suggestion.status == RedactionStatus.REJECTED


# --- Clips and links ----------------------------------------------------------------------------


def test_the_clip_form_is_hidden_while_clips_cannot_be_made(
    client, story, lines, reporter, monkeypatch
):
    client.force_login(reporter)
    monkeypatch.setattr(editor_views, "clip_create_url", lambda: None)
    html = client.get(editor_url(story)).content.decode()
    assert "Make a clip" not in html and "data-clip-pick" not in html
    monkeypatch.setattr(editor_views, "clip_create_url", lambda: "/clips/new/")
    html = client.get(editor_url(story)).content.decode()
    assert 'action="/clips/new/"' in html and f'name="story_id" value="{story.pk}"' in html
    assert f'<option value="{lines[1].pk}">2 (0:08)' in html


def test_the_story_pages_link_to_the_editor(client, story, lines, reporter, steward):
    client.force_login(reporter)
    status_page = client.get(reverse("stories:story_status", args=[story.pk])).content.decode()
    assert f'href="{editor_url(story)}"' in status_page
    assert "Check and correct the transcript" in status_page
    client.force_login(steward)
    admin_page = client.get(reverse("wagtailadmin_pages:edit", args=[story.pk])).content.decode()
    assert editor_url(story) in admin_page
